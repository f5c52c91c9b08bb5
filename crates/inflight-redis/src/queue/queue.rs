//! [`Queue`]: one named work queue on a Redis server.

use std::fmt;
use std::sync::Arc;

use super::inner::QueueInner;
use super::options::QueueOptions;
use super::results::{DeadLetter, Results};
use super::status::QueueStatus;
use super::worker::Items;
use crate::connection::Redis;
use crate::error::Error;
use crate::keys::QueueKeys;

/// A work queue: inputs pushed once, taken by workers on any machine, each finished input's
/// result recorded exactly once.
///
/// - **Push** ([`Queue::push`]) adds inputs in order, each at its position; it waits while
///   the queue holds `max_pending` untaken inputs, and a rerun after a kill skips what is in
///   already, so no input is pushed twice or skipped. [`Queue::close`] says no more will come.
/// - **Work** ([`Queue::items`]): a stream of [`QueueItem`](crate::QueueItem)s taken as it is
///   polled (so as slots free up); each item's lease is renewed while it is held, a dead
///   worker's items are claimed by others once idle for a lease, an item delivered
///   `max_deliveries` times goes to the dead letters. The stream ends when the queue is
///   closed and every input has its result or died.
/// - **Results** ([`QueueItem::ack`](crate::QueueItem::ack)) go to a results stream in the
///   same script as the acknowledgement; a per-position done bit makes it one result per
///   input even when an input ran twice. Read them with [`Queue::results`].
///
/// Execution is at least once; results are exactly once. The queue's data must survive a
/// Redis restart for that: run Redis with `appendonly yes`.
///
/// ```no_run
/// # async fn f() -> Result<(), inflight_redis::Error> {
/// use futures::StreamExt;
/// use inflight_redis::{Queue, Redis};
/// let redis = Redis::connect("redis://127.0.0.1:6379").await?;
/// let queue = Queue::new(&redis, "urls");
/// queue.push((0..1000).map(|i| format!("https://example.invalid/{i}"))).await?;
/// queue.close().await?;
///
/// // on any machine:
/// let mut items = queue.items();
/// while let Some(item) = items.next().await {
///     let item = item?;
///     let ok = !item.input().is_empty(); // run the job here
///     let record = serde_json::json!({ "input": item.input(), "ok": ok });
///     item.ack(ok, &record).await?;
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Queue {
    pub(crate) inner: Arc<QueueInner>,
}

impl Queue {
    /// The queue `name` with the default options.
    ///
    /// ```no_run
    /// # fn f(redis: inflight_redis::Redis) {
    /// let queue = inflight_redis::Queue::new(&redis, "urls");
    /// # }
    /// ```
    pub fn new(redis: &Redis, name: &str) -> Queue {
        Queue::with_options(redis, name, QueueOptions::default())
    }

    /// The queue `name` with `options`.
    ///
    /// ```no_run
    /// # fn f(redis: inflight_redis::Redis) {
    /// let options = inflight_redis::QueueOptions::default().max_pending(1_000);
    /// let queue = inflight_redis::Queue::with_options(&redis, "urls", options);
    /// # }
    /// ```
    pub fn with_options(redis: &Redis, name: &str, options: QueueOptions) -> Queue {
        Queue {
            inner: Arc::new(QueueInner {
                redis: redis.clone(),
                name: name.to_string(),
                keys: QueueKeys::new(name),
                options,
            }),
        }
    }

    /// The queue's name.
    ///
    /// ```no_run
    /// # fn f(queue: inflight_redis::Queue) {
    /// assert_eq!(queue.name(), "urls");
    /// # }
    /// ```
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// Marks the queue complete: no more inputs will be pushed, and workers stop once every
    /// input is finished.
    ///
    /// ```no_run
    /// # async fn f(queue: inflight_redis::Queue) -> Result<(), inflight_redis::Error> {
    /// queue.close().await?;
    /// # Ok(()) }
    /// ```
    pub async fn close(&self) -> Result<(), Error> {
        let mut cmd = redis::cmd("HSET");
        cmd.arg(&self.inner.keys.meta).arg("closed").arg(1);
        let _: i64 = self.inner.redis.cmd(&cmd).await?;
        Ok(())
    }

    /// The stream of inputs for a worker named after this host and process.
    ///
    /// ```no_run
    /// # fn f(queue: inflight_redis::Queue) {
    /// let items = queue.items();
    /// println!("working as {}", items.worker());
    /// # }
    /// ```
    pub fn items(&self) -> Items {
        Items::new(self.inner.clone(), default_worker_name())
    }

