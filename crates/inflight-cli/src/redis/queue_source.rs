//! `exec --queue` and `fetch --queue`: a queue on Redis as the run's inputs and its results.
//!
//! Inputs are taken as the run pulls them, as many in one read as the worker has free slots
//! (so never more than `-j` taken and unfinished, unless `--read-batch` says more). Each
//! input's `QueueItem` waits here, under its position, while its job runs; the library renews
//! its lease meanwhile. When the job ends its record (the `--log` record plus `worker`) goes
//! to the results stream with the acknowledgement, in the library's next batch (one script,
//! a few milliseconds later), on a task of its own so the run goes on meanwhile; the end of
//! the run waits for those batches. An input that never started (Ctrl-C, `--halt`, a shared
//! limit unavailable) is given back at once, and at the end of the run everything this
//! worker still holds is given back too (the second Ctrl-C kills the jobs; their inputs go
//! back to the queue at once), within what `--redis-timeout` leaves.
//!
//! A queue deleted or lost under the worker ends its inputs (the library's event has said so),
//! as does a worker name that a live worker uses; either way the run ends with status 255.
use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::stream::{BoxStream, StreamExt};
use inflight_redis::{Acked, Error, Health, Queue, QueueItem, QueueOptions, Redis};
use tokio_util::task::TaskTracker;

use crate::helpers::say;
use crate::redis::options::RedisArgs;
use crate::redis::shared_limits::QUEUE_LEASE;
use crate::run::feed::Feed;
use crate::run::input::RawLine;
use crate::run::log::Record;
use crate::run::progress::Progress;

/// The queue options of a worker that runs `slots` jobs at once: a read takes as many inputs
/// as are free, unless `--read-batch` says how many.
pub fn options(args: &RedisArgs, slots: usize) -> QueueOptions {
    let options = QueueOptions::default()
        .lease(args.lease.unwrap_or(QUEUE_LEASE))
        .max_deliveries(u32::try_from(args.max_deliveries).unwrap_or(u32::MAX))
        .slots(slots.max(1));
    match args.read_batch {
        Some(n) => options.read_batch(n),
        None => options,
    }
}

/// A worker's side of the queue: its inputs in flight, and the acknowledgements under way.
pub struct QueueFeed {
    redis: Redis,
    queue: Queue,
    worker: String,
    held: Arc<Mutex<HashMap<u64, QueueItem>>>,
    acks: TaskTracker,
    progress: Progress,
    /// A failed acknowledgement is said once (Redis gone past --redis-timeout, most likely).
    ack_failed: Arc<AtomicBool>,
    /// A result dropped as a duplicate is said once.
    duplicate_said: Arc<AtomicBool>,
    /// The queue is gone (deleted, or lost with Redis's data), or this worker's name was
    /// refused: said already, and the run fails.
    gone: Arc<AtomicBool>,
    /// `--redis-timeout`: also bounds the settling at the end.
    timeout: Option<Duration>,
}

/// The inputs of `queue` as the run's input stream, and the feed that settles them.
pub fn inputs(
    redis: &Redis,
    name: &str,
    args: &RedisArgs,
    slots: usize,
    progress: Progress,
) -> (BoxStream<'static, io::Result<RawLine>>, Arc<QueueFeed>) {
    let queue = Queue::with_options(redis, name, options(args, slots));
    let items = match &args.worker {
        Some(worker) => queue.items_as(worker),
        None => queue.items(),
    };
    let feed = Arc::new(QueueFeed {
        redis: redis.clone(),
        worker: items.worker().to_string(),
        queue,
        held: Arc::default(),
        acks: TaskTracker::new(),
        progress,
        ack_failed: Arc::default(),
        duplicate_said: Arc::default(),
        gone: Arc::default(),
        timeout: args.connection.redis_timeout,
    });
    let (held, gone, progress) = (feed.held.clone(), feed.gone.clone(), feed.progress.clone());
    let ack_failed = feed.ack_failed.clone();
    let lines = items
        .scan((), move |(), item| {
            // A result that could not be recorded (Redis away past --redis-timeout): no more
            // jobs start, not even from inputs already read (a --read-batch); they go back to
            // the queue after their lease, unrun here.
            if ack_failed.load(Relaxed) {
                return std::future::ready(None);
            }
            let line = match item {
                Ok(item) => {
                    let seq = item.position() + 1;
                    let line = RawLine {
                        bytes: item.input().as_bytes().to_vec(),
                        cut: None,
                        seq: Some(seq),
                    };
                    lock(&held).insert(seq, item);
                    Some(Ok(line))
                }
                // Said by the connection's event: the inputs end, the run fails.
                Err(Error::QueueDeleted { .. } | Error::QueueLost { .. }) => {
                    gone.store(true, Relaxed);
                    None
                }
                Err(e @ Error::WorkerNameTaken { .. }) => {
                    gone.store(true, Relaxed);
                    progress.suspend(|| say::line(&format!("inflight: --worker: {e}")));
                    None
                }
                Err(e) => Some(Err(io::Error::other(e.to_string()))),
            };
            std::future::ready(line)
        })
        .boxed();
    (lines, feed)
}

fn lock(
    held: &Mutex<HashMap<u64, QueueItem>>,
) -> std::sync::MutexGuard<'_, HashMap<u64, QueueItem>> {
    held.lock().unwrap_or_else(|e| e.into_inner())
}

