//! The adaptive limit's controller: from each reply's latency and whether it was a drop, the
//! limit to use next. See [`AdaptiveLimit`](crate::AdaptiveLimit) for the algorithm in words;
//! the constants below are its parameters.

use std::time::Duration;

use tokio::time::Instant;

use super::window::{Closed, Mean, Reply, Window};

/// How far above the no-load latency the mean latency may go before the limit is cut: 30%
/// leaves room for the noise of a window (10%) and for a short queue, which keeps the server
/// busy through the gaps between one task's end and the next one's start.
pub(crate) const TOLERANCE: f64 = 0.3;
/// Share of the way to a new target taken per window (Gradient2's smoothing).
pub(crate) const SMOOTHING: f64 = 0.2;
/// The steepest cut of one window, before smoothing: half (Gradient2's floor).
pub(crate) const FLOOR: f64 = 0.5;
/// Drops above this share of a window's replies (and of recent windows') mean "too much";
/// below it they are taken as noise (a flaky network resets some connections at any load).
pub(crate) const DROP_SHARE: f64 = 0.1;
/// Growth per window before the first cut: the start finds the right size in a few windows.
pub(crate) const SLOW_START: f64 = 1.5;
/// After that, growth per window is `SMOOTHING * sqrt(limit)` times the number of windows in
/// a row without a cut, up to this many: slow near the last cut, faster far from it.
pub(crate) const MAX_STREAK: u32 = 8;
/// A probe measures the latency at the limit, then at this share of it.
pub(crate) const PROBE_STEP: f64 = 0.7;
/// Replies a probe measures at each step (a mean within about 5% for a log-normal latency).
pub(crate) const PROBE_REPLIES: u32 = 100;
/// Probes run this often, and twice as seldom after each that finds nothing new...
pub(crate) const PROBE_EVERY: Duration = Duration::from_secs(20);
/// ...up to this.
pub(crate) const PROBE_EVERY_MAX: Duration = Duration::from_secs(160);
/// Weight of the newest window in the running averages of latency and drops.
const RECENT: f64 = 0.3;

/// What the controller is doing.
#[derive(Debug)]
enum Phase {
    /// Measuring the latency at the initial limit, before a probe's second step.
    Start { replies: Mean },
    /// Following the latency: grow while it is within tolerance of the no-load latency, cut
    /// while above. `cut_from` is the limit the cuts under way began at.
    Follow { cut_from: Option<f64> },
    /// A probe, first step: the latency at the limit as it is, held.
    Hold {
        since: Instant,
        settle: Duration,
        replies: Mean,
    },
    /// Second step: the latency at `PROBE_STEP` of `from`, after `held` at `from`.
    Lower {
        since: Instant,
        settle: Duration,
        held: f64,
        from: f64,
        replies: Mean,
    },
}

/// The state of one adaptive limit.
///
/// `pub` (in a private module, so not exported) only because the sealed
/// [`Timer::start`](super::timing::Timer::start), which streams reach through `IntoLimit`,
/// takes it.
#[derive(Debug)]
pub struct Controller {
    min: f64,
    max: f64,
    limit: f64,
    window: Window,
    /// The no-load latency in seconds; 0 until the start has measured it.
    base: f64,
    recent: Option<f64>,
    drops_recent: f64,
    phase: Phase,
    slow_start: bool,
    streak: u32,
    every: Duration,
    next_probe: Option<Instant>,
}

impl Controller {
    /// A controller between `min` and `max` (at least 1, `min <= max`), starting at
    /// `initial` (clamped between them).
    pub(crate) fn new(min: usize, max: usize, initial: usize) -> Controller {
        debug_assert!(1 <= min && min <= max);
        Controller {
            min: min as f64,
            max: max as f64,
            limit: initial.clamp(min, max) as f64,
            window: Window::new(),
            base: 0.0,
            recent: None,
            drops_recent: 0.0,
            phase: Phase::Start {
                replies: Mean::default(),
            },
            slow_start: true,
            streak: 0,
            every: PROBE_EVERY,
            next_probe: None,
        }
    }

    /// The limit now.
    pub(crate) fn limit(&self) -> usize {
        (self.limit.clamp(self.min, self.max)) as usize
    }

    /// Takes one reply; the new limit if it changed.
    pub(crate) fn record(&mut self, reply: Reply) -> Option<usize> {
        let before = self.limit();
        self.window.add(&reply);
        if self
            .window
            .is_full(reply.now, Duration::from_secs_f64(self.base))
        {
            let closed = self.window.close();
            self.decide(reply.now, closed);
            self.limit = self.limit.clamp(self.min, self.max);
        }
        let after = self.limit();
        (after != before).then_some(after)
    }

