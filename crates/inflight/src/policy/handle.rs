//! [`RunHandle`] and the state it reaches: what a builder shares with its clones and its runs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::task::Waker;
use std::time::Duration;

use tokio::time::Instant;

use super::progress::Progress;
use super::throttle::rate::{Pacer, Rate};
use crate::limits::adaptive::{Controller, Reply};
use crate::limits::limit::Limit;
use crate::limits::limiter::Limiter;

/// Changes the limit and the rate of an [`Inflight`](crate::Inflight) builder while its runs go
/// on: every run made from it (and from its clones) follows at once. Got from
/// [`Inflight::handle`](crate::Inflight::handle); cloneable, `Send` and `Sync`. Its
/// [`limit`](RunHandle::limit) is where an [adaptive](crate::Limit::adaptive) limit is now.
///
/// ```
/// let builder = inflight::Inflight::new(4);
/// let handle = builder.handle();
/// handle.set_limit(16);
/// handle.set_rate(Some(inflight::Rate::per_second(100)));
/// assert_eq!(handle.limit(), 16);
/// ```
#[derive(Debug, Clone)]
pub struct RunHandle {
    pub(crate) control: Arc<Control>,
}

/// What a builder shares with its clones and its runs.
#[derive(Debug)]
pub(crate) struct Control {
    /// The limit: a slot of it is held by every input in flight, in every run.
    pub(crate) limiter: Limiter,
    pub(crate) pacer: Pacer,
    pub(crate) progress: OnceLock<Progress>,
    /// The consumers of live runs, one entry per run, woken when the limit is raised so the
    /// new slots fill at once (a run at its limit polls nothing that the raise would wake).
    runs: Mutex<Runs>,
    /// The controller of an adaptive limit, which sets the limiter's limit; `None` for a fixed
    /// one. `adapting` says which without the lock, so a fixed limit costs one load per input.
    adaptive: Mutex<Option<Controller>>,
    adapting: AtomicBool,
    /// The largest the limit can be (the fixed limit, or the adaptive max): the default size of
    /// what is sized by the limit.
    most: AtomicUsize,
}

#[derive(Debug, Default)]
struct Runs {
    next_id: u64,
    waiting: HashMap<u64, Waker>,
}

impl Control {
    /// The caller has checked `limit`.
    pub(crate) fn new(limit: Limit) -> Arc<Control> {
        let (initial, controller) = limit.start(None);
        Arc::new(Control {
            limiter: Limiter::new(initial),
            pacer: Pacer::new(None),
            progress: OnceLock::new(),
            runs: Mutex::default(),
            adapting: AtomicBool::new(controller.is_some()),
            adaptive: Mutex::new(controller),
            most: AtomicUsize::new(limit.most()),
        })
    }

    /// Replaces the limit: a number fixes it, an adaptive limit adapts from the one in force.
    pub(crate) fn set_limit(&self, limit: Limit) {
        {
            // Under the lock, so a controller's change cannot land after this one.
            let mut adaptive = lock(&self.adaptive);
            let (value, controller) = limit.start(Some(self.limiter.limit()));
            self.adapting.store(controller.is_some(), Ordering::Relaxed);
            *adaptive = controller;
            self.most.store(limit.most(), Ordering::Relaxed);
            self.limiter.set_limit(value);
        }
        self.wake_runs();
    }

    /// Whether the limit adapts: whether attempts should be timed for it.
    pub(crate) fn adapts(&self) -> bool {
        self.adapting.load(Ordering::Relaxed)
    }

    /// The largest the limit can be.
    pub(crate) fn most(&self) -> usize {
        self.most.load(Ordering::Relaxed)
    }

