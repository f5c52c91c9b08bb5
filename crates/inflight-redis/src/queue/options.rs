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
    /// `None`: as many as the worker has free slots (up to [`MAX_TAKE`]).
    pub(crate) read_batch: Option<usize>,
    pub(crate) slots: usize,
    pub(crate) push_batch: usize,
    pub(crate) ack_batch: usize,
    pub(crate) ack_linger: Duration,
}

/// The most inputs a worker takes in one read when it takes as many as it has free slots.
///
/// ```
/// assert_eq!(inflight_redis::MAX_TAKE, 100);
/// ```
pub const MAX_TAKE: usize = 100;

impl Default for QueueOptions {
    fn default() -> QueueOptions {
        QueueOptions {
            lease: Duration::from_secs(60),
            max_deliveries: 3,
            max_pending: 100_000,
            poll: Duration::from_secs(1),
            read_batch: None,
            slots: 1,
            push_batch: 100,
            ack_batch: 100,
            ack_linger: Duration::from_millis(5),
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

    /// How many inputs this worker runs at once (its limit, the CLI's `-j`; default 1). A
    /// read takes as many inputs as the worker has free slots, up to [`MAX_TAKE`]: slots
    /// minus the inputs it holds that have not been acknowledged or given back. So a worker
    /// takes only what it starts at once, and one that dies leaves behind only what it ran.
    ///
    /// # Panics
    ///
    /// If 0.
    ///
    /// ```
    /// let o = inflight_redis::QueueOptions::default().slots(50);
    /// ```
    #[track_caller]
    pub fn slots(mut self, n: usize) -> QueueOptions {
        assert!(n > 0, "QueueOptions::slots: at least 1, got 0");
        self.slots = n;
        self
    }

    /// How many inputs a worker takes per read, whatever its free slots (by default, as
    /// many as it has free slots; see [`QueueOptions::slots`]). More than the slots saves
    /// round trips, but the extra inputs wait in this worker's hands, under its lease,
    /// instead of going to an idle worker.
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
        self.read_batch = Some(n);
        self
    }

    /// How acknowledgements are batched: at most `max` results per script, and a batch goes
    /// out `linger` after its first result at the latest (default 100 and 5 ms). A result
    /// waits at most `linger` (plus a round trip) before it is recorded; a worker killed with
    /// SIGKILL loses at most its unsent batch, whose inputs run again after their lease.
    /// `ack_batch(1, Duration::ZERO)` records each result on its own.
    ///
    /// # Panics
    ///
    /// If `max` is 0 or `linger` over a second.
    ///
    /// ```
    /// use std::time::Duration;
    /// let o = inflight_redis::QueueOptions::default().ack_batch(20, Duration::from_millis(2));
    /// ```
    #[track_caller]
    pub fn ack_batch(mut self, max: usize, linger: Duration) -> QueueOptions {
        assert!(max > 0, "QueueOptions::ack_batch: at least 1, got 0");
        assert!(
            linger <= Duration::from_secs(1),
            "QueueOptions::ack_batch: linger at most 1 s, got {linger:?}"
        );
        self.ack_batch = max;
        self.ack_linger = linger;
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

    /// How many inputs a take asks for when the worker holds `held` unfinished ones.
    pub(crate) fn take_count(&self, held: usize) -> usize {
        match self.read_batch {
            Some(n) => n,
            None => self.slots.saturating_sub(held).clamp(1, MAX_TAKE),
        }
    }

    /// How often a worker looks for inputs idle past the lease while new ones keep coming.
    pub(crate) fn claim_every(&self) -> Duration {
        (self.lease / 4).min(Duration::from_secs(1))
    }
}
