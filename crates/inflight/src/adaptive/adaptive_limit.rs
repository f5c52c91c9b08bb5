//! [`AdaptiveLimit`]: the settings of an adaptive limit, and the documentation of how it works.

use super::controller::{
    Controller, FLOOR, MAX_STREAK, PROBE_EVERY, PROBE_EVERY_MAX, PROBE_REPLIES, PROBE_STEP,
    SLOW_START, SMOOTHING, TOLERANCE,
};
use super::window::{MAX_REPLIES, MIN_REPLIES, PRECISION};

/// A limit that finds how many tasks can run at once without queueing, from the latency of
/// the tasks themselves, and follows it as it changes. Made by [`Limit::adaptive`](crate::Limit::adaptive)
/// and accepted wherever a limit is: `as_completed(futures, Limit::adaptive().max(500))`,
/// `Inflight::new(Limit::adaptive())`, and the handle's and streams' `set_limit`. The limit now
/// is readable at any time: `limit()` on the streams, [`RunHandle::limit`](crate::RunHandle::limit),
/// [`Snapshot::limit`](crate::Snapshot), and an [`Event::LimitChanged`](crate::Event) each time it moves.
///
/// ```
/// use std::time::Duration;
/// use futures::StreamExt;
/// use inflight::Limit;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// // A server that serves 20 at once and queues the rest: it answers in 50 ms, or later.
/// let server = std::sync::Arc::new(tokio::sync::Semaphore::new(20));
/// let requests = (0..20_000).map(|_| {
///     let server = server.clone();
///     async move {
///         let _place = server.acquire().await.unwrap();
///         tokio::time::sleep(Duration::from_millis(50)).await;
///     }
/// });
/// let mut replies = inflight::as_completed(requests, Limit::adaptive().max(200));
/// while replies.next().await.is_some() {}
/// let settled = replies.limit();
/// assert!((20..=40).contains(&settled), "{settled}"); // near 20, not 200
/// # }
/// ```
///
/// # When to use it
///
/// When the tasks share a bottleneck whose latency grows once it is overloaded (a server, a
/// database, an API, a disk), and you do not know, or cannot keep up to date, how much it can
/// take: too low a limit wastes time, too high a one gets queues, timeouts, 429s and 503s. Keep
/// a fixed limit when you know the right number (the cores of a machine for CPU-bound work),
/// and use a [`Rate`](crate::Rate) when the constraint is requests per second rather than
/// requests at once. Prefer [`Inflight`](crate::Inflight) to the plain streams if failures can
/// mean "too much" (see [drops](#drops)).
///
/// # How it works
///
/// A gradient controller, in the family of Netflix's Gradient2 (concurrency-limits) and Envoy's
/// adaptive concurrency filter, chosen after simulating them, AIMD and Vegas against a server
/// with a hidden capacity (the table and plot are in `BENCHMARKS.md`, "The adaptive limit"):
///
/// 1. **Windows.** Replies are gathered into windows of at least one no-load latency and of
///    enough replies (32 to 500) for their mean latency to be known within 10%; a window is
///    the unit of every decision. Drops are counted, not timed.
/// 2. **Start.** The first 100 replies, at the initial limit, give the no-load latency. Then the
///    limit grows by half per window until the latency first rises (a slow start, as TCP's).
/// 3. **Follow.** While a window's mean latency is within 30% of the no-load latency, the limit
///    grows by `0.2 * sqrt(limit)` per window, times the number of windows since the last cut
///    (up to 8): slowly near the last cut, faster far from it. Above that, it is cut towards
///    `limit * 1.3 * no_load / latency` (at most halved), a fifth of the way per window (the
///    gradient and smoothing of Gradient2). The 30% leaves room for noise and for a short
///    queue, which keeps the server busy between one task's end and the next one's start.
/// 4. **Drops.** When more than 10% of a window's replies (and of recent windows') are drops,
///    the limit is cut by a fifth of the drop share (at most 10%) per window: a few drops are
///    noise, many mean overload.
/// 5. **Probes.** Latency can rise for reasons that have nothing to do with load (a slower
///    backend, a colder cache): cutting would not bring it down, and a latency-only controller
///    collapses. So the no-load latency is measured again, as Envoy does, but in two steps, as
///    BBR probes: hold the limit and measure (100 replies), then lower it to 70% and measure.
///    If the latency did not fall, it is the server's own: it becomes the no-load latency and
///    the limit goes back. If it fell, the run was queueing: it steps down again until the
///    latency stops falling, which is where the queue ends. A probe runs whenever cuts have
///    brought the limit to 70% of where they began, and every 20 s otherwise (40, 80, up to
///    160 s while they find nothing new), and a clearly faster server is measured within 1 s.
///
/// In the simulation it keeps goodput within 5% of a limit set to the hidden capacity and p99
/// latency within 1.5x of it, comes back within 10 s after the capacity drops to a quarter or
/// doubles, and neither a threefold slowdown unrelated to load nor 5% of connections reset at
/// random brings it down to its minimum.
///
/// # Drops
///
/// Under [`Inflight`](crate::Inflight), a timed-out attempt is a drop, and so is every failure
/// that [`Inflight::drop_if`](crate::Inflight::drop_if) accepts (429, 503, connection reset);
/// other failures (a 404) are replies like successes. The plain streams
/// ([`as_completed`](crate::as_completed) and the others) know no outcome and follow latency
/// alone.
///
/// # What it cannot know
///
/// - **Only its own tasks.** It sees their latency and drops, nothing of the server: it cannot
///   tell other clients' load from its own, and shares a server with them roughly as TCP flows
///   share a link.
/// - **A fast "no".** A server that answers "too much" at once looks fast. The plain streams
///   then see a fast server and grow; use `Inflight` with `drop_if`, or make such a failure
///   slow (retry inside the task).
/// - **One bottleneck.** One limit is found for all the tasks; tasks that go to different
///   servers need a limit per server ([`per_key`](crate::Outcomes::per_key), fixed).
/// - **Enough tasks.** It needs about 100 replies to start and dozens per decision: a run of a
///   few hundred tasks ends before it has moved much, and a run that cannot keep the limit
///   busy (at least half of it in flight) does not grow it.
/// - **The probes cost.** Each runs 30% below the limit for about two hundred replies.
/// - **A short queue is kept.** It settles where the mean latency is up to 30% above the
///   no-load latency: the server stays busy, at the price of that much waiting. With many fast
///   requests and a few slow ones, the fast ones' median latency rises the most (threefold in
///   the simulation's mix, where the 99th percentile rises 5%).
/// - **Not a rate.** A server that allows N requests per second, whatever the concurrency, is
///   limited with [`Rate`](crate::Rate).
///
/// Its parameters, as constants: window precision 10%, 32 to 500 replies; tolerance 30%;
/// smoothing 0.2, floor 0.5; drop share 10%; slow start 1.5x, growth streak up to 8; probes at
/// 70% over 100 replies, every 20 s to 160 s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdaptiveLimit {
    min: usize,
    max: usize,
    initial: Option<usize>,
}

