//! [`RunHandle`]: change the limit and the rate of a run while it goes on.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Waker;

use super::rate::{Pacer, Rate};
use crate::limit::check_limit;

/// Changes the limit and rate of the runs of an [`Inflight`](crate::Inflight) while they go on.
/// Got from [`Inflight::handle`](crate::Inflight::handle); cloneable and `Send`.
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
    pub(crate) shared: Arc<Control>,
}

#[derive(Debug)]
pub(crate) struct Control {
    pub(crate) limit: AtomicUsize,
    pub(crate) pacer: Pacer,
    /// The consumers of runs, woken so a raised limit fills new slots at once.
    pub(crate) wakers: Mutex<Vec<Waker>>,
}

impl RunHandle {
    /// Sets the limit: a raise fills the new slots at once; a cut lets running tasks finish.
    ///
    /// # Panics
    ///
    /// If `limit` is 0.
    ///
    /// ```
    /// let handle = inflight::Inflight::new(1).handle();
    /// handle.set_limit(3);
    /// assert_eq!(handle.limit(), 3);
    /// ```
    #[track_caller]
    pub fn set_limit(&self, limit: usize) {
        check_limit(limit, "RunHandle::set_limit: limit");
        self.shared.limit.store(limit, Ordering::Release);
        self.wake();
    }

    /// The limit now.
    ///
    /// ```
    /// assert_eq!(inflight::Inflight::new(7).handle().limit(), 7);
    /// ```
    pub fn limit(&self) -> usize {
        self.shared.limit.load(Ordering::Acquire)
    }

    /// Sets the rate of starts, or lifts it with `None`.
    ///
    /// ```
    /// let handle = inflight::Inflight::new(1).handle();
    /// handle.set_rate(None);
    /// assert_eq!(handle.rate(), None);
    /// ```
    pub fn set_rate(&self, rate: Option<Rate>) {
        self.shared.pacer.set_rate(rate);
        self.wake();
    }

    /// The rate now.
    ///
    /// ```
    /// let rate = inflight::Rate::per_second(5);
    /// assert_eq!(inflight::Inflight::new(1).rate(rate).handle().rate(), Some(rate));
    /// ```
    pub fn rate(&self) -> Option<Rate> {
        self.shared.pacer.rate()
    }

    fn wake(&self) {
        let wakers =
            std::mem::take(&mut *self.shared.wakers.lock().unwrap_or_else(|e| e.into_inner()));
        for waker in wakers {
            waker.wake();
        }
    }
}