    /// The stream of inputs for a worker named `worker` (unique among live workers).
    ///
    /// ```no_run
    /// # fn f(queue: inflight_redis::Queue) {
    /// let items = queue.items_as("worker-1");
    /// # }
    /// ```
    pub fn items_as(&self, worker: &str) -> Items {
        Items::new(self.inner.clone(), worker.to_string())
    }

    /// The counters: pushed, waiting, in flight per worker, done, failed, dead-lettered.
    ///
    /// ```no_run
    /// # async fn f(queue: inflight_redis::Queue) -> Result<(), inflight_redis::Error> {
    /// let s = queue.status().await?;
    /// println!("{} of {} done", s.done + s.failed, s.pushed);
    /// # Ok(()) }
    /// ```
    pub async fn status(&self) -> Result<QueueStatus, Error> {
        QueueStatus::read(&self.inner).await
    }

    /// The results from the first, in order of finishing; with `follow`, waits for more until
    /// the queue is closed and finished.
    ///
    /// ```no_run
    /// # async fn f(queue: inflight_redis::Queue) -> Result<(), inflight_redis::Error> {
    /// use futures::StreamExt;
    /// let mut results = queue.results(false);
    /// while let Some(r) = results.next().await {
    ///     println!("{}", r?.record);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn results(&self, follow: bool) -> Results {
        Results::new(self.inner.clone(), "-".to_string(), follow)
    }

    /// The results after the one with id `after` (from [`QueueResult::id`](crate::QueueResult)).
    ///
    /// ```no_run
    /// # fn f(queue: inflight_redis::Queue) {
    /// let more = queue.results_after("1700000000000-0", true);
    /// # }
    /// ```
    pub fn results_after(&self, after: &str, follow: bool) -> Results {
        Results::new(self.inner.clone(), format!("({after}"), follow)
    }

    /// Gives back at once every input that the worker named `worker` holds, so that other
    /// workers take them without waiting for their lease; returns how many. For a worker that
    /// stops: call it once the worker runs nothing and has no acknowledgement under way (an
    /// input given back while it runs would run twice; its result is still recorded once).
    /// Inputs given back do not count a delivery against `max_deliveries`.
    ///
    /// ```no_run
    /// # async fn f(queue: inflight_redis::Queue) -> Result<(), inflight_redis::Error> {
    /// let n = queue.give_back_worker("worker-1").await?;
    /// # Ok(()) }
    /// ```
    pub async fn give_back_worker(&self, worker: &str) -> Result<u64, Error> {
        let keys = [
            self.inner.keys.inputs.clone(),
            self.inner.keys.returned.clone(),
        ];
        let args = [
            crate::keys::GROUP.to_string(),
            worker.to_string(),
            (self.inner.options.lease.as_millis() + 1000).to_string(),
        ];
        self.inner
            .redis
            .script(&crate::scripts::GIVE_BACK_ALL, &keys, &args)
            .await
    }

    /// Up to `max` dead letters, oldest first.
    ///
    /// ```no_run
    /// # async fn f(queue: inflight_redis::Queue) -> Result<(), inflight_redis::Error> {
    /// for d in queue.dead_letters(100).await? {
    ///     eprintln!("gave up on input {} after {} deliveries", d.position, d.deliveries);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn dead_letters(&self, max: usize) -> Result<Vec<DeadLetter>, Error> {
        DeadLetter::read(&self.inner, max).await
    }

    /// Deletes every key of the queue (inputs, results, dead letters, counters).
    ///
    /// ```no_run
    /// # async fn f(queue: inflight_redis::Queue) -> Result<(), inflight_redis::Error> {
    /// queue.delete().await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self) -> Result<(), Error> {
        let mut cmd = redis::cmd("DEL");
        for key in self.inner.keys.all() {
            cmd.arg(key);
        }
        let _: i64 = self.inner.redis.cmd(&cmd).await?;
        Ok(())
    }

    /// The options.
    ///
    /// ```no_run
    /// # fn f(queue: inflight_redis::Queue) {
    /// assert_eq!(queue.options().lease_time().as_secs(), 60);
    /// # }
    /// ```
    pub fn options(&self) -> QueueOptions {
        self.inner.options
    }
}

impl fmt::Debug for Queue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queue")
            .field("name", &self.inner.name)
            .field("options", &self.inner.options)
            .finish()
    }
}

/// `host-pid-random`: unique per process, and says where a worker runs.
fn default_worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "worker".to_string());
    let id = crate::keys::random_id();
    format!("{host}-{}-{}", std::process::id(), &id[..6])
}
