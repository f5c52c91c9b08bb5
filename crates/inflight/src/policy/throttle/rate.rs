//! [`Rate`]: a start-rate limit by GCRA, shared by every task of a run and changeable live.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// `count` starts every `per`, evenly spaced, with up to `burst` back to back after a quiet
/// spell.
///
/// It is the generic cell rate algorithm (GCRA): each start has a theoretical arrival time (its
/// slot), slots are `per / count` apart, and up to `burst` starts may come early, back to back,
/// after a quiet spell. With the default burst of 1, starts are simply spaced; no window ever
/// holds a clump of `count` starts at its edge, which is what fixed-window limiters do. Written
/// here rather than taken from `governor` because it is a few lines on tokio's clock, so it is
/// exact under a paused clock in tests.
///
/// # What it promises
///
/// - **Never early**: no start comes before its slot, less the burst allowance; the slots of
///   any window of length `t` number at most `burst + rate·t`. So counted from the first start
///   (or from any start that was on time), at most `burst + rate·t` starts fall within `t`.
/// - **About `rate·t` while work waits**: a start that waits for its slot and is woken late
///   (tokio's timer fires on whole milliseconds, and a busy runtime wakes a task later still)
///   keeps its slot, so the lateness does not push the schedule back: the starts after it
///   follow sooner until the schedule is caught up. That catch-up is bounded by
///   [`max_catch_up`](Rate::max_catch_up) (default 10 ms; lateness beyond it is given up, so a
///   stall never turns into a burst), and it is what a short window that does not begin at a
///   start can hold beyond the schedule: any window of length `t` holds at most
///   `burst + rate·(t + catch_up)` starts (at 100/s, one more). With
///   [`catch_up(Duration::ZERO)`](Rate::catch_up) it is the textbook GCRA: at most
///   `burst + rate·t` in every window, and fewer starts than the rate when wake-ups are late.
/// - **No saving up**: a caller that arrives after a quiet spell starts at once (within the
///   burst) and the schedule runs from then on.
///
/// `Rate::per_second(1000)` with work always waiting starts 2000 inputs in 2 s on a real clock
/// (`tests/rate_real_clock.rs`); a schedule that each late wake-up pushed back started 802.
///
/// ```
/// use std::time::Duration;
/// let rate = inflight::Rate::per_second(50).burst(5);
/// assert_eq!(rate.interval(), Duration::from_millis(20));
/// assert_eq!(rate.max_catch_up(), Duration::from_millis(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    interval: Duration,
    burst: u32,
    catch_up: Duration,
}

impl Rate {
    /// The longest interval between starts: a century. A longer one (`Rate::new(1,
    /// Duration::MAX)`) is taken as this, which is the same in practice (one start, then a
    /// wait longer than any run) and keeps the schedule's arithmetic from overflowing.
    ///
    /// ```
    /// use std::time::Duration;
    /// let rare = inflight::Rate::new(1, Duration::MAX);
    /// assert_eq!(rare.interval(), inflight::Rate::MAX_INTERVAL);
    /// ```
    pub const MAX_INTERVAL: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

    /// `count` starts every `per`. An interval (`per / count`) above
    /// [`Rate::MAX_INTERVAL`] is taken as that.
    ///
    /// # Panics
    ///
    /// `Rate::new` panics if `count` is 0 or `per` is zero (no rate could be kept), naming the
    /// value. Every other value is accepted.
    ///
    /// ```
    /// let rate = inflight::Rate::new(100, std::time::Duration::from_secs(60));
    /// assert_eq!(rate.interval(), std::time::Duration::from_millis(600));
    /// ```
    #[track_caller]
    pub fn new(count: u32, per: Duration) -> Rate {
        assert!(count > 0, "Rate::new: count must be at least 1, got 0");
        assert!(!per.is_zero(), "Rate::new: period must be longer than zero");
        Rate {
            interval: (per / count).min(Rate::MAX_INTERVAL),
            burst: 1,
            catch_up: DEFAULT_CATCH_UP,
        }
    }

    /// `count` starts a second.
    ///
    /// ```
    /// assert_eq!(inflight::Rate::per_second(4).interval().as_millis(), 250);
    /// ```
    #[track_caller]
    pub fn per_second(count: u32) -> Rate {
        Rate::new(count, Duration::from_secs(1))
    }

    /// Allows up to `burst` starts back to back after a quiet spell (default 1).
    ///
    /// # Panics
    ///
    /// If `burst` is 0.
    ///
    /// ```
    /// assert_eq!(inflight::Rate::per_second(1).burst(3).burst_size(), 3);
    /// ```
    #[track_caller]
    pub fn burst(mut self, burst: u32) -> Rate {
        assert!(burst > 0, "Rate::burst: burst must be at least 1, got 0");
        self.burst = burst;
        self
    }

