//! [`LimitOptions`]: lease and polling settings of a global limit.

use std::time::Duration;

/// The lease of a permit and the polling fallback of a waiter.
///
/// ```
/// use std::time::Duration;
/// let options = inflight_redis::LimitOptions::default()
///     .lease(Duration::from_secs(10))
///     .poll(Duration::from_millis(500));
/// assert_eq!(options.lease_time(), Duration::from_secs(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitOptions {
    lease: Duration,
    poll: Duration,
}

impl Default for LimitOptions {
    fn default() -> LimitOptions {
        LimitOptions {
            lease: Duration::from_secs(30),
            poll: Duration::from_secs(1),
        }
    }
}

impl LimitOptions {
    /// How long a permit lives without renewal (default 30 s). The holder renews it every
    /// third of that, so a dead holder's permits come back within one lease.
    ///
    /// # Panics
    ///
    /// If `lease` is under 100 ms.
    ///
    /// ```
    /// let o = inflight_redis::LimitOptions::default().lease(std::time::Duration::from_secs(5));
    /// ```
    #[track_caller]
    pub fn lease(mut self, lease: Duration) -> LimitOptions {
        assert!(
            lease >= Duration::from_millis(100),
            "LimitOptions::lease: at least 100 ms, got {lease:?}"
        );
        self.lease = lease;
        self
    }

    /// How often a waiter asks again when no wake-up came (default 1 s). Wake-ups come by
    /// BLPOP when a place frees; this is the fallback for a holder that died without
    /// releasing and for a limit raised without a wake-up.
    ///
    /// # Panics
    ///
    /// If `poll` is under 10 ms.
    ///
    /// ```
    /// let o = inflight_redis::LimitOptions::default().poll(std::time::Duration::from_millis(200));
    /// ```
    #[track_caller]
    pub fn poll(mut self, poll: Duration) -> LimitOptions {
        assert!(
            poll >= Duration::from_millis(10),
            "LimitOptions::poll: at least 10 ms, got {poll:?}"
        );
        self.poll = poll;
        self
    }

    /// The lease.
    ///
    /// ```
    /// assert_eq!(inflight_redis::LimitOptions::default().lease_time().as_secs(), 30);
    /// ```
    pub fn lease_time(&self) -> Duration {
        self.lease
    }

    /// The polling fallback.
    ///
    /// ```
    /// assert_eq!(inflight_redis::LimitOptions::default().poll_time().as_secs(), 1);
    /// ```
    pub fn poll_time(&self) -> Duration {
        self.poll
    }

    /// How long a waiter that stopped asking keeps its place in the queue.
    pub(crate) fn alive(&self) -> Duration {
        self.poll * 3 + Duration::from_secs(1)
    }

    /// How long the state of a key outlives its last use.
    pub(crate) fn idle(&self) -> Duration {
        self.lease * 2 + self.alive()
    }

    /// How often the holder renews its leases.
    pub(crate) fn renew_every(&self) -> Duration {
        self.lease / 3
    }
}