// The constants named in the docs above are the controller's; these keep them in one place
// (a change there that is not made here fails to build).
const _: () = {
    assert!(TOLERANCE == 0.3 && SMOOTHING == 0.2 && FLOOR == 0.5 && SLOW_START == 1.5);
    assert!(MAX_STREAK == 8 && PROBE_STEP == 0.7 && PROBE_REPLIES == 100);
    assert!(PROBE_EVERY.as_secs() == 20 && PROBE_EVERY_MAX.as_secs() == 160);
    assert!(PRECISION == 0.1 && MIN_REPLIES == 32 && MAX_REPLIES == 500);
};

/// The initial limit when none is given (clamped to the bounds).
const DEFAULT_INITIAL: usize = 10;

impl Default for AdaptiveLimit {
    fn default() -> Self {
        AdaptiveLimit {
            min: 1,
            max: 1000,
            initial: None,
        }
    }
}

impl AdaptiveLimit {
    /// The lowest the limit may go (default 1).
    ///
    /// # Panics
    ///
    /// If `min` is 0.
    ///
    /// ```
    /// assert_eq!(inflight::Limit::adaptive().min(4).range(), 4..=1000);
    /// ```
    #[track_caller]
    pub fn min(mut self, min: usize) -> Self {
        crate::limit_check::check_limit(min, "AdaptiveLimit::min: min");
        self.min = min;
        self
    }

    /// The highest the limit may go (default 1000).
    ///
    /// # Panics
    ///
    /// If `max` is 0.
    ///
    /// ```
    /// assert_eq!(inflight::Limit::adaptive().max(50).range(), 1..=50);
    /// ```
    #[track_caller]
    pub fn max(mut self, max: usize) -> Self {
        crate::limit_check::check_limit(max, "AdaptiveLimit::max: max");
        self.max = max;
        self
    }

    /// Where the limit starts (default 10, or, when it replaces a limit at run time, that
    /// limit), clamped to the bounds.
    ///
    /// # Panics
    ///
    /// If `initial` is 0.
    ///
    /// ```
    /// let stream = inflight::as_completed([async {}], inflight::Limit::adaptive().initial(32));
    /// assert_eq!(stream.limit(), 32);
    /// ```
    #[track_caller]
    pub fn initial(mut self, initial: usize) -> Self {
        crate::limit_check::check_limit(initial, "AdaptiveLimit::initial: initial");
        self.initial = Some(initial);
        self
    }

    /// The bounds.
    ///
    /// ```
    /// assert_eq!(inflight::Limit::adaptive().range(), 1..=1000);
    /// ```
    pub fn range(&self) -> std::ops::RangeInclusive<usize> {
        self.min..=self.max
    }

    #[track_caller]
    pub(crate) fn check(&self, what: &str) {
        assert!(
            self.min <= self.max,
            "{what}: an adaptive limit's min must be at most its max, got min {} and max {}",
            self.min,
            self.max
        );
    }

    /// A controller for this limit; `current` is the limit it replaces at run time, if any.
    pub(crate) fn controller(&self, current: Option<usize>) -> Controller {
        let initial = self
            .initial
            .or(current.filter(|&c| c > 0))
            .unwrap_or(DEFAULT_INITIAL);
        let max = self.max.max(self.min);
        Controller::new(self.min, max, initial)
    }
}
