//! [`Progress`]: counts and latency percentiles of a run, readable at any time.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crate::limits::limiter::Limiter;

/// Live counters of a run, shared by every clone; read them from anywhere while it goes on.
///
/// Latencies go into a log-linear histogram (16 buckets per power of two, so a percentile is
/// within about 6% of the true value) of fixed size: memory does not grow with the run.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let builder = inflight::Inflight::new(4);
/// let progress = builder.progress();
/// let _ = builder.gather(0..10, |&i| async move { Ok::<_, ()>(i) }).await;
/// let now = progress.snapshot();
/// assert_eq!((now.pulled, now.done, now.failed, now.in_flight), (10, 10, 0, 0));
/// assert_eq!(now.limit, 4);
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct Progress {
    shared: Arc<Counters>,
    /// The builder's limiter, whose limit a snapshot reads; `None` for a `Progress` of one's
    /// own.
    limiter: Option<Limiter>,
}

const SUB_BUCKETS: usize = 16;
const BUCKETS: usize = 64 * SUB_BUCKETS;

#[derive(Debug)]
struct Counters {
    pulled: AtomicU64,
    started: AtomicU64,
    ended: AtomicU64,
    done: AtomicU64,
    failed: AtomicU64,
    retried: AtomicU64,
    latency_us: Box<[AtomicU64]>,
}

impl Default for Counters {
    fn default() -> Self {
        Counters {
            pulled: AtomicU64::new(0),
            started: AtomicU64::new(0),
            ended: AtomicU64::new(0),
            done: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            latency_us: (0..BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }
}

/// The counters at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Snapshot {
    /// Inputs pulled from the source (some may wait for a shared limit or the rate).
    pub pulled: u64,
    /// Inputs that started their first attempt and have not ended (finished, or cancelled
    /// with their run); those waiting to retry count too, as they keep their slot.
    pub in_flight: u64,
    /// Inputs finished, successes and failures both.
    pub done: u64,
    /// Inputs that finished with a failure.
    pub failed: u64,
    /// Retries made (attempts after the first).
    pub retried: u64,
    /// Median time per finished input.
    pub p50: Duration,
    /// 90th percentile.
    pub p90: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// The limit of the builder's runs now: the fixed limit, or where an
    /// [adaptive](crate::Limit::adaptive) one is (0 for a `Progress` not got from a builder).
    pub limit: usize,
}

impl Progress {
    /// Reads every counter now.
    ///
    /// ```
    /// assert_eq!(inflight::Progress::default().snapshot().done, 0);
    /// ```
    pub fn snapshot(&self) -> Snapshot {
        let c = &self.shared;
        // Ended before started, so a task that ends in between is not counted twice.
        let ended = c.ended.load(Ordering::Acquire);
        let started = c.started.load(Ordering::Acquire);
        Snapshot {
            pulled: c.pulled.load(Ordering::Relaxed),
            in_flight: started.saturating_sub(ended),
            done: c.done.load(Ordering::Acquire),
            failed: c.failed.load(Ordering::Relaxed),
            retried: c.retried.load(Ordering::Relaxed),
            p50: self.percentile(0.50),
            p90: self.percentile(0.90),
            p99: self.percentile(0.99),
            limit: self.limiter.as_ref().map_or(0, Limiter::limit),
        }
    }

    /// A progress whose snapshots read the limit of `limiter`.
    pub(crate) fn of(limiter: Limiter) -> Progress {
        Progress {
            shared: Arc::default(),
            limiter: Some(limiter),
        }
    }

