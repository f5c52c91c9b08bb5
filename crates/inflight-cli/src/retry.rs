//! `--retries`: exponential backoff with jitter between attempts, and `Retry-After` parsing.
use std::time::{Duration, SystemTime};

/// First backoff; doubled after each failed attempt.
const BASE: Duration = Duration::from_millis(100);
/// Longest backoff between two attempts.
const MAX: Duration = Duration::from_secs(10);
/// Longest `Retry-After` we honour; a server asking for more is waited on for this long only,
/// so one host cannot park a job for an hour.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// The pause before attempt `attempt + 1`, after `attempt` failed ones (1-based): `BASE *
/// 2^(attempt-1)`, capped at `MAX`, with "equal jitter" (a random point in its upper half) so
/// that jobs which failed together do not retry in lockstep.
pub fn backoff(attempt: u32) -> Duration {
    let exp = BASE
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(MAX);
    let half = exp / 2;
    half + half.mul_f64(fastrand::f64())
}

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
    fn backoff_grows_and_is_capped() {
        for _ in 0..100 {
            let b1 = backoff(1);
            assert!(
                b1 >= Duration::from_millis(50) && b1 <= Duration::from_millis(100),
                "{b1:?}"
            );
            let b3 = backoff(3);
            assert!(
                b3 >= Duration::from_millis(200) && b3 <= Duration::from_millis(400),
                "{b3:?}"
            );
            assert!(backoff(40) <= MAX);
            assert!(backoff(40) >= MAX / 2);
        }
    }

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
