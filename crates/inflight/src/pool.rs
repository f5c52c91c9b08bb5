//! [`Pool`]: push-style task pool whose `spawn` waits for a free slot.

use std::future::Future;

use tokio::task::JoinSet;

use crate::limiter::Limiter;
use crate::task_error::TaskError;

/// A pool of tokio tasks, at most `limit` running at once, whose [`spawn`](Pool::spawn) waits
/// for a free slot: a producer that makes work faster than it is done is held back
/// (backpressure) instead of piling tasks up in memory.
///
/// Tasks run on the tokio runtime, so CPU work uses every core of a multi-threaded runtime. A
/// task's output, or its panic as a [`TaskError`], stays in the pool until taken by
/// [`join_next`](Pool::join_next) or [`join_all`](Pool::join_all): nothing is lost, and a panic
/// never stops the pool. Take outputs as they come (as in the example) to keep memory
/// proportional to the limit; outputs never taken accumulate. Dropping the pool aborts every
/// task in it.
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
/// let mut pool = inflight::Pool::new(3);
/// let mut done = 0;
/// for code in 0..9u64 {
///     pool.spawn(async move {
///         tokio::time::sleep(Duration::from_secs(1 + code % 3)).await;
///         code
///     })
///     .await;
///     // Take what has finished so far, so memory stays bounded.
///     while let Some(result) = pool.try_join_next() {
///         result.unwrap();
///         done += 1;
///     }
/// }
/// done += pool.join_all().await.len();
/// assert_eq!(done, 9);
/// # }
/// ```
pub struct Pool<T> {
    limiter: Limiter,
    tasks: JoinSet<T>,
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
        crate::limit::check_limit(limit, "Pool::new: limit");
        Pool {
            limiter: Limiter::new(limit),
            tasks: JoinSet::new(),
        }
    }

    /// Waits until fewer than `limit` tasks are running, then spawns `task` on the runtime.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut pool = inflight::Pool::new(1);
    /// pool.spawn(async { 1 }).await;
    /// assert_eq!(pool.join_next().await.unwrap().unwrap(), 1);
    /// # }
    /// ```
    pub async fn spawn<F>(&mut self, task: F)
    where
        F: Future<Output = T> + Send + 'static,
    {
        let permit = self.limiter.acquire().await;
        self.tasks.spawn(async move {
            let output = task.await;
            // The slot frees when the task ends, not when its output is taken.
            drop(permit);
            output
        });
    }

    /// Waits for the next task to finish and returns its output, or `None` when the pool holds
    /// no task.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut pool = inflight::Pool::new(2);
    /// pool.spawn(async { panic!("boom") }).await;
    /// let error = pool.join_next().await.unwrap().unwrap_err();
    /// assert_eq!(error.to_string(), "task panicked: boom");
    /// assert!(pool.join_next().await.is_none());
    /// # }
    /// ```
    pub async fn join_next(&mut self) -> Option<Result<T, TaskError>> {
        Some(self.tasks.join_next().await?.map_err(TaskError::from))
    }

    /// Returns the output of a task that has already finished, if any, without waiting.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut pool = inflight::Pool::<u8>::new(2);
    /// assert!(pool.try_join_next().is_none());
    /// # }
    /// ```
    pub fn try_join_next(&mut self) -> Option<Result<T, TaskError>> {
        Some(self.tasks.try_join_next()?.map_err(TaskError::from))
    }

    /// Waits for every task in the pool and returns their outputs in completion order.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut pool = inflight::Pool::new(2);
    /// for i in 0..3 {
    ///     pool.spawn(async move { i }).await;
    /// }
    /// let mut outputs: Vec<i32> = pool.join_all().await.into_iter().map(Result::unwrap).collect();
    /// outputs.sort();
    /// assert_eq!(outputs, [0, 1, 2]);
    /// # }
    /// ```
    pub async fn join_all(&mut self) -> Vec<Result<T, TaskError>> {
        let mut outputs = Vec::with_capacity(self.tasks.len());
        while let Some(output) = self.join_next().await {
            outputs.push(output);
        }
        outputs
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
    /// assert!(inflight::Pool::<()>::new(2).is_empty());
    /// ```
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    /// Whether the pool holds no task.
    ///
    /// ```
    /// assert!(inflight::Pool::<()>::new(2).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
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
}

impl<T> std::fmt::Debug for Pool<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("limiter", &self.limiter)
            .field("tasks", &self.tasks.len())
            .finish()
    }
}
