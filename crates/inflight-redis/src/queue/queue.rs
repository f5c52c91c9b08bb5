//! [`Queue`]: one named work queue on a Redis server.

use std::fmt;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
                known: Mutex::default(),
                token: crate::keys::random_id(),
                gone_said: AtomicBool::new(false),
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
    /// input is finished. A queue that does not exist is not made: [`Error::NoQueue`].
    ///
    /// ```no_run
    /// # async fn f(queue: inflight_redis::Queue) -> Result<(), inflight_redis::Error> {
    /// queue.close().await?;
    /// # Ok(()) }
    /// ```
    pub async fn close(&self) -> Result<(), Error> {
        let q = &self.inner;
        let keys = [
            q.keys.meta.clone(),
            q.keys.deleted.clone(),
            q.keys.events.clone(),
            q.keys.inputs.clone(),
        ];
        let _: i64 = q
            .script(
                &crate::scripts::CLOSE,
                &keys,
                &[q.known_id(), crate::keys::GROUP.to_string()],
            )
            .await?;
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

    /// The stream of inputs for a worker named `worker`, unique among live workers: while
    /// another handle's worker of this name has a heartbeat within its lease, the stream
    /// ends with [`Error::WorkerNameTaken`]. (Streams of one handle share its name.)
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
    /// [`Error::NoQueue`] if there is no queue by this name.
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
    /// the queue is closed and finished. A queue that does not exist (or goes) ends it with
    /// an error.
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
    /// Inputs given back do not count a delivery against `max_deliveries`, and count as
    /// waiting, not in flight. If `worker` is this handle's own (its streams used the name),
    /// the worker leaves the status and its name is free at once. A live worker of another
    /// handle (its heartbeat within its lease) is left alone, and a queue that is gone is
    /// left gone: 0 for both.
    ///
    /// ```no_run
    /// # async fn f(queue: inflight_redis::Queue) -> Result<(), inflight_redis::Error> {
    /// let n = queue.give_back_worker("worker-1").await?;
    /// # Ok(()) }
    /// ```
    pub async fn give_back_worker(&self, worker: &str) -> Result<u64, Error> {
        let q = &self.inner;
        let keys = [
            q.keys.inputs.clone(),
            q.keys.returned.clone(),
            q.keys.meta.clone(),
            q.keys.deleted.clone(),
            q.keys.workers.clone(),
            q.keys.owners.clone(),
            q.keys.events.clone(),
        ];
        let args = [
            crate::keys::GROUP.to_string(),
            worker.to_string(),
            (q.options.lease.as_millis() + 1000).to_string(),
            q.known_id(),
            crate::keys::GIVEN_BACK.to_string(),
            q.token.clone(),
        ];
        q.script(&crate::scripts::GIVE_BACK_ALL, &keys, &args).await
    }

    /// Up to `max` dead letters, oldest first; [`Error::NoQueue`] if there is no queue by
    /// this name.
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

    /// Deletes every key of the queue (inputs, results, dead letters, counters), and returns
    /// the names of the live workers it had (a heartbeat within their lease): they take
    /// nothing more, and their next step ends with [`Error::QueueDeleted`], writing nothing.
    /// For an hour, a marker key holds the deleted queue's id, which tells its workers that
    /// it was deleted rather than lost. [`Error::NoQueue`] if there is no queue by this name.
    ///
    /// ```no_run
    /// # async fn f(queue: inflight_redis::Queue) -> Result<(), inflight_redis::Error> {
    /// let live = queue.delete().await?;
    /// if !live.is_empty() { eprintln!("stopped workers: {}", live.join(", ")); }
    /// # Ok(()) }
    /// ```
    pub async fn delete(&self) -> Result<Vec<String>, Error> {
        let q = &self.inner;
        let mut keys = vec![
            q.keys.meta.clone(),
            q.keys.deleted.clone(),
            q.keys.workers.clone(),
            q.keys.owners.clone(),
        ];
        let rest: Vec<String> = q
            .keys
            .all()
            .into_iter()
            .filter(|k| !keys.contains(k))
            .collect();
        keys.extend(rest);
        let args = [
            q.options.lease.as_millis().to_string(),
            DELETED_MARKER.as_millis().to_string(),
        ];
        q.script(&crate::scripts::DELETE, &keys, &args).await
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

/// How long a deleted queue's id stays in its `deleted` key.
const DELETED_MARKER: Duration = Duration::from_secs(3600);

/// `host-pid-random`: unique per process, and says where a worker runs.
fn default_worker_name() -> String {
    let id = crate::keys::random_id();
    format!(
        "{}-{}-{}",
        crate::keys::host_name(),
        std::process::id(),
        &id[..6]
    )
}