    fn decide(&mut self, now: Instant, window: Closed) {
        if let Some(mean) = window.mean {
            self.recent = Some(self.recent.map_or(mean, |r| r + RECENT * (mean - r)));
        }
        self.drops_recent += RECENT * (window.drop_share - self.drops_recent);
        if window.drop_share > DROP_SHARE && self.drops_recent > DROP_SHARE {
            self.overloaded(now, window.drop_share);
            return;
        }
        let settled = |since: Instant, settle: Duration| window.start >= since + settle;
        match &mut self.phase {
            Phase::Start { replies } => {
                replies.merge(&window.latencies);
                if replies.count() >= PROBE_REPLIES {
                    // The latency at the initial limit, which may already be past the server's
                    // capacity: the start is the first step of a probe, which steps down
                    // until the latency stops falling before the limit may grow.
                    let held = replies.get().expect("replies were counted");
                    self.base = held;
                    self.step_down(now, held, self.limit);
                }
            }
            Phase::Hold {
                since,
                settle,
                replies,
            } => {
                if settled(*since, *settle) {
                    replies.merge(&window.latencies);
                    if replies.count() >= PROBE_REPLIES {
                        let held = replies.get().expect("replies were counted");
                        self.step_down(now, held, self.limit);
                    }
                }
            }
            Phase::Lower {
                since,
                settle,
                held,
                from,
                replies,
            } => {
                if settled(*since, *settle) {
                    replies.merge(&window.latencies);
                    if replies.count() >= PROBE_REPLIES {
                        let (held, from) = (*held, *from);
                        let lower = replies.get().expect("replies were counted");
                        self.probed(now, held, from, lower);
                    }
                }
            }
            Phase::Follow { .. } => {
                if let Some(mean) = window.mean {
                    let saturated = window.max_in_flight as f64 * 2.0 >= self.limit;
                    self.follow(now, mean, saturated);
                }
            }
        }
    }

    /// Too many drops: cut in proportion, whatever was going on.
    fn overloaded(&mut self, now: Instant, drop_share: f64) {
        match self.phase {
            // A probe is called off, its limit put back first so the cut is from where the
            // run was.
            Phase::Lower { from, .. } => {
                self.limit = from;
                self.finish_probe(now);
            }
            Phase::Hold { .. } => self.finish_probe(now),
            // Still measuring the no-load latency.
            Phase::Start { .. } => {}
            Phase::Follow { .. } => self.phase = Phase::Follow { cut_from: None },
        }
        self.slow_start = false;
        self.streak = 0;
        self.limit *= 1.0 - SMOOTHING * drop_share.min(1.0 - FLOOR);
    }

    fn follow(&mut self, now: Instant, mean: f64, saturated: bool) {
        let Phase::Follow { cut_from } = &mut self.phase else {
            unreachable!("called while following");
        };
        let tolerated = 1.0 + TOLERANCE;
        let recent = self.recent.unwrap_or(mean);
        // A clearly faster server (much faster in one window, or faster over several): its
        // latency is the new no-load latency, to be measured properly soon.
        let faster = if mean * tolerated * tolerated < self.base {
            Some(mean)
        } else if recent * tolerated < self.base {
            Some(recent)
        } else {
            None
        };
        if let Some(faster) = faster {
            self.base = faster;
            self.every = PROBE_EVERY;
            self.next_probe = Some(now + Duration::from_secs(1));
        }
        if mean > self.base * tolerated {
            // A queue: cut by the gradient, at most by the floor, smoothed.
            let gradient = (self.base * tolerated / mean).max(FLOOR);
            let from = *cut_from.get_or_insert(self.limit);
            self.slow_start = false;
            self.streak = 0;
            self.limit *= 1.0 - SMOOTHING * (1.0 - gradient);
            if self.limit <= from * PROBE_STEP {
                // Cutting has not brought the latency back: is it ours at all?
                self.hold(now, recent);
                return;
            }
        } else {
            if cut_from.is_some_and(|from| self.limit >= from) {
                *cut_from = None;
            }
            if saturated {
                self.streak += 1;
                if self.slow_start {
                    self.limit *= SLOW_START;
                } else {
                    let streak = f64::from(self.streak.min(MAX_STREAK));
                    self.limit += SMOOTHING * self.limit.sqrt() * streak;
                }
            }
        }
        if saturated && self.next_probe.is_some_and(|at| now >= at) {
            self.hold(now, recent);
        }
    }

    /// Starts a probe at the limit as it is.
    fn hold(&mut self, now: Instant, latency: f64) {
        self.phase = Phase::Hold {
            since: now,
            settle: Duration::from_secs_f64(2.0 * latency),
            replies: Mean::default(),
        };
    }

    /// The probe's next step: the latency at `PROBE_STEP` of `from`, where it was `held`.
    fn step_down(&mut self, now: Instant, held: f64, from: f64) {
        self.limit = (from * PROBE_STEP).max(self.min);
        self.phase = Phase::Lower {
            since: now,
            settle: Duration::from_secs_f64(2.0 * held),
            held,
            from,
            replies: Mean::default(),
        };
    }

