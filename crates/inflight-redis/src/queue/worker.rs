//! [`Items`]: the stream of inputs a worker takes, and the lease renewer of what it holds.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Once, Weak};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::link::Blocking;
use futures_core::Stream;
use redis::Value;

use super::acks::{Batcher, Target};
use super::inner::{QueueInner, WorkerShared};
use super::item::QueueItem;
use crate::connection::{Attempt, RedisEvent};
use crate::error::Error;
use crate::keys::GROUP;
use crate::scripts;
use crate::stream::Unfold;

/// The inputs of a queue for one worker, as a `Stream` of [`QueueItem`]s.
///
/// Inputs are taken from Redis only when the stream is polled, as many at once as the worker
/// has free slots ([`QueueOptions::slots`](crate::QueueOptions::slots) minus the inputs it
/// holds unfinished), so a run that polls its input stream as slots free up never holds
/// more than its limit. Each take first looks (at least once a second, and whenever nothing
/// new came) for inputs idle past the lease in any worker's hands, then for new ones; with
/// none, it blocks on its own connection (XREAD BLOCK on the inputs and the queue's events)
/// until a push, a give-back, a close or the queue's end, or the poll. The stream ends when
/// the queue is closed and every input has its result or went to the dead letters; an error
/// (Redis gone past the outage timeout) is handed out once and ends it.
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
    blocking: Option<Blocking>,
    /// Claim on the next take: the last claim found something (there may be more), or no
    /// new input came (the only inputs left may be a dead worker's).
    claim_next: bool,
    finished: bool,
    /// Redis went away during a take or a read: inputs may be pending for this worker that
    /// it never received. Looked for on the next take.
    recover: bool,
    /// The queue did not exist at a take (said once): wait for a push.
    missing: bool,
    /// The last wait for a missing queue woke on something, yet the queue was still missing.
    missing_woke: bool,
    /// The last ids of the inputs and the events streams at the last take that found
    /// nothing: a wait wakes on anything after them.
    seen: (String, String),
    /// Whether a take has told the queue's `hosts` hash where this worker runs (the first
    /// does, in the same script, for the dashboard).
    registered: bool,
}

