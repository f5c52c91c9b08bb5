//! [`Limiter`]: a shared concurrency limit that can be resized while in use.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Semaphore;

use crate::block_on::block_on;
use crate::limit_check::check_limit;

/// A cloneable concurrency limit shared by every clone: at most `limit` permits out at once.
///
/// It is built on tokio's semaphore, which already does the hard part right: waiters are served
/// in arrival order, a released permit is handed to the waiter it wakes (a task arriving in
/// between cannot take it), and a waiter dropped before it is served gives back whatever it was
/// assigned. On top of it `Limiter` adds resizing, weights and counting. It needs no runtime:
/// it works from any executor and, through [`Limiter::acquire_blocking`], from plain threads.
///
/// # Example
///
/// ```
/// use inflight::Limiter;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let limiter = Limiter::new(2);
/// let download = |n: u32| {
///     let limiter = limiter.clone();
///     async move { limiter.run(async move { n * 10 }).await }
/// };
/// assert_eq!(download(4).await, 40);
/// assert_eq!(limiter.in_flight(), 0);
/// # }
/// ```
#[derive(Clone)]
pub struct Limiter {
    shared: Arc<Shared>,
}

struct Shared {
    /// Permits are taken out of it and put back by count (`forget` and `add_permits`), not held
    /// as tokio's owned permits: those clone and drop an `Arc` of the semaphore per permit.
    semaphore: Semaphore,
    in_flight: AtomicUsize,
    /// `resize.limit`, readable without the lock (the streams of a builder read it every poll).
    limit: AtomicUsize,
    /// The limit and the permits still to be taken out of circulation after it was lowered.
    resize: Mutex<Resize>,
}

struct Resize {
    limit: usize,
    /// Permits held by tasks above a lowered limit: each is forgotten instead of returned.
    debt: usize,
}

/// A permit of a [`Limiter`]: it counts against the limit until dropped.
///
/// ```
/// let limiter = inflight::Limiter::new(1);
/// let permit = limiter.try_acquire().expect("a free permit");
/// assert!(limiter.try_acquire().is_none());
/// drop(permit);
/// assert!(limiter.try_acquire().is_some());
/// ```
#[must_use = "the permit is released as soon as it is dropped"]
pub struct Permit {
    shared: Arc<Shared>,
    weight: usize,
}

impl Limiter {
    /// A limiter that lets `limit` permits out at once.
    ///
    /// # Panics
    ///
    /// If `limit` is 0, or larger than tokio's semaphore allows (`usize::MAX >> 3`).
    ///
    /// ```
    /// assert_eq!(inflight::Limiter::new(3).limit(), 3);
    /// ```
    #[track_caller]
    pub fn new(limit: usize) -> Limiter {
        check_limit(limit, "Limiter::new: limit");
        assert!(
            limit <= Semaphore::MAX_PERMITS,
            "Limiter::new: limit must be at most {}, got {limit}",
            Semaphore::MAX_PERMITS
        );
        Limiter {
            shared: Arc::new(Shared {
                semaphore: Semaphore::new(limit),
                in_flight: AtomicUsize::new(0),
                limit: AtomicUsize::new(limit),
                resize: Mutex::new(Resize { limit, debt: 0 }),
            }),
        }
    }

    /// Waits for one permit. Waiters are served in arrival order.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let limiter = inflight::Limiter::new(1);
    /// let permit = limiter.acquire().await;
    /// assert_eq!(limiter.in_flight(), 1);
    /// drop(permit);
    /// assert_eq!(limiter.in_flight(), 0);
    /// # });
    /// ```
    pub async fn acquire(&self) -> Permit {
        self.acquire_many(1).await
    }

    /// Waits for `weight` permits at once, for a task that counts as several (as Go's
    /// `semaphore.Weighted`). A heavy waiter at the head of the queue holds back lighter ones
    /// behind it, so it is not starved. A weight above the limit waits until the limit is raised.
    ///
    /// # Panics
    ///
    /// If `weight` is above `u32::MAX`.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let limiter = inflight::Limiter::new(4);
    /// let heavy = limiter.acquire_many(3).await;
    /// assert_eq!(limiter.in_flight(), 3);
    /// assert!(limiter.try_acquire_many(2).is_none());
    /// drop(heavy);
    /// # });
    /// ```
    pub async fn acquire_many(&self, weight: usize) -> Permit {
        self.shared
            .semaphore
            .acquire_many(weight_u32(weight))
            .await
            .expect("the semaphore is never closed")
            .forget();
        self.wrap(weight)
    }

    /// Takes one permit if one is free now.
    ///
    /// ```
    /// let limiter = inflight::Limiter::new(1);
    /// let _held = limiter.try_acquire().unwrap();
    /// assert!(limiter.try_acquire().is_none());
    /// ```
    pub fn try_acquire(&self) -> Option<Permit> {
        self.try_acquire_many(1)
    }

    /// Takes `weight` permits if they are free now and nobody waits before.
    ///
    /// ```
    /// let limiter = inflight::Limiter::new(3);
    /// assert!(limiter.try_acquire_many(3).is_some());
    /// ```
    pub fn try_acquire_many(&self, weight: usize) -> Option<Permit> {
        self.shared
            .semaphore
            .try_acquire_many(weight_u32(weight))
            .ok()?
            .forget();
        Some(self.wrap(weight))
    }