    /// The spacing between starts.
    ///
    /// ```
    /// assert_eq!(inflight::Rate::per_second(2).interval().as_millis(), 500);
    /// ```
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// How many starts may come back to back.
    ///
    /// ```
    /// assert_eq!(inflight::Rate::per_second(2).burst_size(), 1);
    /// ```
    pub fn burst_size(&self) -> u32 {
        self.burst
    }

    /// How late a start that waited for its slot may be and still keep it (default 10 ms), so
    /// the starts after it catch up; see [what a rate promises](Rate#what-it-promises). Zero
    /// gives the textbook GCRA (a late start pushes the schedule back). Longer lets the rate be
    /// kept through longer stalls, at the cost of that many more starts in a short window.
    /// Above [`Rate::MAX_INTERVAL`] it is taken as that.
    ///
    /// ```
    /// use std::time::Duration;
    /// let strict = inflight::Rate::per_second(100).catch_up(Duration::ZERO);
    /// assert_eq!(strict.max_catch_up(), Duration::ZERO);
    /// ```
    pub fn catch_up(mut self, catch_up: Duration) -> Rate {
        self.catch_up = catch_up.min(Rate::MAX_INTERVAL);
        self
    }

    /// How late a waiting start may be and still keep its slot.
    ///
    /// ```
    /// let rate = inflight::Rate::per_second(2);
    /// assert_eq!(rate.max_catch_up(), std::time::Duration::from_millis(10));
    /// ```
    pub fn max_catch_up(&self) -> Duration {
        self.catch_up
    }
}

/// Ten milliseconds: ten ticks of tokio's timer, more than a busy two-core machine made a
/// waiting start late in the real-clock test (at a load of 11, 5 ms delivered 98% at 1000/s
/// and 10 ms all of it), and one start or less at rates up to 100 a second.
const DEFAULT_CATCH_UP: Duration = Duration::from_millis(10);

/// The shared state of a rate limit: the theoretical arrival time of the next start.
#[derive(Debug, Clone)]
pub(crate) struct Pacer {
    shared: Arc<PacerShared>,
}

#[derive(Debug)]
struct PacerShared {
    /// Mirrors `state.rate.is_some()`, so a run without a rate pays one relaxed load per start
    /// and no lock, while a handle can still set a rate at any time.
    limited: AtomicBool,
    state: Mutex<PacerState>,
    /// Waiters take turns in arrival order: only the one at the head sleeps on the clock, so a
    /// start wakes one task, not every task that waits.
    turn: tokio::sync::Mutex<()>,
    /// Wakes the waiter at the head when the rate changes, so a raise takes effect at once.
    changed: Notify,
}

#[derive(Debug)]
struct PacerState {
    /// `None`: no limit (a handle may set one later).
    rate: Option<Rate>,
    /// The theoretical arrival time (TAT) of the next start: the slot it takes, whenever it
    /// really starts. `None` until the first start under a rate.
    next_due: Option<Instant>,
}

impl Pacer {
    pub(crate) fn new(rate: Option<Rate>) -> Pacer {
        Pacer {
            shared: Arc::new(PacerShared {
                limited: AtomicBool::new(rate.is_some()),
                state: Mutex::new(PacerState {
                    rate,
                    next_due: None,
                }),
                turn: tokio::sync::Mutex::new(()),
                changed: Notify::new(),
            }),
        }
    }

    /// Changes the rate. The starts already owed under the old rate keep their number but are
    /// spaced by the new interval, so a raise (or a lift) lets the next start go at once or
    /// sooner, and a cut spaces them out; the waiter at the head is woken to see it.
    pub(crate) fn set_rate(&self, rate: Option<Rate>) {
        {
            let mut state = self.lock();
            let now = Instant::now();
            state.next_due = match (state.rate, rate, state.next_due) {
                (Some(old), Some(new), Some(due)) if due > now => {
                    let owed = (due - now).as_secs_f64() / old.interval.as_secs_f64();
                    let wait = Duration::try_from_secs_f64(new.interval.as_secs_f64() * owed)
                        .unwrap_or(Duration::MAX);
                    Some(later(now, wait))
                }
                (_, Some(_), due) => due,
                (_, None, _) => None,
            };
            state.rate = rate;
            self.shared.limited.store(rate.is_some(), Ordering::Release);
        }
        self.shared.changed.notify_waiters();
    }

    pub(crate) fn rate(&self) -> Option<Rate> {
        self.lock().rate
    }

