//! [`Items`]: the stream of inputs a worker takes, and the lease renewer of what it holds.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, Once, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;
use redis::aio::ConnectionManager;
use redis::streams::StreamReadReply;
use redis::Value;

use super::inner::{QueueInner, WorkerShared};
use super::item::QueueItem;
use crate::connection::{Attempt, RedisEvent};
use crate::error::Error;
use crate::keys::GROUP;
use crate::scripts;
use crate::stream::Unfold;

/// The inputs of a queue for one worker, as a `Stream` of [`QueueItem`]s.
///
/// An input is taken from Redis only when the stream is polled, so a run that polls its
/// input stream as slots free up never holds more than its limit (times the read batch).
/// Each take first looks (at least once a second, and whenever nothing new came) for inputs
/// idle past the lease in any worker's hands, then for new ones; with none, it blocks on its
/// own connection (XREADGROUP BLOCK) up to the poll. The stream ends when the queue is
/// closed and every input has its result or went to the dead letters; an error (Redis gone
/// past the outage timeout) is handed out once and ends it.
///
/// ```no_run
/// # async fn f(queue: inflight_redis::Queue) -> Result<(), inflight_redis::Error> {
/// use futures::StreamExt;
/// let mut items = queue.items();
/// while let Some(item) = items.next().await {
///     let item = item?;
///     let record = serde_json::json!({ "input": item.input() });
///     item.ack(true, &record).await?;
/// }
/// # Ok(()) }
/// ```
pub struct Items {
    shared: Arc<WorkerShared>,
    inner: Unfold<Box<Fetcher>, Result<QueueItem, Error>>,
}

struct Fetcher {
    shared: Arc<WorkerShared>,
    buffer: VecDeque<QueueItem>,
    /// XAUTOCLAIM's cursor: where the next claim scan goes on.
    cursor: String,
    last_claim: Option<Instant>,
    blocking: Option<ConnectionManager>,
    /// Claim on the next take: the last claim found something (there may be more), or no
    /// new input came (the only inputs left may be a dead worker's).
    claim_next: bool,
    finished: bool,
    /// Redis went away during a take or a read: inputs may be pending for this worker that
    /// it never received. Looked for on the next take.
    recover: bool,
}

impl Items {
    pub(crate) fn new(queue: Arc<QueueInner>, name: String) -> Items {
        let shared = Arc::new(WorkerShared {
            queue,
            name,
            held: Mutex::new(HashMap::new()),
            settling: Mutex::default(),
            renewer: Once::new(),
        });
        let fetcher = Box::new(Fetcher {
            shared: shared.clone(),
            buffer: VecDeque::new(),
            cursor: "0-0".to_string(),
            last_claim: None,
            blocking: None,
            claim_next: true,
            finished: false,
            recover: false,
        });
        Items {
            shared,
            inner: Unfold::new(fetcher, |f| Box::pin(f.next())),
        }
    }

    /// This worker's name, as in the results and the status.
    ///
    /// ```no_run
    /// # fn f(queue: inflight_redis::Queue) {
    /// assert_eq!(queue.items_as("w1").worker(), "w1");
    /// # }
    /// ```
    pub fn worker(&self) -> &str {
        &self.shared.name
    }

    /// How many inputs this worker holds now: handed out or buffered, not yet acknowledged.
    ///
    /// ```no_run
    /// # fn f(queue: inflight_redis::Queue) {
    /// assert_eq!(queue.items().held(), 0);
    /// # }
    /// ```
    pub fn held(&self) -> usize {
        self.shared.lock_held().len()
    }

    /// Whether the stream has ended (or its next poll will end it).
    ///
    /// ```no_run
    /// # fn f(queue: inflight_redis::Queue) {
    /// assert!(!queue.items().is_finished());
    /// # }
    /// ```
    pub fn is_finished(&self) -> bool {
        self.inner
            .state()
            .is_some_and(|f| f.finished && f.buffer.is_empty())
    }
}