    /// One attempt's end, for an adaptive limit: how long it took and whether it was a drop.
    /// The limit's change (from, to), if it moved.
    pub(crate) fn replied(&self, latency: Duration, dropped: bool) -> Option<(usize, usize)> {
        let changed = {
            let mut adaptive = lock(&self.adaptive);
            let controller = adaptive.as_mut()?;
            let from = controller.limit();
            let to = controller.record(Reply {
                now: Instant::now(),
                latency,
                in_flight: self.limiter.in_flight(),
                dropped,
            })?;
            self.limiter.set_limit(to);
            (from, to)
        };
        if changed.1 > changed.0 {
            self.wake_runs();
        }
        Some(changed)
    }

    /// A number for a new run, under which it registers its consumer.
    pub(crate) fn run_id(&self) -> u64 {
        let mut runs = self.lock();
        runs.next_id += 1;
        runs.next_id
    }

    /// Registers (or replaces) the consumer of run `id`, to be woken by a raise.
    pub(crate) fn register(&self, id: u64, waker: &Waker) {
        let mut runs = self.lock();
        match runs.waiting.get_mut(&id) {
            Some(registered) if registered.will_wake(waker) => {}
            Some(registered) => registered.clone_from(waker),
            None => {
                runs.waiting.insert(id, waker.clone());
            }
        }
    }

    /// Forgets run `id` (it ended, or was dropped).
    pub(crate) fn forget(&self, id: u64) {
        self.lock().waiting.remove(&id);
    }

    fn wake_runs(&self) {
        let wakers: Vec<Waker> = self.lock().waiting.drain().map(|(_, w)| w).collect();
        for waker in wakers {
            waker.wake();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Runs> {
        lock(&self.runs)
    }
}

/// Every critical section here leaves its state consistent before anything can panic.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl RunHandle {
    /// Sets the limit of every run of the builder together: a raise fills the new slots at
    /// once; a cut lets running tasks finish (none is cancelled) and starts nothing new until
    /// fewer than the new limit run. A limit of 0 pauses: nothing new starts until it is raised.
    /// A number fixes the limit (an adaptive one stops adapting); an adaptive limit adapts from
    /// the limit in force, unless given an [`initial`](crate::AdaptiveLimit::initial) value.
    ///
    /// ```
    /// let handle = inflight::Inflight::new(1).handle();
    /// handle.set_limit(3);
    /// assert_eq!(handle.limit(), 3);
    /// handle.set_limit(0); // pause
    /// assert_eq!(handle.limit(), 0);
    /// handle.set_limit(inflight::Limit::adaptive().initial(8));
    /// assert_eq!(handle.limit(), 8);
    /// ```
    pub fn set_limit(&self, limit: impl Into<Limit>) {
        self.control.set_limit(limit.into());
    }

    /// The limit now: the fixed limit, or where an adaptive one is.
    ///
    /// ```
    /// assert_eq!(inflight::Inflight::new(7).handle().limit(), 7);
    /// ```
    pub fn limit(&self) -> usize {
        self.control.limiter.limit()
    }

    /// How many inputs hold a slot of the limit now, in all the builder's runs together
    /// (started, or waiting for a shared limit or the rate).
    ///
    /// ```
    /// assert_eq!(inflight::Inflight::new(7).handle().in_flight(), 0);
    /// ```
    pub fn in_flight(&self) -> usize {
        self.control.limiter.in_flight()
    }

    /// Sets the rate of starts, or lifts it with `None`. Takes effect at once, for starts and
    /// retries that are already waiting too.
    ///
    /// ```
    /// let handle = inflight::Inflight::new(1).handle();
    /// handle.set_rate(None);
    /// assert_eq!(handle.rate(), None);
    /// ```
    pub fn set_rate(&self, rate: Option<Rate>) {
        self.control.pacer.set_rate(rate);
    }

    /// The rate now.
    ///
    /// ```
    /// let rate = inflight::Rate::per_second(5);
    /// assert_eq!(inflight::Inflight::new(1).rate(rate).handle().rate(), Some(rate));
    /// ```
    pub fn rate(&self) -> Option<Rate> {
        self.control.pacer.rate()
    }
}
