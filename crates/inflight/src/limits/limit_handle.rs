//! [`LimitHandle`]: a cloneable handle that changes a plain stream's limit from another task
//! while the consumer awaits the stream (the builder's runs have [`RunHandle`](crate::RunHandle)).

use std::fmt;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Waker};

use crate::limits::limit::{IntoLimit, Limit};

/// Changes the limit of an [`AsCompleted`](crate::AsCompleted) or [`Ordered`](crate::Ordered)
/// stream from anywhere: another task, a signal handler, a controller of your own. Got from
/// the stream's `limit_handle()` (before the stream is handed to its consumer, or wrapped in
/// [`drive`](crate::drive)); cloneable, `Send` and `Sync`.
///
/// A change applies at the stream's next poll, and wakes the consumer for it, so a raise fills
/// the new slots at once even while the consumer awaits `next()` with every slot busy; a cut
/// lets running futures finish and starts nothing until fewer than the new limit run; 0
/// pauses. It means what the stream's own `set_limit` means: a stream made with a number takes
/// numbers, one made with a [`Limit`] takes any limit, adaptive too. A handle outliving its
/// stream changes nothing.
///
/// ```
/// use futures::StreamExt;
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let start = tokio::time::Instant::now();
/// let tasks = (0..8).map(|i| async move {
///     tokio::time::sleep(Duration::from_secs(1)).await;
///     i
/// });
/// let mut stream = inflight::as_completed(tasks, 1);
/// let handle = stream.limit_handle();
/// // Another task raises the limit at 0.5 s, while the consumer waits on the first output.
/// tokio::spawn(async move {
///     tokio::time::sleep(Duration::from_millis(500)).await;
///     handle.set_limit(4);
/// });
/// let all: Vec<u32> = stream.collect().await;
/// assert_eq!(all.len(), 8);
/// // 0 runs from 0 s; 1, 2, 3 start at 0.5 s; then the rest as slots free: done at 2.5 s.
/// assert_eq!(start.elapsed(), Duration::from_millis(2500));
/// # }
/// ```
pub struct LimitHandle<L: IntoLimit = usize> {
    remote: Arc<Remote>,
    kept: PhantomData<fn() -> L>,
}

impl<L: IntoLimit> LimitHandle<L> {
    pub(crate) fn new(remote: Arc<Remote>) -> Self {
        LimitHandle {
            remote,
            kept: PhantomData,
        }
    }

    /// The stream's limit as of its last poll or change (where an adaptive limit is).
    ///
    /// ```
    /// let mut stream = inflight::as_completed([async { 1 }], 3);
    /// assert_eq!(stream.limit_handle().limit(), 3);
    /// ```
    pub fn limit(&self) -> usize {
        self.remote.limit.load(Ordering::Acquire)
    }
}

impl LimitHandle<usize> {
    /// Changes the limit (0 pauses); see [`LimitHandle`].
    ///
    /// ```
    /// let mut stream = inflight::as_completed([async { 1 }], 3);
    /// let handle = stream.limit_handle();
    /// handle.set_limit(5);
    /// assert_eq!(handle.limit(), 5);
    /// ```
    pub fn set_limit(&self, limit: usize) {
        self.remote.request(Limit::fixed(limit), limit);
    }
}

impl LimitHandle<Limit> {
    /// Changes the limit: a number fixes it (0 pauses), an adaptive limit adapts from the one
    /// in force; see [`LimitHandle`].
    ///
    /// ```
    /// let mut stream = inflight::as_completed([async { 1 }], inflight::Limit::adaptive());
    /// let handle = stream.limit_handle();
    /// handle.set_limit(7);
    /// assert_eq!(handle.limit(), 7);
    /// handle.set_limit(inflight::Limit::adaptive().max(50));
    /// ```
    pub fn set_limit(&self, limit: impl Into<Limit>) {
        let limit = limit.into();
        // An adaptive limit's value shows once the stream has taken it.
        let shown = limit.as_fixed().unwrap_or_else(|| self.limit());
        self.remote.request(limit, shown);
    }
}

impl<L: IntoLimit> Clone for LimitHandle<L> {
    fn clone(&self) -> Self {
        LimitHandle::new(self.remote.clone())
    }
}

impl<L: IntoLimit> fmt::Debug for LimitHandle<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LimitHandle")
            .field("limit", &self.limit())
            .finish()
    }
}

/// What a stream and its handles share.
#[derive(Debug)]
pub(crate) struct Remote {
    /// A change waits here until the stream's next poll takes it.
    requested: Mutex<Option<Limit>>,
    changed: AtomicBool,
    /// The consumer, while the stream is pending: woken by a change.
    consumer: Mutex<Option<Waker>>,
    /// The stream's limit, for [`LimitHandle::limit`].
    limit: AtomicUsize,
}

impl Remote {
    pub(crate) fn new(limit: usize) -> Arc<Remote> {
        Arc::new(Remote {
            requested: Mutex::new(None),
            changed: AtomicBool::new(false),
            consumer: Mutex::new(None),
            limit: AtomicUsize::new(limit),
        })
    }

    fn request(&self, limit: Limit, shown: usize) {
        *lock(&self.requested) = Some(limit);
        self.limit.store(shown, Ordering::Release);
        self.changed.store(true, Ordering::Release);
        if let Some(consumer) = lock(&self.consumer).take() {
            consumer.wake();
        }
    }

    /// A change to apply before this poll, if one was asked for.
    pub(crate) fn take(&self) -> Option<Limit> {
        if !self.changed.swap(false, Ordering::AcqRel) {
            return None;
        }
        lock(&self.requested).take()
    }

    /// After a poll: the limit now, and, if the stream is pending, the consumer to wake on a
    /// change (woken at once if one came in meanwhile).
    pub(crate) fn after_poll(&self, limit: usize, pending: bool, cx: &Context<'_>) {
        self.limit.store(limit, Ordering::Release);
        if pending {
            let mut consumer = lock(&self.consumer);
            match &mut *consumer {
                Some(waker) if waker.will_wake(cx.waker()) => {}
                slot => *slot = Some(cx.waker().clone()),
            }
            drop(consumer);
            if self.changed.load(Ordering::Acquire) {
                cx.waker().wake_by_ref();
            }
        }
    }

    /// The stream's own `set_limit` changed it.
    pub(crate) fn set(&self, limit: usize) {
        self.limit.store(limit, Ordering::Release);
    }
}

/// Every critical section here leaves its value valid.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