    /// Takes a start now if one is allowed, or says when the next one will be.
    ///
    /// `waiting_since`: when the caller began to wait for a start, if it waits (it sleeps on
    /// the clock or queues behind those who do). A waiter whose slot came due while it waited
    /// and who starts late (a late timer, a busy runtime) keeps its slot, up to the rate's
    /// catch-up late, so the lateness does not push the schedule back. Anyone else (a caller
    /// arriving after a quiet spell) starts the schedule afresh from now: idle time is not
    /// saved up.
    pub(crate) fn try_start(
        &self,
        now: Instant,
        waiting_since: Option<Instant>,
    ) -> Result<(), Instant> {
        if !self.shared.limited.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut state = self.lock();
        let Some(rate) = state.rate else {
            return Ok(());
        };
        let interval = rate.interval;
        // At most a century (burst × interval could overflow a `Duration`).
        let tolerance = interval
            .saturating_mul(rate.burst - 1)
            .min(Rate::MAX_INTERVAL);
        let due = state.next_due.unwrap_or(now);
        if let Some(earliest) = due.checked_sub(tolerance) {
            if now < earliest {
                return Err(earliest);
            }
        }
        let slot = match waiting_since {
            // Came due while the caller waited: a late start keeps its slot (within the
            // catch-up), so the next ones follow sooner.
            Some(since) if due >= since => due.max(now.checked_sub(rate.catch_up).unwrap_or(now)),
            _ => due.max(now),
        };
        state.next_due = Some(later(slot, interval));
        Ok(())
    }

