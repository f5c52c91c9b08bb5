//! `exec --queue` and `fetch --queue`: a queue on Redis as the run's inputs and its results.
//!
//! Inputs are taken as the run pulls them, so as slots free up (with the default read batch
//! of 1, never more than `-j` taken and unfinished). Each input's `QueueItem` waits here,
//! under its position, while its job runs; the library renews its lease meanwhile. When the
//! job ends its record (the `--log` record plus `worker`) goes to the results stream in the
//! same script as the acknowledgement, on a task of its own so the run goes on meanwhile.
//! An input that never started (Ctrl-C, `--halt`, a shared limit unavailable) is given back
//! at once, and at the end of the run everything this worker still holds is given back too
//! (the second Ctrl-C kills the jobs; their inputs go back to the queue at once).
use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use futures::future::BoxFuture;
use futures::stream::{BoxStream, StreamExt};
use inflight_redis::{Acked, Queue, QueueItem, QueueOptions, Redis};
use tokio_util::task::TaskTracker;

use crate::helpers::say;
use crate::redis::options::RedisArgs;
use crate::redis::shared_limits::QUEUE_LEASE;
use crate::run::feed::Feed;
use crate::run::input::RawLine;
use crate::run::log::Record;
use crate::run::progress::Progress;

/// The queue options of a worker.
pub fn options(args: &RedisArgs) -> QueueOptions {
    QueueOptions::default()
        .lease(args.lease.unwrap_or(QUEUE_LEASE))
        .max_deliveries(u32::try_from(args.max_deliveries).unwrap_or(u32::MAX))
        .read_batch(args.read_batch)
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
}

/// The inputs of `queue` as the run's input stream, and the feed that settles them.
pub fn inputs(
    redis: &Redis,
    name: &str,
    args: &RedisArgs,
    progress: Progress,
) -> (BoxStream<'static, io::Result<RawLine>>, Arc<QueueFeed>) {
    let queue = Queue::with_options(redis, name, options(args));
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
    });
    let held = feed.held.clone();
    let lines = items
        .map(move |item| {
            let item = item.map_err(|e| io::Error::other(e.to_string()))?;
            let seq = item.position() + 1;
            let line = RawLine {
                bytes: item.input().as_bytes().to_vec(),
                cut: None,
                seq: Some(seq),
            };
            lock(&held).insert(seq, item);
            Ok(line)
        })
        .boxed();
    (lines, feed)
}

fn lock(
    held: &Mutex<HashMap<u64, QueueItem>>,
) -> std::sync::MutexGuard<'_, HashMap<u64, QueueItem>> {
    held.lock().unwrap_or_else(|e| e.into_inner())
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
        let mut value = serde_json::to_value(record).unwrap_or_default();
        if let Some(fields) = value.as_object_mut() {
            fields.insert("worker".into(), self.worker.clone().into());
        }
        let (progress, failed) = (self.progress.clone(), self.ack_failed.clone());
        let duplicate_said = self.duplicate_said.clone();
        self.acks.spawn(async move {
            let seq = item.position() + 1;
            match item.ack(ok, &value).await {
                Ok(Acked::Recorded) => {}
                // It ran twice: this worker stalled past its lease and another took it.
                // Said once a run: after a long stall there may be many.
                Ok(_) => {
                    if !duplicate_said.swap(true, Relaxed) {
                        progress.suspend(|| {
                            say::line(&format!(
                                "inflight: input {seq} had a result already (another worker ran \
                                 it after this one's lease ran out); each input keeps its first \
                                 result, so this one is dropped"
                            ))
                        });
                    }
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
        let say_once = move |e: inflight_redis::Error| {
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
            acks.close();
            acks.wait().await;
            for item in left {
                if let Err(e) = item.give_back().await {
                    return say_once(e);
                }
            }
            // And what no item here stands for: inputs of a read batch not yet pulled, or of
            // a read whose reply a stop cut off.
            if let Err(e) = queue.give_back_worker(&worker).await {
                say_once(e);
            }
            // The shared limits' last releases, and give-backs that drops started.

            redis.flush(crate::redis::shared_limits::FLUSH).await;
            crate::redis::shared_limits::say_trips(&redis);
        })
    }

    /// An acknowledgement failed (its result is not in the queue; the input goes to another
    /// worker after its lease), or inputs could not be given back.
    fn failed(&self) -> bool {
        self.ack_failed.load(Relaxed)
    }
}