/// A result as the queue keeps it: the `--log` record and the worker that recorded it.
#[derive(serde::Serialize)]
struct WithWorker<'a> {
    #[serde(flatten)]
    record: &'a Record,
    worker: &'a str,
}

impl QueueFeed {
    fn take(&self, seq: u64) -> Option<QueueItem> {
        lock(&self.held).remove(&seq)
    }
}

impl Feed for QueueFeed {
    fn finished(&self, record: &Record) {
        let Some(item) = self.take(record.seq) else {
            return;
        };
        let ok = record.ok;
        // Serialized here, once, with the worker's name after the log record's fields; a
        // serde_json::Value in between (as before) cost a map built and torn down per input.
        let value = match serde_json::value::to_raw_value(&WithWorker {
            record,
            worker: &self.worker,
        }) {
            Ok(raw) => raw,
            Err(_) => return, // not reached: a Record always serializes
        };
        let (progress, failed) = (self.progress.clone(), self.ack_failed.clone());
        let duplicate_said = self.duplicate_said.clone();
        // The input as the log shows it (fetch masks a URL's password): results outlive the
        // run, and are read by whoever reads the queue.
        let shown = record.input.clone();
        self.acks.spawn(async move {
            let seq = item.position() + 1;
            match item.ack_with_input(ok, &value, &shown).await {
                Ok(Acked::Recorded) => {}
                // It ran twice (this worker stalled past its lease and another took it), or
                // this batch was sent again after an outage cut off the reply to the first
                // send. Said once a run: after a long stall there may be many.
                Ok(_) => {
                    if !duplicate_said.swap(true, Relaxed) {
                        progress.suspend(|| {
                            say::line(&format!(
                                "inflight: input {seq} had a result already (another worker ran \
                                 it after this one's lease ran out, or Redis recorded this one \
                                 before an outage cut off its reply); each input keeps its \
                                 first result"
                            ))
                        });
                    }
                }
                // The queue is gone (said once by the connection's event).
                Err(Error::QueueDeleted { .. } | Error::QueueLost { .. }) => {
                    failed.store(true, Relaxed);
                }
                // Not acknowledged: the input goes to another worker after its lease.
                Err(e) => {
                    if !failed.swap(true, Relaxed) {
                        progress.suspend(|| {
                            say::line(&format!(
                                "inflight: cannot record the result of input {seq} in the queue: {e}"
                            ))
                        });
                    }
                }
            }
        });
    }

    fn unstarted(&self, seq: u64) {
        if let Some(item) = self.take(seq) {
            self.acks.spawn(async move {
                // Not given back: its lease runs out and another worker takes it.
                let _ = item.give_back().await;
            });
        }
    }

    fn close(&self) -> BoxFuture<'static, ()> {
        let left: Vec<QueueItem> = lock(&self.held).drain().map(|(_, item)| item).collect();
        let (queue, worker, acks) = (self.queue.clone(), self.worker.clone(), self.acks.clone());
        let redis = self.redis.clone();
        let (progress, failed) = (self.progress.clone(), self.ack_failed.clone());
        let gone = self.gone.load(Relaxed);
        // What --redis-timeout leaves: an outage that ended the run has used it up already,
        // so the settling does not wait for Redis a second time.
        let deadline = remaining(&redis, self.timeout).map(|left| Instant::now() + left);
        let say_once = move |e: &dyn std::fmt::Display| {
            if !failed.swap(true, Relaxed) {
                progress.suspend(|| {
                    say::line(&format!(
                        "inflight: cannot give inputs back to the queue: {e}; \
                         they go back after their lease"
                    ))
                });
            }
        };
        Box::pin(async move {
            let settle = async {
                acks.close();
                acks.wait().await;
                if gone {
                    // Nothing to give back to.
                    return;
                }
                for item in left {
                    if let Err(e) = item.give_back().await {
                        return say_once(&e);
                    }
                }
                // And what no item here stands for: inputs of a read batch not yet pulled,
                // or of a read whose reply a stop cut off.
                if let Err(e) = queue.give_back_worker(&worker).await {
                    say_once(&e);
                }
            };
            match deadline {
                None => settle.await,
                Some(at) => {
                    if tokio::time::timeout_at(at.into(), settle).await.is_err() {
                        say_once(&"Redis unreachable past --redis-timeout");
                    }
                }
            }
            // The shared limits' last releases, and give-backs that drops started.
            let flush = deadline.map_or(crate::redis::shared_limits::FLUSH, |at| {
                at.saturating_duration_since(Instant::now())
                    .min(crate::redis::shared_limits::FLUSH)
            });
            redis.flush(flush).await;
            crate::redis::shared_limits::say_trips(&redis);
        })
    }

    /// An acknowledgement failed (its result is not in the queue; the input goes to another
    /// worker after its lease), inputs could not be given back, the queue is gone, or this
    /// worker's name was refused.
    fn failed(&self) -> bool {
        self.ack_failed.load(Relaxed) || self.gone.load(Relaxed)
    }
}

/// How long `timeout` leaves from now: all of it while Redis answers, less the outage so far
/// while it does not; `None` without a timeout.
fn remaining(redis: &Redis, timeout: Option<Duration>) -> Option<Duration> {
    let timeout = timeout?;
    Some(match redis.health() {
        Health::Down { since, .. } => timeout.saturating_sub(since.elapsed()),
        Health::Up => timeout,
    })
}