impl Items {
    pub(crate) fn new(queue: Arc<QueueInner>, name: String) -> Items {
        let acks = Batcher::new(Target {
            redis: queue.redis.clone(),
            keys: queue.keys.clone(),
            worker: name.clone(),
            max: queue.options.ack_batch,
            linger: queue.options.ack_linger,
            known_id: {
                let queue = queue.clone();
                Box::new(move || queue.known_id())
            },
        });
        let shared = Arc::new(WorkerShared {
            queue,
            name,
            held: Mutex::new(HashMap::new()),
            settling: Mutex::default(),
            settled: tokio::sync::Notify::new(),
            unfinished: AtomicUsize::new(0),
            acks,
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
            missing: false,
            missing_woke: false,
            seen: ("0-0".to_string(), "0-0".to_string()),
            registered: false,
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
    /// No queue by this name (yet).
    Missing,
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
            self.wait_for_results().await;
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
                    // Nothing new came: the only inputs left may be a dead worker's.
                    self.claim_next = !self.wait_for_new().await;
                }
                Ok(Took::Missing) => {
                    let q = self.shared.queue.clone();
                    if !self.missing {
                        self.missing = true;
                        q.redis.emit(RedisEvent::QueueMissing {
                            queue: q.name.clone(),
                        });
                    }
                    // The push that makes the queue adds to its inputs (a close of an empty
                    // one, to its events): a read from the start wakes at once, where a sleep
                    // of a poll cost every worker started beside its push up to a second. A
                    // read that woke yet found no queue (stray keys of a deleted one) is not
                    // repeated: then a poll's sleep.
                    if self.missing_woke {
                        tokio::time::sleep(q.options.poll).await;
                        self.missing_woke = false;
                    } else {
                        self.seen = ("0-0".to_string(), "0-0".to_string());
                        self.missing_woke = self.wait_for_new().await;
                    }
                }
                Err(e) => {
                    self.finished = true;
                    return Some((Err(e), self));
                }
            }
        }
    }

    /// Waits while more results wait for Redis than [`WorkerShared::most_settling`].
    async fn wait_for_results(&self) {
        let shared = &self.shared;
        loop {
            let settled = shared.settled.notified();
            if shared.lock_settling().len() <= shared.most_settling() {
                return;
            }
            settled.await;
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
            q.keys.owners.clone(),
            q.keys.deleted.clone(),
            q.keys.events.clone(),
            q.keys.hosts.clone(),
        ];
        let unfinished = self.shared.unfinished.load(Ordering::Acquire);
        let args = vec![
            GROUP.to_string(),
            self.shared.name.clone(),
            o.take_count(unfinished).to_string(),
            o.lease.as_millis().to_string(),
            o.max_deliveries.to_string(),
            if claim {
                self.cursor.clone()
            } else {
                String::new()
            },
            q.known_id(),
            q.token.clone(),
            if self.registered {
                String::new()
            } else {
                crate::keys::host_name()
            },
        ];
        type Entry = (String, u64, String, u32);
        type Fresh = (String, Vec<String>);
        type Reply = (
            Vec<Entry>,
            u8,
            u64,
            String,
            u32,
            String,
            String,
            Vec<Fresh>,
            String,
        );
        let taken: Result<Reply, Error> = q.script(&scripts::TAKE, &keys, &args).await;
        let (mut entries, closed, left, cursor, claimed, inputs_last, events_last, fresh, id) =
            taken.map_err(|mut e| {
                if let Error::WorkerNameTaken { worker, .. } = &mut e {
                    worker.clone_from(&self.shared.name);
                }
                e
            })?;
        if id.is_empty() {
            return Ok(Took::Missing);
        }
        q.saw_id(&id);
        self.missing = false;
        self.missing_woke = false;
        self.registered = true;
        for (id, fields) in fresh {
            if let Some((position, input)) = pos_and_input(&fields) {
                entries.push((id, position, input, 1));
            }
        }
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
        self.seen = (inputs_last, events_last);
        Ok(Took::Nothing)
    }

    /// Hands out the inputs of takes and reads whose replies an outage cut off: they are
    /// this worker's in Redis, and would otherwise wait a whole lease for another worker.
    async fn recover(&mut self) -> Result<(), Error> {
        let q = self.shared.queue.clone();
        let keys = vec![
            q.keys.inputs.clone(),
            q.keys.done.clone(),
            q.keys.meta.clone(),
            q.keys.deleted.clone(),
        ];
        let mut args = vec![GROUP.to_string(), self.shared.name.clone(), q.known_id()];
        args.extend(self.shared.lock_held().keys().cloned());
        args.extend(self.shared.lock_settling().iter().cloned());
        let failures = q.redis.failures();
        type Entry = (String, u64, String, u32);
        let found: Vec<Entry> = match q.script(&scripts::RECOVER, &keys, &args).await {
            Ok(found) => found,
            // No queue yet, so nothing taken: the next take says so.
            Err(Error::NoQueue { .. }) => Vec::new(),
            Err(e) => return Err(e),
        };
        for (id, position, input, deliveries) in found {
            self.hand_out(id, position, input, deliveries);
        }
        // Cut off again: look once more.
        self.recover = q.redis.failures() != failures;
        Ok(())
    }

    /// Blocks up to a poll, on this worker's own connection, until anything is added to the
    /// inputs (a push) or the events (a give-back, a close, the queue's end) after what the
    /// last take saw; true if something was. XREAD, not XREADGROUP: every waiting worker
    /// wakes, and the take that follows hands out the inputs.
    async fn wait_for_new(&mut self) -> bool {
        let q = self.shared.queue.clone();
        let poll = q.options.poll;
        if self.blocking.is_none() {
            match q.redis.blocking_connection(poll) {
                Ok(c) => self.blocking = Some(c),
                Err(_) => {
                    tokio::time::sleep(poll).await;
                    return false;
                }
            }
        }
        let conn = self.blocking.as_mut().expect("made above");
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(poll.as_millis() as u64)
            .arg("STREAMS")
            .arg(&q.keys.inputs)
            .arg(&q.keys.events)
            .arg(&self.seen.0)
            .arg(&self.seen.1);
        let read: Result<Value, Attempt> = q.redis.blocking_cmd(conn, &cmd).await;
        match read {
            Ok(Value::Nil) => false,
            Ok(_) => true,
            // Away: the next take waits out the outage (and reports it).
            Err(_) => {
                tokio::time::sleep(poll.min(Duration::from_millis(200))).await;
                false
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
        for key in [&q.keys.workers, &q.keys.owners] {
            let mut hdel = redis::cmd("HDEL");
            hdel.arg(key).arg(&self.shared.name);
            let _: Result<i64, _> = q.redis.cmd(&hdel).await;
        }
        let mut del = redis::cmd("XGROUP");
        del.arg("DELCONSUMER")
            .arg(&q.keys.inputs)
            .arg(GROUP)
            .arg(&self.shared.name);
        let _: Result<i64, _> = q.redis.cmd(&del).await;
    }
}

/// The `pos` and `input` fields of a stream entry, as XREADGROUP gives them.
fn pos_and_input(fields: &[String]) -> Option<(u64, String)> {
    let (mut position, mut input) = (None, None);
    for pair in fields.chunks(2) {
        match pair {
            [name, value] if name == "pos" => position = value.parse().ok(),
            [name, value] if name == "input" => input = Some(value.clone()),
            _ => {}
        }
    }
    Some((position?, input?))
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
        let keys = vec![
            q.keys.inputs.clone(),
            q.keys.workers.clone(),
            q.keys.meta.clone(),
            q.keys.deleted.clone(),
        ];
        let mut args = vec![GROUP.to_string(), worker.name.clone(), q.known_id()];
        args.extend(ids);
        let lost: Result<Vec<String>, Attempt> =
            q.script_once(&scripts::RENEW_ITEMS, &keys, &args).await;
        let lost = match lost {
            Ok(lost) => lost,
            // Gone (said as an event): nothing is held any more; the next take ends the stream.
            Err(Attempt::Failed(e)) if crate::queue::identity::is_gone(&e) => return,
            Err(_) => continue,
        };
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
