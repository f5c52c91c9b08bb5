//! [`QueueOptions`]: leases, bounds and batching of a queue.

use std::time::Duration;

/// A queue's settings. Every process of one queue should use the same lease and
/// max_deliveries; max_pending matters to the pushers, the rest to each process alone.
///
/// ```
/// use std::time::Duration;
/// let options = inflight_redis::QueueOptions::default()
///     .lease(Duration::from_secs(120))
///     .max_deliveries(5)
///     .max_pending(10_000);
/// assert_eq!(options.max_pending_inputs(), 10_000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueOptions {
    pub(crate) lease: Duration,
    pub(crate) max_deliveries: u32,
    pub(crate) max_pending: u64,
    pub(crate) poll: Duration,
    pub(crate) read_batch: usize,
    pub(crate) push_batch: usize,
}

impl Default for QueueOptions {
    fn default() -> QueueOptions {
        QueueOptions {
            lease: Duration::from_secs(60),
            max_deliveries: 3,
            max_pending: 100_000,
            poll: Duration::from_secs(1),
            read_batch: 1,
            push_batch: 100,
        }
    }
}

impl QueueOptions {
    /// How long an input may sit in a worker's hands without a renewal before other workers
    /// claim it (default 60 s). Workers renew the inputs they run every third of it.
    ///
    /// # Panics
    ///
    /// If under 100 ms.
    ///
    /// ```
    /// let o = inflight_redis::QueueOptions::default().lease(std::time::Duration::from_secs(30));
    /// ```
    #[track_caller]
    pub fn lease(mut self, lease: Duration) -> QueueOptions {
        assert!(
            lease >= Duration::from_millis(100),
            "QueueOptions::lease: at least 100 ms, got {lease:?}"
        );
        self.lease = lease;
        self
    }

    /// After how many deliveries without a result an input goes to the dead letters
    /// (default 3).
    ///
    /// # Panics
    ///
    /// If 0.
    ///
    /// ```
    /// let o = inflight_redis::QueueOptions::default().max_deliveries(5);
    /// ```
    #[track_caller]
    pub fn max_deliveries(mut self, n: u32) -> QueueOptions {
        assert!(n > 0, "QueueOptions::max_deliveries: at least 1, got 0");
        self.max_deliveries = n;
        self
    }

    /// How many untaken inputs the queue may hold; push waits beyond (default 100 000).
    ///
    /// # Panics
    ///
    /// If 0.
    ///
    /// ```
    /// let o = inflight_redis::QueueOptions::default().max_pending(1_000);
    /// ```
    #[track_caller]
    pub fn max_pending(mut self, n: u64) -> QueueOptions {
        assert!(n > 0, "QueueOptions::max_pending: at least 1, got 0");
        self.max_pending = n;
        self
    }

    /// How long a worker blocks waiting for new inputs before it looks for claimable ones
    /// (and how often a results follower and a full push look again), default 1 s.
    ///
    /// # Panics
    ///
    /// If under 10 ms.
    ///
    /// ```
    /// let o = inflight_redis::QueueOptions::default().poll(std::time::Duration::from_millis(250));
    /// ```
    #[track_caller]
    pub fn poll(mut self, poll: Duration) -> QueueOptions {
        assert!(
            poll >= Duration::from_millis(10),
            "QueueOptions::poll: at least 10 ms, got {poll:?}"
        );
        self.poll = poll;
        self
    }

    /// How many inputs a worker takes per read (default 1: an input is taken only when a
    /// slot is free for it). More saves round trips, but the extra inputs wait in this
    /// worker's hands, under its lease, instead of going to an idle worker.
    ///
    /// # Panics
    ///
    /// If 0.
    ///
    /// ```
    /// let o = inflight_redis::QueueOptions::default().read_batch(16);
    /// ```
    #[track_caller]
    pub fn read_batch(mut self, n: usize) -> QueueOptions {
        assert!(n > 0, "QueueOptions::read_batch: at least 1, got 0");
        self.read_batch = n;
        self
    }

    /// How many inputs push sends per script call (default 100).
    ///
    /// # Panics
    ///
    /// If 0.
    ///
    /// ```
    /// let o = inflight_redis::QueueOptions::default().push_batch(500);
    /// ```
    #[track_caller]
    pub fn push_batch(mut self, n: usize) -> QueueOptions {
        assert!(n > 0, "QueueOptions::push_batch: at least 1, got 0");
        self.push_batch = n;
        self
    }

    /// The max_pending bound.
    ///
    /// ```
    /// assert_eq!(inflight_redis::QueueOptions::default().max_pending_inputs(), 100_000);
    /// ```
    pub fn max_pending_inputs(&self) -> u64 {
        self.max_pending
    }

    /// The lease.
    ///
    /// ```
    /// assert_eq!(inflight_redis::QueueOptions::default().lease_time().as_secs(), 60);
    /// ```
    pub fn lease_time(&self) -> Duration {
        self.lease
    }

    /// How often a worker looks for inputs idle past the lease while new ones keep coming.
    pub(crate) fn claim_every(&self) -> Duration {
        (self.lease / 4).min(Duration::from_secs(1))
    }
}