impl Stream for Items {
    type Item = Result<QueueItem, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

impl fmt::Debug for Items {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Items")
            .field("queue", &self.shared.queue.name)
            .field("worker", &self.shared.name)
            .finish_non_exhaustive()
    }
}

/// What one take found.
enum Took {
    Some,
    Nothing,
    Finished,
}

impl Fetcher {
    async fn next(mut self: Box<Self>) -> Option<(Result<QueueItem, Error>, Box<Self>)> {
        loop {
            if let Some(item) = self.buffer.pop_front() {
                return Some((Ok(item), self));
            }
            if self.finished {
                return None;
            }
            if self.recover {
                match self.recover().await {
                    Ok(()) => continue,
                    Err(e) => {
                        self.finished = true;
                        return Some((Err(e), self));
                    }
                }
            }
            let failures = self.shared.queue.redis.failures();
            let took = self.take().await;
            self.recover = self.shared.queue.redis.failures() != failures;
            match took {
                Ok(Took::Some) => {}
                Ok(Took::Finished) => {
                    self.finished = true;
                    self.leave().await;
                    return None;
                }
                Ok(Took::Nothing) => {
                    self.wait_for_new().await;
                    self.claim_next = self.buffer.is_empty();
                }
                Err(e) => {
                    self.finished = true;
                    return Some((Err(e), self));
                }
            }
        }
    }

    /// One take script: claims (when due) and new inputs.
    async fn take(&mut self) -> Result<Took, Error> {
        let q = &self.shared.queue;
        let o = &q.options;
        let claim = self.claim_next
            || self
                .last_claim
                .is_none_or(|at| at.elapsed() >= o.claim_every());
        let keys = vec![
            q.keys.inputs.clone(),
            q.keys.meta.clone(),
            q.keys.done.clone(),
            q.keys.dead.clone(),
            q.keys.workers.clone(),
            q.keys.returned.clone(),
        ];
        let args = vec![
            GROUP.to_string(),
            self.shared.name.clone(),
            o.read_batch.to_string(),
            o.lease.as_millis().to_string(),
            o.max_deliveries.to_string(),
            if claim {
                self.cursor.clone()
            } else {
                String::new()
            },
        ];
        type Entry = (String, u64, String, u32);
        let (entries, closed, left, cursor, claimed): (Vec<Entry>, u8, u64, String, u32) =
            q.redis.script(&scripts::TAKE, &keys, &args).await?;
        if claim {
            self.last_claim = Some(Instant::now());
            self.cursor = cursor;
            self.claim_next = claimed > 0;
        }
        if !entries.is_empty() {
            for (id, position, input, deliveries) in entries {
                self.hand_out(id, position, input, deliveries);
            }
            return Ok(Took::Some);
        }
        if closed == 1 && left == 0 {
            return Ok(Took::Finished);
        }
        Ok(Took::Nothing)
    }

    /// Hands out the inputs of takes and reads whose replies an outage cut off: they are
    /// this worker's in Redis, and would otherwise wait a whole lease for another worker.
    async fn recover(&mut self) -> Result<(), Error> {
        let q = self.shared.queue.clone();
        let keys = vec![q.keys.inputs.clone(), q.keys.done.clone()];
        let mut args = vec![GROUP.to_string(), self.shared.name.clone()];
        args.extend(self.shared.lock_held().keys().cloned());
        args.extend(self.shared.lock_settling().iter().cloned());
        let failures = q.redis.failures();
        type Entry = (String, u64, String, u32);
        let found: Vec<Entry> = q.redis.script(&scripts::RECOVER, &keys, &args).await?;
        for (id, position, input, deliveries) in found {
            self.hand_out(id, position, input, deliveries);
        }
        // Cut off again: look once more.
        self.recover = q.redis.failures() != failures;
        Ok(())
    }