    /// The latency below which a fraction `q` (0 to 1) of finished inputs fell.
    ///
    /// ```
    /// assert_eq!(inflight::Progress::default().percentile(0.5), std::time::Duration::ZERO);
    /// ```
    pub fn percentile(&self, q: f64) -> Duration {
        let counts: Vec<u64> = self
            .shared
            .latency_us
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        if total == 0 {
            return Duration::ZERO;
        }
        let rank = ((q.clamp(0.0, 1.0) * total as f64).ceil() as u64).max(1);
        let mut seen = 0;
        for (bucket, count) in counts.iter().enumerate() {
            seen += count;
            if seen >= rank {
                return Duration::from_micros(bucket_upper(bucket));
            }
        }
        Duration::from_micros(bucket_upper(BUCKETS - 1))
    }

    pub(crate) fn pulled(&self) {
        self.shared.pulled.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a task in as started; the guard counts it out when dropped (finished or
    /// cancelled).
    pub(crate) fn started(&self) -> Running {
        self.shared.started.fetch_add(1, Ordering::AcqRel);
        Running(self.clone())
    }

    pub(crate) fn retried(&self) {
        self.shared.retried.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn finished(&self, ok: bool, elapsed: Duration) {
        let c = &self.shared;
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        c.latency_us[bucket_of(micros)].fetch_add(1, Ordering::Relaxed);
        if !ok {
            c.failed.fetch_add(1, Ordering::Relaxed);
        }
        // Last, so a reader that sees `done` also sees the rest.
        c.done.fetch_add(1, Ordering::Release);
    }
}

/// Counts one task as in flight while it lives.
#[derive(Debug)]
pub(crate) struct Running(Progress);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.shared.ended.fetch_add(1, Ordering::AcqRel);
    }
}

/// Held on the stack while a task's attempt is polled in place: if the poll panics (the panic
/// goes to the consumer, and the input will have no outcome), the input counts as done and
/// failed. Forgotten when the poll returns.
pub(crate) struct CountsPanic<'a>(pub(crate) &'a Progress);

impl Drop for CountsPanic<'_> {
    fn drop(&mut self) {
        let c = &self.0.shared;
        c.failed.fetch_add(1, Ordering::Relaxed);
        c.done.fetch_add(1, Ordering::Release);
    }
}

/// The bucket of a value: its power of two, then which sixteenth of that range.
fn bucket_of(value: u64) -> usize {
    if value < SUB_BUCKETS as u64 {
        return value as usize;
    }
    let power = 63 - value.leading_zeros() as usize; // at least 4
    let sub = ((value >> (power - 4)) & (SUB_BUCKETS as u64 - 1)) as usize;
    ((power - 3) * SUB_BUCKETS + sub).min(BUCKETS - 1)
}

/// The largest value in a bucket.
fn bucket_upper(bucket: usize) -> u64 {
    if bucket < SUB_BUCKETS {
        return bucket as u64;
    }
    let power = bucket / SUB_BUCKETS + 3;
    let sub = (bucket % SUB_BUCKETS) as u64;
    let low = (SUB_BUCKETS as u64 + sub) << (power - 4);
    low + (1u64 << (power - 4)) - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_hold_their_values_within_a_sixteenth() {
        for value in [0u64, 1, 15, 16, 17, 100, 1_000, 65_535, 1 << 40] {
            let upper = bucket_upper(bucket_of(value));
            assert!(upper >= value, "{value} -> {upper}");
            assert!(upper - value <= value / 16 + 1, "{value} -> {upper}");
        }
    }

    #[test]
    fn percentiles_follow_the_recorded_latencies() {
        let progress = Progress::default();
        for ms in 1..=100u64 {
            progress.pulled();
            let running = progress.started();
            progress.finished(ms != 100, Duration::from_millis(ms));
            drop(running);
        }
        let now = progress.snapshot();
        assert_eq!((now.done, now.failed, now.in_flight), (100, 1, 0));
        let near =
            |d: Duration, ms: u64| (d.as_millis() as i64 - ms as i64).abs() <= (ms as i64) / 16 + 1;
        assert!(near(now.p50, 50), "{:?}", now.p50);
        assert!(near(now.p90, 90), "{:?}", now.p90);
        assert!(near(now.p99, 99), "{:?}", now.p99);
    }
}
