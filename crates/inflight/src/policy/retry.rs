//! [`Retry`]: how many attempts, how long between them, and which failures are worth another.

use std::any::Any;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::Arc;
use std::time::Duration;

use super::outcome::Failure;

/// Retries with exponential backoff: attempt `n + 1` waits `min(max_delay, base * 2^(n-1))`
/// after attempt `n` fails, less a random part of up to half of it when jitter is on (the
/// default), so that many tasks failing together do not retry in lockstep.
///
/// A task waiting to retry **keeps its slot**: the limit counts inputs being worked on, retries
/// included, so pulled minus handed back stays within the limit. Which failures are retried is
/// set with [`Inflight::retry_if`](crate::Inflight::retry_if) (default: all of them, timeouts
/// included).
///
/// ```
/// use std::time::Duration;
/// let retry = inflight::Retry::attempts(4).backoff(Duration::from_millis(100), Duration::from_secs(1)).no_jitter();
/// assert_eq!(retry.delay_after(1), Duration::from_millis(100));
/// assert_eq!(retry.delay_after(3), Duration::from_millis(400));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    attempts: u32,
    base: Duration,
    max_delay: Duration,
    jitter: bool,
}

impl Retry {
    /// At most `attempts` attempts in all (1 means no retry); backoff from 100 ms up to 10 s.
    ///
    /// # Panics
    ///
    /// If `attempts` is 0.
    ///
    /// ```
    /// assert_eq!(inflight::Retry::attempts(3).max_attempts(), 3);
    /// ```
    #[track_caller]
    pub fn attempts(attempts: u32) -> Retry {
        assert!(
            attempts > 0,
            "Retry::attempts: attempts must be at least 1, got 0"
        );
        Retry {
            attempts,
            base: Duration::from_millis(100),
            max_delay: Duration::from_secs(10),
            jitter: true,
        }
    }

    /// Sets the first delay and the cap on delays.
    ///
    /// ```
    /// use std::time::Duration;
    /// let retry = inflight::Retry::attempts(9).backoff(Duration::from_secs(1), Duration::from_secs(2)).no_jitter();
    /// assert_eq!(retry.delay_after(5), Duration::from_secs(2));
    /// ```
    pub fn backoff(mut self, base: Duration, max_delay: Duration) -> Retry {
        self.base = base;
        self.max_delay = max_delay.max(base);
        self
    }

    /// Turns jitter off, for exact, reproducible delays.
    ///
    /// ```
    /// let retry = inflight::Retry::attempts(2).no_jitter();
    /// assert_eq!(retry.delay_after(1), retry.delay_after(1));
    /// ```
    pub fn no_jitter(mut self) -> Retry {
        self.jitter = false;
        self
    }

    /// The most attempts, the first included.
    ///
    /// ```
    /// assert_eq!(inflight::Retry::attempts(5).max_attempts(), 5);
    /// ```
    pub fn max_attempts(&self) -> u32 {
        self.attempts
    }

    /// The delay before attempt `failed + 1`, after attempt `failed` (from 1) failed.
    ///
    /// ```
    /// use std::time::Duration;
    /// let retry = inflight::Retry::attempts(3).backoff(Duration::from_millis(10), Duration::from_secs(1));
    /// let delay = retry.delay_after(2); // 20 ms less up to half of it
    /// assert!(delay >= Duration::from_millis(10) && delay <= Duration::from_millis(20));
    /// ```
    pub fn delay_after(&self, failed: u32) -> Duration {
        let doubling = 2u32.saturating_pow(failed.saturating_sub(1));
        let full = self.base.saturating_mul(doubling).min(self.max_delay);
        if !self.jitter {
            return full;
        }
        full - full.mul_f64(random_fraction() / 2.0)
    }
}

