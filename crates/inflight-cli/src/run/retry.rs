//! `--retries`: which failures the jobs retry and how long a server asks them to wait. The
//! attempts, the backoff (100 ms doubling to 10 s, with jitter) and the pacing of retries are
//! the library's ([`inflight::Retry`]); this module only judges failures, through
//! [`inflight::RetryIf`].
use std::time::{Duration, SystemTime};

use inflight::{Failure, RetryIf};
use tokio_util::sync::CancellationToken;

/// A job's own error, judged for a retry.
pub trait Retryable {
    /// Whether another attempt may help (a 503 may; a 404 or a missing command will not).
    fn retryable(&self) -> bool;
    /// How long the server asked us to wait (HTTP `Retry-After`), if it did.
    fn retry_after(&self) -> Option<Duration> {
        None
    }
    /// Whether the other side refused because it has too much to do (HTTP 429 or 503, a
    /// refused or reset connection): what `-j auto` backs off from.
    fn overloaded(&self) -> bool {
        false
    }
}

/// The CLI's retry policy: a job's error says whether it is worth another attempt and may
/// replace the backoff with its `Retry-After`; timeouts are retried, panics are not; and a
/// stopping run (Ctrl-C, `--halt`, a fatal error) makes no new attempts.
#[derive(Clone)]
pub struct JobRetry {
    pub stop: CancellationToken,
}

impl<E: Retryable> RetryIf<E> for JobRetry {
    fn should_retry(&self, failure: &Failure<E>) -> bool {
        !self.stop.is_cancelled()
            && match failure {
                Failure::Error(e) => e.retryable(),
                Failure::TimedOut(_) => true,
                // Panics, and a shared limit that cannot be had.
                _ => false,
            }
    }

    fn retry_delay(&self, failure: &Failure<E>, _attempt: u32) -> Option<Duration> {
        failure.error()?.retry_after()
    }
}

/// Longest `Retry-After` we honour; a server asking for more is waited on for this long only,
/// so one host cannot park a job for an hour.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Parses a `Retry-After` value: delay-seconds or an HTTP date. The result is capped at
/// `MAX_RETRY_AFTER`; `None` if the value is malformed.
pub fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let wait = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(wait.min(MAX_RETRY_AFTER))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(retry_after("99999", now), Some(MAX_RETRY_AFTER));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(5));
        assert_eq!(retry_after(&date, now), Some(Duration::from_secs(5)));
        let past = httpdate::fmt_http_date(now - Duration::from_secs(5));
        assert_eq!(retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(retry_after("soon", now), None);
    }
}
