//! [`Rate`]: a start-rate limit by GCRA, shared by every task of a run and changeable live.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// At most `burst + count * t / per` starts in any window of length `t`.
///
/// It is the generic cell rate algorithm (GCRA): starts are evenly spaced `per / count` apart,
/// and up to `burst` of them may come early, back to back, after a quiet spell. With the default
/// burst of 1, starts are simply spaced; no window ever holds a clump of `count` starts at its
/// edge, which is what fixed-window limiters do. Written here rather than taken from `governor`
/// because it is twenty lines on tokio's clock, so it is exact under a paused clock in tests.
///
/// ```
/// use std::time::Duration;
/// let rate = inflight::Rate::per_second(50).burst(5);
/// assert_eq!(rate.interval(), Duration::from_millis(20));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    interval: Duration,
    burst: u32,
}

impl Rate {
    /// `count` starts every `per`.
    ///
    /// # Panics
    ///
    /// If `count` is 0 or `per` is zero.
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
            interval: per / count,
            burst: 1,
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
}

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
    /// When the next start would be due if starts were perfectly spaced.
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
                    Some(now + new.interval.mul_f64(owed))
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
    pub(crate) fn try_start(&self, now: Instant) -> Result<(), Instant> {
        if !self.shared.limited.load(Ordering::Acquire) {
            return Ok(());
        }
        let mut state = self.lock();
        let Some(rate) = state.rate else {
            return Ok(());
        };
        let interval = rate.interval;
        let tolerance = interval * (rate.burst - 1);
        let due = state.next_due.unwrap_or(now);
        let earliest = due.checked_sub(tolerance).unwrap_or(due);
        if now < earliest {
            return Err(earliest);
        }
        state.next_due = Some(due.max(now) + interval);
        Ok(())
    }

    /// Waits until a start is allowed, then takes it. Waiters are served in arrival order.
    pub(crate) async fn start(&self) {
        if self.try_start_alone() {
            return;
        }
        let _turn = self.shared.turn.lock().await;
        loop {
            // Registered before the check, so a change between the two is not missed.
            let changed = self.shared.changed.notified();
            let mut changed = std::pin::pin!(changed);
            changed.as_mut().enable();
            let at = match self.try_start(Instant::now()) {
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
    fn try_start_alone(&self) -> bool {
        if !self.shared.limited.load(Ordering::Acquire) {
            return true;
        }
        match self.shared.turn.try_lock() {
            Ok(_turn) => self.try_start(Instant::now()).is_ok(),
            Err(_) => false,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PacerState> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }
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