    /// Blocks the calling thread until a permit is free, for code that is not async.
    ///
    /// # Panics
    ///
    /// When called from async code running on a tokio runtime, where blocking the thread could
    /// deadlock (the permit may only come back through a task of that same thread): like
    /// tokio's own blocking calls, it panics with tokio's message instead. Use
    /// [`acquire`](Limiter::acquire) there, or call it from `spawn_blocking`.
    ///
    /// ```
    /// let limiter = inflight::Limiter::new(1);
    /// let worker = {
    ///     let limiter = limiter.clone();
    ///     std::thread::spawn(move || {
    ///         let _permit = limiter.acquire_blocking();
    ///         7
    ///     })
    /// };
    /// assert_eq!(worker.join().unwrap(), 7);
    /// ```
    pub fn acquire_blocking(&self) -> Permit {
        // tokio knows whether this thread drives async tasks; its own blocking receive asks it
        // (and panics with its clear message) before it would block, which this one never does.
        let (sender, receiver) = tokio::sync::oneshot::channel::<()>();
        let _ = sender.send(());
        let _ = receiver.blocking_recv();
        block_on(self.acquire())
    }

    /// Runs `future` while holding a permit: the seeds' limiting decorator, not bound to any
    /// event loop.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// let limiter = inflight::Limiter::new(2);
    /// assert_eq!(limiter.run(async { 5 }).await, 5);
    /// # });
    /// ```
    pub async fn run<F: Future>(&self, future: F) -> F::Output {
        let _permit = self.acquire().await;
        future.await
    }

    /// Changes the limit. Raising it serves waiters at once; lowering it takes no permit back:
    /// holders finish, and each permit they release above the new limit is retired. A limit of
    /// 0 pauses: nothing is granted until it is raised again.
    ///
    /// # Panics
    ///
    /// If `limit` is larger than `usize::MAX >> 3`.
    ///
    /// ```
    /// let limiter = inflight::Limiter::new(1);
    /// let _a = limiter.try_acquire().unwrap();
    /// limiter.set_limit(2);
    /// let _b = limiter.try_acquire().expect("raised at once");
    /// limiter.set_limit(1);
    /// assert_eq!(limiter.in_flight(), 2); // held permits are never revoked
    /// ```
    pub fn set_limit(&self, limit: usize) {
        assert!(
            limit <= Semaphore::MAX_PERMITS,
            "set_limit: limit must be at most {}, got {limit}",
            Semaphore::MAX_PERMITS
        );
        let mut resize = self.shared.lock_resize();
        if limit >= resize.limit {
            let raise = limit - resize.limit;
            let repaid = raise.min(resize.debt);
            resize.debt -= repaid;
            self.shared.semaphore.add_permits(raise - repaid);
        } else {
            let lower = resize.limit - limit;
            let retired = self.shared.semaphore.forget_permits(lower);
            resize.debt += lower - retired;
        }
        resize.limit = limit;
        self.shared.limit.store(limit, Ordering::Release);
    }

    /// The current limit.
    ///
    /// ```
    /// assert_eq!(inflight::Limiter::new(5).limit(), 5);
    /// ```
    pub fn limit(&self) -> usize {
        self.shared.limit.load(Ordering::Acquire)
    }

    /// A permit now if one is free, else waits for one through `waiting` (kept by the caller
    /// between polls, so the place in the queue is kept too).
    pub(crate) fn poll_acquire(
        &self,
        cx: &mut std::task::Context<'_>,
        waiting: &mut Option<std::pin::Pin<Box<dyn Future<Output = Permit> + Send>>>,
    ) -> std::task::Poll<Permit> {
        if waiting.is_none() {
            if let Some(permit) = self.try_acquire() {
                return std::task::Poll::Ready(permit);
            }
            let limiter = self.clone();
            *waiting = Some(Box::pin(async move { limiter.acquire().await }));
        }
        let polled = waiting.as_mut().expect("set above").as_mut().poll(cx);
        if polled.is_ready() {
            *waiting = None;
        }
        polled
    }

    /// How many permits are held now (by weight).
    ///
    /// ```
    /// let limiter = inflight::Limiter::new(5);
    /// let _p = limiter.try_acquire_many(2).unwrap();
    /// assert_eq!(limiter.in_flight(), 2);
    /// ```
    pub fn in_flight(&self) -> usize {
        self.shared.in_flight.load(Ordering::Acquire)
    }

    /// A permit for `weight` permits just taken out of the semaphore.
    fn wrap(&self, weight: usize) -> Permit {
        self.shared.in_flight.fetch_add(weight, Ordering::AcqRel);
        Permit {
            shared: self.shared.clone(),
            weight,
        }
    }
}

#[track_caller]
fn weight_u32(weight: usize) -> u32 {
    u32::try_from(weight).unwrap_or_else(|_| {
        panic!(
            "acquire_many: weight must be at most {}, got {weight}",
            u32::MAX
        )
    })
}

impl Shared {
    fn lock_resize(&self) -> std::sync::MutexGuard<'_, Resize> {
        // Every critical section leaves `Resize` consistent before anything can panic.
        self.resize.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Permit {
    /// How many permits this one counts for.
    ///
    /// ```
    /// let limiter = inflight::Limiter::new(5);
    /// assert_eq!(limiter.try_acquire_many(2).unwrap().weight(), 2);
    /// ```
    pub fn weight(&self) -> usize {
        self.weight
    }
}

impl Drop for Permit {
    fn drop(&mut self) {
        // Under the resize lock, so a concurrent `set_limit` sees the debt and the semaphore
        // agree.
        let mut resize = self.shared.lock_resize();
        let repaid = self.weight.min(resize.debt);
        resize.debt -= repaid;
        self.shared
            .in_flight
            .fetch_sub(self.weight, Ordering::AcqRel);
        // What is not retired goes back to the semaphore, which hands it to the first waiter.
        self.shared.semaphore.add_permits(self.weight - repaid);
    }
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("limit", &self.limit())
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

impl std::fmt::Debug for Permit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Permit")
            .field("weight", &self.weight)
            .finish()
    }
}
