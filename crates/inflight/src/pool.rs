//! [`Pool`]: push-style task pool whose `spawn` waits for a free slot.

use std::future::Future;
use std::sync::Mutex;
use std::task::{Poll, Waker};

use tokio::task::JoinSet;

use crate::limiter::Limiter;
use crate::task_error::TaskError;

/// A pool of tokio tasks, at most `limit` running at once, whose [`spawn`](Pool::spawn) waits
/// for a free slot: a producer that makes work faster than it is done is held back
/// (backpressure) instead of piling tasks up in memory.
///
/// Every method takes `&self`, so a producer and a consumer work side by side (under
/// `tokio::join!`, or from tasks sharing an `Arc<Pool>`) without a lock of yours. Tasks run on
/// the tokio runtime, so CPU work uses every core of a multi-threaded runtime. A task's output,
/// or its panic as a [`TaskError`], stays in the pool until taken by
/// [`join_next`](Pool::join_next): nothing is lost, and a panic never stops the pool. Take
/// outputs as they come (as in the example) to keep memory proportional to the limit. Dropping
/// the pool aborts every task in it.
///
/// Must be used inside a tokio runtime.
///
/// # Example
///
/// ```
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let pool = inflight::Pool::new(3);
/// let producer = async {
///     for code in 0..9u64 {
///         pool.spawn(async move {
///             tokio::time::sleep(Duration::from_secs(1 + code % 3)).await;
///             code
///         })
///         .await;
///     }
///     pool.close(); // so the consumer knows when it has everything
/// };
/// let consumer = async {
///     let mut done = 0;
///     while let Some(result) = pool.join_next().await {
///         result.unwrap();
///         done += 1;
///     }
///     done
/// };
/// let ((), done) = tokio::join!(producer, consumer);
/// assert_eq!(done, 9);
/// # }
/// ```
pub struct Pool<T> {
    limiter: Limiter,
    state: Mutex<State<T>>,
    /// Consumers take turns: the task set wakes only the last one that polled it.
    consumers: tokio::sync::Mutex<()>,
}

struct State<T> {
    tasks: JoinSet<T>,
    closed: bool,
    /// Spawns waiting for a slot: a pool closed meanwhile still takes them, so `join_next`
    /// waits for them too.
    pending: usize,
    /// A consumer waiting on an empty, open pool: woken by the next spawn or by `close`.
    waiting: Option<Waker>,
}