/// A number in [0, 1) that differs from call to call. Jitter only needs to spread retries, not
/// resist prediction, so std's randomly seeded hasher serves and no `rand` dependency is needed.
fn random_fraction() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(0x9e37_79b9_7f4a_7c15);
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// Decides which failures are retried, and may say how long to wait before the next attempt.
///
/// Implement it on your own type and pass it to
/// [`Inflight::retry_policy`](crate::Inflight::retry_policy) when the failure itself knows when
/// to try again, as an HTTP `Retry-After` header does:
///
/// ```
/// use std::time::Duration;
/// use inflight::{Failure, Inflight, Retry, RetryIf};
///
/// /// An HTTP status and the server's `Retry-After`, if it sent one.
/// struct HttpError { status: u16, retry_after: Option<Duration> }
///
/// struct Polite;
///
/// impl RetryIf<HttpError> for Polite {
///     fn should_retry(&self, failure: &Failure<HttpError>) -> bool {
///         failure.error().map_or(true, |e| e.status == 429 || e.status >= 500)
///     }
///     fn retry_delay(&self, failure: &Failure<HttpError>, _attempt: u32) -> Option<Duration> {
///         failure.error()?.retry_after
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let start = tokio::time::Instant::now();
/// let outcomes = Inflight::new(1)
///     .retry(Retry::attempts(2))
///     .retry_policy(Polite)
///     .gather([()], |_| async {
///         Err::<(), _>(HttpError { status: 503, retry_after: Some(Duration::from_secs(3)) })
///     })
///     .await;
/// assert_eq!(outcomes[0].attempts, 2);
/// assert_eq!(start.elapsed(), Duration::from_secs(3)); // the server's delay, not the backoff
/// # }
/// ```
pub trait RetryIf<E> {
    /// Whether `failure` is worth another attempt.
    fn should_retry(&self, failure: &Failure<E>) -> bool;

    /// The pause before the next attempt after attempt `attempt` (from 1) failed with
    /// `failure`, when the failure says; `Some` replaces the [`Retry`] backoff for this pause
    /// (the pause is taken as given: the backoff's cap does not apply). The default is `None`:
    /// always the backoff.
    fn retry_delay(&self, failure: &Failure<E>, attempt: u32) -> Option<Duration> {
        let _ = (failure, attempt);
        None
    }
}

/// Retries every failure: the default.
struct AnyFailure;

impl<E> RetryIf<E> for AnyFailure {
    fn should_retry(&self, _failure: &Failure<E>) -> bool {
        true
    }
}

/// Retries the failures a function accepts: what [`Inflight::retry_if`](crate::Inflight::retry_if)
/// stores.
pub(crate) struct RetryWhen<F>(pub(crate) F);

impl<E, F: Fn(&Failure<E>) -> bool> RetryIf<E> for RetryWhen<F> {
    fn should_retry(&self, failure: &Failure<E>) -> bool {
        (self.0)(failure)
    }
}

/// A retry policy with its error type erased, so the builder that holds it has one type; a run
/// takes it back out for its own error type.
#[derive(Clone)]
pub(crate) struct ErasedRetryIf {
    /// An `Arc<dyn RetryIf<E> + Send + Sync>` for the `E` named below.
    policy: Arc<dyn Any + Send + Sync>,
    error_type: &'static str,
}

impl ErasedRetryIf {
    pub(crate) fn new<E: 'static>(policy: impl RetryIf<E> + Send + Sync + 'static) -> Self {
        let typed: Arc<dyn RetryIf<E> + Send + Sync> = Arc::new(policy);
        ErasedRetryIf {
            policy: Arc::new(typed),
            error_type: std::any::type_name::<E>(),
        }
    }

    /// The policy for a run whose task fails with `E`: the one stored, or "retry everything"
    /// when none is.
    ///
    /// # Panics
    ///
    /// If the stored policy was written for another error type.
    #[track_caller]
    pub(crate) fn for_errors<E: 'static>(
        stored: Option<&ErasedRetryIf>,
    ) -> Arc<dyn RetryIf<E> + Send + Sync> {
        let Some(stored) = stored else {
            return Arc::new(AnyFailure);
        };
        match stored
            .policy
            .downcast_ref::<Arc<dyn RetryIf<E> + Send + Sync>>()
        {
            Some(policy) => policy.clone(),
            None => panic!(
                "Inflight::retry_if: the builder's retry policy takes failures of `{}`, but this \
                 run's task fails with `{}`",
                stored.error_type,
                std::any::type_name::<E>()
            ),
        }
    }
}

impl fmt::Debug for ErasedRetryIf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RetryIf<{}>", self.error_type)
    }
}
