//! Replies gathered into windows: the unit the controller decides on.
//!
//! A window closes once it has lasted at least one no-load latency (so a change of the limit
//! has had time to show) and holds enough replies for its mean latency to be known to within
//! [`PRECISION`]: the count is re-estimated after every window from the spread of the last
//! one, so a steady workload gets short windows and a mixed one long windows, and the
//! controller's decisions are equally sure in both.

use std::time::Duration;

use tokio::time::Instant;

/// The relative standard error a window aims for.
pub(crate) const PRECISION: f64 = 0.1;
/// Fewest replies in a window: fewer say too little about a spread.
pub(crate) const MIN_REPLIES: u32 = 32;
/// Most replies in a window, however spread: a decision at least this often.
pub(crate) const MAX_REPLIES: u32 = 500;

/// One reply as the controller sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Reply {
    pub(crate) now: Instant,
    /// From the task's start to its end.
    pub(crate) latency: Duration,
    /// Tasks in flight when it ended, itself included.
    pub(crate) in_flight: usize,
    /// "Too much": a timeout, or a failure the run says means overload (a 503, say).
    pub(crate) dropped: bool,
}

/// A running mean.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Mean {
    count: u32,
    sum: f64,
}

impl Mean {
    pub(crate) fn add(&mut self, seconds: f64) {
        self.count += 1;
        self.sum += seconds;
    }

    pub(crate) fn count(&self) -> u32 {
        self.count
    }

    pub(crate) fn get(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / f64::from(self.count))
    }

    pub(crate) fn merge(&mut self, other: &Mean) {
        self.count += other.count;
        self.sum += other.sum;
    }
}

/// What a closed window says.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Closed {
    /// When it began.
    pub(crate) start: Instant,
    /// The latencies of the replies that were not drops, in seconds.
    pub(crate) latencies: Mean,
    /// Their mean; `None` if every reply was a drop.
    pub(crate) mean: Option<f64>,
    /// Drops over all replies.
    pub(crate) drop_share: f64,
    /// The most in flight at any reply: whether the run kept the limit busy.
    pub(crate) max_in_flight: usize,
}

/// The window being filled.
#[derive(Debug)]
pub(crate) struct Window {
    start: Option<Instant>,
    latencies: Mean,
    squares: f64,
    drops: u32,
    max_in_flight: usize,
    /// Replies this window needs, from the spread of the last ones.
    needed: u32,
}

impl Window {
    pub(crate) fn new() -> Window {
        Window {
            start: None,
            latencies: Mean::default(),
            squares: 0.0,
            drops: 0,
            max_in_flight: 0,
            needed: MIN_REPLIES,
        }
    }

    pub(crate) fn add(&mut self, reply: &Reply) {
        self.start.get_or_insert(reply.now);
        if reply.dropped {
            self.drops += 1;
        } else {
            // A microsecond at least: a task that is ready at once still took some time, and
            // a no-load latency of zero would make every later latency look like a queue.
            let seconds = reply.latency.as_secs_f64().max(1e-6);
            self.latencies.add(seconds);
            self.squares += seconds * seconds;
        }
        self.max_in_flight = self.max_in_flight.max(reply.in_flight);
    }

    /// Whether the window has enough replies and has lasted `at_least`.
    pub(crate) fn is_full(&self, now: Instant, at_least: Duration) -> bool {
        let replies = self.latencies.count() + self.drops;
        replies >= self.needed && self.start.is_some_and(|start| now - start >= at_least)
    }

    /// Closes the window, sizes the next one, and starts it empty.
    pub(crate) fn close(&mut self) -> Closed {
        let n = f64::from(self.latencies.count());
        let mean = self.latencies.get();
        if let Some(mean) = mean.filter(|&m| m > 0.0 && n > 1.0) {
            let variance = (self.squares / n - mean * mean).max(0.0);
            let wanted = variance / (mean * mean) / (PRECISION * PRECISION);
            let wanted = (wanted.ceil() as u32).clamp(MIN_REPLIES, MAX_REPLIES);
            // Smoothed: one window's spread is itself only an estimate.
            self.needed = (3 * self.needed + wanted) / 4;
        }
        let replies = self.latencies.count() + self.drops;
        let closed = Closed {
            start: self.start.expect("a full window has a start"),
            latencies: self.latencies,
            mean,
            drop_share: f64::from(self.drops) / f64::from(replies.max(1)),
            max_in_flight: self.max_in_flight,
        };
        *self = Window {
            needed: self.needed,
            ..Window::new()
        };
        closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(now: Instant, ms: u64, dropped: bool) -> Reply {
        Reply {
            now,
            latency: Duration::from_millis(ms),
            in_flight: 3,
            dropped,
        }
    }

    #[test]
    fn a_window_closes_with_enough_replies_and_time_and_leaves_drops_out_of_the_mean() {
        let start = Instant::now();
        let mut window = Window::new();
        for i in 0..MIN_REPLIES {
            window.add(&reply(start, 10, i % 4 == 0));
        }
        assert!(!window.is_full(start, Duration::from_millis(1)));
        assert!(window.is_full(start + Duration::from_millis(1), Duration::from_millis(1)));
        let closed = window.close();
        assert!((closed.mean.unwrap() - 0.010).abs() < 1e-12);
        assert!((closed.drop_share - 0.25).abs() < 1e-12);
        assert_eq!(closed.max_in_flight, 3);
    }

    #[test]
    fn a_spread_workload_gets_longer_windows() {
        let start = Instant::now();
        let mut window = Window::new();
        for i in 0..200 {
            window.add(&reply(start, if i % 2 == 0 { 1 } else { 100 }, false));
        }
        window.close();
        assert!(window.needed > MIN_REPLIES, "{}", window.needed);
    }
}