impl<T: Send + 'static> Pool<T> {
    /// A pool that runs at most `limit` tasks at once.
    ///
    /// # Panics
    ///
    /// If `limit` is 0.
    ///
    /// ```
    /// let pool = inflight::Pool::<()>::new(4);
    /// assert_eq!(pool.limiter().limit(), 4);
    /// ```
    #[track_caller]
    pub fn new(limit: usize) -> Self {
        crate::limit_check::check_limit(limit, "Pool::new: limit");
        Pool {
            limiter: Limiter::new(limit),
            state: Mutex::new(State {
                tasks: JoinSet::new(),
                closed: false,
                pending: 0,
                waiting: None,
            }),
            consumers: tokio::sync::Mutex::new(()),
        }
    }

    /// Waits until fewer than `limit` tasks are running, then spawns `task` on the runtime.
    /// A spawn that was already waiting when the pool was [closed](Pool::close) still goes in.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime, or when called once the pool is closed.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = inflight::Pool::new(1);
    /// pool.spawn(async { 1 }).await;
    /// assert_eq!(pool.join_next().await.unwrap().unwrap(), 1);
    /// # }
    /// ```
    pub async fn spawn<F>(&self, task: F)
    where
        F: Future<Output = T> + Send + 'static,
    {
        {
            let mut state = self.lock();
            assert!(!state.closed, "Pool::spawn: the pool is closed");
            state.pending += 1;
        }
        // Counted out when dropped while waiting, or below with the spawn (in one critical
        // section, so a consumer never sees neither the pending spawn nor its task).
        let pending = Pending(self);
        let permit = self.limiter.acquire().await;
        let mut state = self.lock();
        std::mem::forget(pending);
        state.pending -= 1;
        state.tasks.spawn(async move {
            let output = task.await;
            // The slot frees when the task ends, not when its output is taken.
            drop(permit);
            output
        });
        if let Some(consumer) = state.waiting.take() {
            consumer.wake();
        }
    }

    /// Spawns no more tasks: once the tasks in the pool are taken,
    /// [`join_next`](Pool::join_next) returns `None`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = inflight::Pool::<u8>::new(1);
    /// pool.close();
    /// assert!(pool.join_next().await.is_none());
    /// # }
    /// ```
    pub fn close(&self) {
        let mut state = self.lock();
        state.closed = true;
        if let Some(consumer) = state.waiting.take() {
            consumer.wake();
        }
    }

    /// Waits for the next task to finish and returns its output (or its panic). Returns `None`
    /// once the pool is closed and holds no task; while it is open and empty, waits for a spawn.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = inflight::Pool::new(2);
    /// pool.spawn(async { panic!("boom") }).await;
    /// let error = pool.join_next().await.unwrap().unwrap_err();
    /// assert_eq!(error.to_string(), "task panicked: boom");
    /// pool.close();
    /// assert!(pool.join_next().await.is_none());
    /// # }
    /// ```
    pub async fn join_next(&self) -> Option<Result<T, TaskError>> {
        self.next(true).await
    }

    /// Returns the output of a task that has already finished, if any, without waiting.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = inflight::Pool::<u8>::new(2);
    /// assert!(pool.try_join_next().is_none());
    /// # }
    /// ```
    pub fn try_join_next(&self) -> Option<Result<T, TaskError>> {
        Some(self.lock().tasks.try_join_next()?.map_err(TaskError::from))
    }

    /// Waits for every task in the pool now (running, or finished with an output not yet
    /// taken) and returns their outputs in completion order. It does not close the pool.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = inflight::Pool::new(2);
    /// for i in 0..3 {
    ///     pool.spawn(async move { i }).await;
    /// }
    /// let mut outputs: Vec<i32> = pool.join_all().await.into_iter().map(Result::unwrap).collect();
    /// outputs.sort();
    /// assert_eq!(outputs, [0, 1, 2]);
    /// # }
    /// ```
    pub async fn join_all(&self) -> Vec<Result<T, TaskError>> {
        let mut outputs = Vec::with_capacity(self.len());
        while let Some(output) = self.next(false).await {
            outputs.push(output);
        }
        outputs
    }

    /// The next output; `None` when the pool is empty and, if `wait_open`, closed.
    async fn next(&self, wait_open: bool) -> Option<Result<T, TaskError>> {
        let _turn = self.consumers.lock().await;
        std::future::poll_fn(|cx| {
            let mut state = self.lock();
            match state.tasks.poll_join_next(cx) {
                Poll::Ready(Some(joined)) => Poll::Ready(Some(joined.map_err(TaskError::from))),
                Poll::Ready(None) if !wait_open || (state.closed && state.pending == 0) => {
                    Poll::Ready(None)
                }
                Poll::Ready(None) => {
                    state.waiting = Some(cx.waker().clone());
                    Poll::Pending
                }
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    /// How many tasks are running now.
    ///
    /// ```
    /// assert_eq!(inflight::Pool::<()>::new(2).running(), 0);
    /// ```
    pub fn running(&self) -> usize {
        self.limiter.in_flight()
    }

    /// How many tasks are in the pool: running, or finished with an output not yet taken.
    ///
    /// ```
    /// assert_eq!(inflight::Pool::<()>::new(2).len(), 0);
    /// ```
    pub fn len(&self) -> usize {
        self.lock().tasks.len()
    }

    /// Whether the pool holds no task.
    ///
    /// ```
    /// assert!(inflight::Pool::<()>::new(2).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.lock().tasks.is_empty()
    }

    /// The pool's limiter, to read or change the limit while it runs.
    ///
    /// ```
    /// let pool = inflight::Pool::<()>::new(2);
    /// pool.limiter().set_limit(8);
    /// assert_eq!(pool.limiter().limit(), 8);
    /// ```
    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<T>> {
        // A spawn or a join cannot panic while it holds the lock but through an allocation
        // failure; the state stays valid, so poisoning is ignored.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A spawn waiting for its slot; counted out when it stops waiting.
struct Pending<'a, T: Send + 'static>(&'a Pool<T>);

impl<T: Send + 'static> Drop for Pending<'_, T> {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.pending -= 1;
        // A consumer waiting on a closed pool may now see its end.
        if let Some(consumer) = state.waiting.take() {
            consumer.wake();
        }
    }
}

impl<T> std::fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}