    /// Blocks up to a poll for new inputs on this worker's own connection.
    async fn wait_for_new(&mut self) {
        let q = self.shared.queue.clone();
        let poll = q.options.poll;
        if self.blocking.is_none() {
            match q.redis.blocking_connection(poll) {
                Ok(c) => self.blocking = Some(c),
                Err(_) => {
                    tokio::time::sleep(poll).await;
                    return;
                }
            }
        }
        let conn = self.blocking.as_mut().expect("made above");
        let mut cmd = redis::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(GROUP)
            .arg(&self.shared.name)
            .arg("COUNT")
            .arg(q.options.read_batch)
            .arg("BLOCK")
            .arg(poll.as_millis() as u64)
            .arg("STREAMS")
            .arg(&q.keys.inputs)
            .arg(">");
        let read: Result<Option<StreamReadReply>, Attempt> = q.redis.blocking_cmd(conn, &cmd).await;
        match read {
            Ok(Some(reply)) => {
                for key in reply.keys {
                    for entry in key.ids {
                        let position = entry.map.get("pos").and_then(as_u64);
                        let input = entry.map.get("input").and_then(as_string);
                        if let (Some(position), Some(input)) = (position, input) {
                            self.hand_out(entry.id, position, input, 1);
                        }
                    }
                }
            }
            Ok(None) => {}
            // Away: the next take waits out the outage (and reports it), after looking for
            // inputs this read may have been handed without the reply arriving.
            Err(_) => {
                self.recover = true;
                tokio::time::sleep(poll.min(Duration::from_millis(200))).await
            }
        }
    }

    fn hand_out(&mut self, id: String, position: u64, input: String, deliveries: u32) {
        start_renewer(&self.shared);
        let item = QueueItem::new(self.shared.clone(), id, position, input, deliveries);
        self.buffer.push_back(item);
    }

    /// A finished worker leaves the status (it holds nothing any more).
    async fn leave(&self) {
        let q = &self.shared.queue;
        let mut hdel = redis::cmd("HDEL");
        hdel.arg(&q.keys.workers).arg(&self.shared.name);
        let _: Result<i64, _> = q.redis.cmd(&hdel).await;
        let mut del = redis::cmd("XGROUP");
        del.arg("DELCONSUMER")
            .arg(&q.keys.inputs)
            .arg(GROUP)
            .arg(&self.shared.name);
        let _: Result<i64, _> = q.redis.cmd(&del).await;
    }
}

fn as_u64(v: &Value) -> Option<u64> {
    as_string(v)?.parse().ok()
}

fn as_string(v: &Value) -> Option<String> {
    match v {
        Value::BulkString(b) => String::from_utf8(b.clone()).ok(),
        Value::SimpleString(s) => Some(s.clone()),
        _ => None,
    }
}

/// Every third of a lease, renews the leases of the inputs this worker holds (and its
/// heartbeat); marks lost the ones another worker claimed meanwhile.
async fn renew(weak: Weak<WorkerShared>) {
    loop {
        let every = match weak.upgrade() {
            Some(w) => w.queue.options.lease / 3,
            None => return,
        };
        tokio::time::sleep(every).await;
        let Some(worker) = weak.upgrade() else { return };
        let ids: Vec<String> = worker.lock_held().keys().cloned().collect();
        if ids.is_empty() {
            continue;
        }
        let q = &worker.queue;
        let keys = vec![q.keys.inputs.clone(), q.keys.workers.clone()];
        let mut args = vec![GROUP.to_string(), worker.name.clone()];
        args.extend(ids);
        let lost: Result<Vec<String>, Attempt> = q
            .redis
            .script_once(&scripts::RENEW_ITEMS, &keys, &args)
            .await;
        let Ok(lost) = lost else { continue };
        for id in lost {
            let gone = worker.lock_held().remove(&id);
            if let Some((position, flag)) = gone {
                flag.store(true, Ordering::Release);
                q.redis.emit(RedisEvent::ItemLost {
                    queue: q.name.clone(),
                    position,
                });
            }
        }
    }
}

/// Starts the renewer with the first item (inside a runtime); it ends with the worker.
fn start_renewer(shared: &Arc<WorkerShared>) {
    shared.renewer.call_once(|| {
        tokio::spawn(renew(Arc::downgrade(shared)));
    });
}