    /// A probe step's answer: the latency was `held` at `from` and is `lower` below it.
    fn probed(&mut self, now: Instant, held: f64, from: f64, lower: f64) {
        let tolerated = 1.0 + TOLERANCE;
        if lower * tolerated >= held {
            // It did not fall with the load: there was no queue of ours at `from`, and
            // `lower` is the no-load latency (the server's own, if it has slowed down). Take
            // it, averaged with the last when close (one measure is noisy), and put the limit
            // back.
            let old = self.base;
            self.base = if lower > old * tolerated || lower * tolerated < old {
                lower
            } else {
                (old + lower) / 2.0
            };
            self.every = if (lower / old - 1.0).abs() < TOLERANCE / 2.0 {
                (self.every * 2).min(PROBE_EVERY_MAX)
            } else {
                PROBE_EVERY
            };
            self.limit = from;
            self.finish_probe(now);
        } else {
            // It fell: we were queueing at `from`. Step down again until it no longer falls;
            // that is where the queue ends.
            self.base = self.base.min(lower);
            self.every = PROBE_EVERY;
            if self.limit > self.min {
                self.step_down(now, lower, self.limit);
            } else {
                self.finish_probe(now);
            }
        }
    }

    fn finish_probe(&mut self, now: Instant) {
        self.phase = Phase::Follow { cut_from: None };
        self.next_probe = Some(now + self.every);
        self.streak = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A closed loop: the limit is always full, replies come at `limit / latency` a second,
    /// each with the latency `latency_at(limit)` and dropped when `dropped(n)` says.
    fn run(
        controller: &mut Controller,
        replies: usize,
        latency_at: impl Fn(usize) -> Duration,
        dropped: impl Fn(usize) -> bool,
    ) -> Vec<usize> {
        let mut now = Instant::now();
        let mut limits = Vec::with_capacity(replies);
        for n in 0..replies {
            let limit = controller.limit();
            let latency = latency_at(limit);
            now += latency / limit as u32;
            controller.record(Reply {
                now,
                latency,
                in_flight: limit,
                dropped: dropped(n),
            });
            limits.push(controller.limit());
        }
        limits
    }

    fn mean(limits: &[usize]) -> f64 {
        limits.iter().sum::<usize>() as f64 / limits.len() as f64
    }

    /// A server of capacity `k` serving in 50 ms: past `k`, latency grows with the queue.
    fn queue(k: usize) -> impl Fn(usize) -> Duration {
        move |limit| Duration::from_millis(50) * (limit.max(k) as u32) / k as u32
    }

    #[test]
    fn it_grows_while_the_latency_stays_flat_and_stops_at_its_max() {
        let mut controller = Controller::new(1, 200, 10);
        let limits = run(
            &mut controller,
            20_000,
            |_| Duration::from_millis(10),
            |_| false,
        );
        assert_eq!(*limits.last().unwrap(), 200);
        assert!(limits.iter().all(|&l| (1..=200).contains(&l)));
    }

    #[test]
    fn it_settles_where_a_queue_begins() {
        let mut controller = Controller::new(1, 1000, 10);
        let limits = run(&mut controller, 50_000, queue(40), |_| false);
        let settled = mean(&limits[25_000..]);
        // At the capacity, with at most the tolerated queue (30% more latency): with no noise
        // at all, just at the edge of the tolerance.
        assert!((40.0..=54.0).contains(&settled), "{settled}");
    }

    #[test]
    fn it_starts_by_stepping_down_from_an_initial_limit_past_the_capacity() {
        let mut controller = Controller::new(1, 1000, 300);
        let limits = run(&mut controller, 50_000, queue(20), |_| false);
        let settled = mean(&limits[25_000..]);
        assert!((20.0..=27.0).contains(&settled), "{settled}");
        assert!(limits[..1_000].iter().all(|&l| l <= 300));
    }

    #[test]
    fn many_drops_cut_it_and_a_few_do_not() {
        let flat = |_| Duration::from_millis(20);
        let mut noisy = Controller::new(1, 100, 10);
        let limits = run(&mut noisy, 20_000, flat, |n| n % 20 == 0); // 5%
        assert_eq!(*limits.last().unwrap(), 100);
        let mut refused = Controller::new(1, 100, 100);
        let limits = run(&mut refused, 20_000, flat, |n| n % 2 == 0); // 50%
        assert_eq!(*limits.last().unwrap(), 1);
    }

    #[test]
    fn a_latency_that_rises_without_load_is_taken_as_the_new_normal() {
        let mut controller = Controller::new(1, 1000, 10);
        let before = run(&mut controller, 30_000, queue(40), |_| false);
        let before = mean(&before[20_000..]);
        // Three times slower, whatever the load: the capacity is still 40.
        let slow = |limit: usize| queue(40)(limit) * 3;
        let during = run(&mut controller, 30_000, slow, |_| false);
        // Cuts by 30% before asking whether the latency is its own, and asks 30% lower.
        let lowest = *during.iter().min().unwrap() as f64;
        assert!(lowest >= 0.4 * before, "{lowest} after {before}");
        let settled = mean(&during[20_000..]);
        assert!(settled >= 40.0, "{settled}");
    }
}