    /// Waits until a start is allowed, then takes it. Waiters are served in arrival order.
    /// Callers try [`Pacer::try_start_alone`] first, which needs no await.
    pub(crate) async fn start(&self) {
        if self.try_start_alone() {
            return;
        }
        let since = Instant::now();
        let _turn = self.shared.turn.lock().await;
        loop {
            // Registered before the check, so a change between the two is not missed.
            let changed = self.shared.changed.notified();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            let at = match self.try_start(Instant::now(), Some(since)) {
                Ok(()) => return,
                Err(at) => at,
            };
            let mut sleep = std::pin::pin!(tokio::time::sleep_until(at));
            std::future::poll_fn(|cx| {
                if sleep.as_mut().poll(cx).is_ready() || changed.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(());
                }
                Poll::Pending
            })
            .await;
        }
    }

    /// The fast path: no rate, or a start free now and nobody waiting before us.
    #[inline]
    pub(crate) fn try_start_alone(&self) -> bool {
        if !self.shared.limited.load(Ordering::Acquire) {
            return true;
        }
        match self.shared.turn.try_lock() {
            Ok(_turn) => self.try_start(Instant::now(), None).is_ok(),
            Err(_) => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PacerState> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// `at + by`, where `by` may be as long as a few centuries (a century's interval plus a
/// century's burst allowance, or a rescaled debt): never an overflow panic. Where the platform's
/// `Instant` cannot reach that far, as far as it can within a century.
fn later(at: Instant, by: Duration) -> Instant {
    at.checked_add(by)
        .or_else(|| at.checked_add(Rate::MAX_INTERVAL))
        .unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn starts_are_spaced_after_the_burst() {
        let pacer = Pacer::new(Some(Rate::per_second(10).burst(3)));
        let start = Instant::now();
        let mut times = Vec::new();
        for _ in 0..6 {
            pacer.start().await;
            times.push(start.elapsed().as_millis());
        }
        assert_eq!(times, [0, 0, 0, 100, 200, 300]);
    }

    /// `n` waiters, all queued at once, starting at `rate`; the start times from the first.
    async fn queued_starts(rate: Rate, n: usize) -> Vec<Duration> {
        let pacer = Pacer::new(Some(rate));
        let start = Instant::now();
        let times = Arc::new(Mutex::new(Vec::new()));
        let waiters: Vec<_> = (0..n)
            .map(|_| {
                let (pacer, times) = (pacer.clone(), times.clone());
                tokio::spawn(async move {
                    pacer.start().await;
                    times.lock().unwrap().push(start.elapsed());
                })
            })
            .collect();
        for waiter in waiters {
            waiter.await.unwrap();
        }
        let mut times = times.lock().unwrap().clone();
        times.sort();
        times
    }

    #[tokio::test(start_paused = true)]
    async fn a_late_wake_up_does_not_push_the_schedule_back() {
        // 3.33 ms apart: every wake-up is late, since tokio's timer fires on whole
        // milliseconds. Keeping the slots, 301 starts take 1 s (to the tick); pushed back by
        // each late wake-up, they took 301 × 4 ms.
        let times = queued_starts(Rate::per_second(300), 301).await;
        let last = *times.last().unwrap();
        assert!(last >= Duration::from_secs(1), "{last:?}");
        assert!(last <= Duration::from_millis(1001), "{last:?}");
        // No start before its slot: the k-th at k intervals or later.
        for (k, at) in times.iter().enumerate() {
            assert!(
                *at >= Duration::from_secs(1) * k as u32 / 300,
                "start {k} at {at:?}"
            );
        }
    }

    #[tokio::test(start_paused = true)]
    async fn without_catch_up_a_late_wake_up_pushes_the_schedule_back() {
        let strict = Rate::per_second(300).catch_up(Duration::ZERO);
        let times = queued_starts(strict, 301).await;
        // Textbook GCRA: never two starts closer than the interval, so every late wake-up is
        // lost (each start waits for the tick after 3.33 ms: 4 ms).
        for pair in times.windows(2) {
            assert!(pair[1] - pair[0] >= strict.interval(), "{pair:?}");
        }
        assert_eq!(*times.last().unwrap(), Duration::from_millis(1200));
    }

    #[tokio::test(start_paused = true)]
    async fn a_caller_after_a_quiet_spell_does_not_catch_up() {
        let pacer = Pacer::new(Some(Rate::per_second(10)));
        let start = Instant::now();
        pacer.start().await; // at 0; the next slot at 100 ms
        tokio::time::sleep(Duration::from_millis(105)).await;
        // Arrives 5 ms after the slot, within the catch-up, but it did not wait for it: the
        // schedule runs from now, so the next start is 100 ms later, not 95.
        pacer.start().await;
        pacer.start().await;
        assert_eq!(start.elapsed(), Duration::from_millis(205));
    }

    #[tokio::test(start_paused = true)]
    async fn a_stall_longer_than_the_catch_up_is_given_up_not_burst() {
        let pacer = Pacer::new(Some(Rate::per_second(100)));
        let start = Instant::now();
        pacer.start().await; // slot 0; next at 10 ms
        let since = Instant::now();
        tokio::time::sleep(Duration::from_millis(60)).await; // a 50 ms stall past the slot
                                                             // It keeps 10 ms of its lateness (the catch-up): one more start now, then the slots
                                                             // go on from 70 ms; not from 20 ms, which would let six starts through at once.
        assert_eq!(pacer.try_start(Instant::now(), Some(since)), Ok(()));
        assert_eq!(pacer.try_start(Instant::now(), Some(since)), Ok(()));
        assert_eq!(
            pacer.try_start(Instant::now(), Some(since)),
            Err(start + Duration::from_millis(70))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn the_longest_rates_do_not_overflow() {
        let forever = Rate::new(1, Duration::MAX);
        assert_eq!(forever.interval(), Rate::MAX_INTERVAL);
        // A burst allowance is at most a century too: two starts of a century each.
        let pacer = Pacer::new(Some(forever.burst(u32::MAX).catch_up(Duration::MAX)));
        for _ in 0..2 {
            assert_eq!(
                pacer.try_start(Instant::now(), Some(Instant::now())),
                Ok(())
            );
        }
        assert!(pacer
            .try_start(Instant::now(), Some(Instant::now()))
            .is_err());
        let pacer = Pacer::new(Some(Rate::per_second(1000).burst(u32::MAX)));
        for _ in 0..1000 {
            assert_eq!(pacer.try_start(Instant::now(), None), Ok(()));
        }
        let pacer = Pacer::new(Some(forever));
        assert_eq!(pacer.try_start(Instant::now(), None), Ok(()));
        let next = pacer.try_start(Instant::now(), None).unwrap_err();
        assert!(next >= Instant::now() + Duration::from_secs(99 * 365 * 24 * 3600));
        // Rescaling what is owed to the longest and back.
        pacer.set_rate(Some(Rate::new(1, Duration::from_nanos(1))));
        pacer.set_rate(Some(forever));
        pacer.set_rate(Some(Rate::per_second(1)));
        assert!(pacer.try_start(Instant::now(), None).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_raised_rate_wakes_the_waiter_and_rescales_what_is_owed() {
        let pacer = Pacer::new(Some(Rate::new(1, Duration::from_secs(60))));
        let start = Instant::now();
        pacer.start().await; // at 0; the next is due at 60 s
        let waiter = tokio::spawn({
            let pacer = pacer.clone();
            async move {
                pacer.start().await;
                start.elapsed()
            }
        });
        tokio::time::sleep(Duration::from_secs(1)).await;
        pacer.set_rate(Some(Rate::per_second(10)));
        // 59 s owed at one a minute is just under one start owed: 100 ms at ten a second.
        let waited = waiter.await.unwrap();
        assert!(waited > Duration::from_secs(1), "{waited:?}");
        assert!(waited <= Duration::from_millis(1100), "{waited:?}");
        pacer.set_rate(None);
        let before = start.elapsed();
        for _ in 0..100 {
            pacer.start().await;
        }
        assert_eq!(start.elapsed(), before, "a lifted rate holds nothing back");
    }
}
