//! [`QueueItem`]: one input in a worker's hands, and its acknowledgement with its result.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use serde::Serialize;

use super::acks::Ack;
use super::inner::WorkerShared;
use crate::error::Error;
use crate::keys::GROUP;
use crate::scripts;

/// An input taken from a [`Queue`](crate::Queue), with what is needed to acknowledge it.
///
/// Finish it with [`QueueItem::ack`] (its result record and the acknowledgement, in one
/// atomic step) or [`QueueItem::give_back`]. Dropped without either, it is given back in the
/// background, so another worker can take it at once.
///
/// ```no_run
/// # async fn f(item: inflight_redis::QueueItem) -> Result<(), inflight_redis::Error> {
/// println!("input {} (delivery {}): {}", item.position(), item.deliveries(), item.input());
/// item.ack(true, &serde_json::json!({ "status": 0 })).await?;
/// # Ok(()) }
/// ```
pub struct QueueItem {
    worker: Arc<WorkerShared>,
    id: String,
    position: u64,
    input: String,
    deliveries: u32,
    lost: Arc<AtomicBool>,
    settled: bool,
}

/// What became of an acknowledgement's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acked {
    /// The result is recorded: the input's one result.
    Recorded,
    /// The input already had a result (it ran twice: another worker claimed it after this
    /// one's lease ran out, and finished first; or it went to the dead letters), so this one
    /// was dropped. Also what a retried acknowledgement whose first reply was lost sees.
    Duplicate,
}

impl QueueItem {
    pub(crate) fn new(
        worker: Arc<WorkerShared>,
        id: String,
        position: u64,
        input: String,
        deliveries: u32,
    ) -> QueueItem {
        let lost = Arc::new(AtomicBool::new(false));
        worker
            .lock_held()
            .insert(id.clone(), (position, lost.clone()));
        worker.unfinished.fetch_add(1, Ordering::AcqRel);
        QueueItem {
            worker,
            id,
            position,
            input,
            deliveries,
            lost,
            settled: false,
        }
    }

    /// The input, as pushed.
    ///
    /// ```no_run
    /// # fn f(item: inflight_redis::QueueItem) {
    /// let url: &str = item.input();
    /// # }
    /// ```
    pub fn input(&self) -> &str {
        &self.input
    }

    /// Its position in the pushed inputs, from 0.
    ///
    /// ```no_run
    /// # fn f(item: inflight_redis::QueueItem) {
    /// let seq = item.position() + 1; // 1-based, like the CLI's {#}
    /// # }
    /// ```
    pub fn position(&self) -> u64 {
        self.position
    }

    /// How many times it has been handed out, this time included (more than 1: a worker
    /// died or stalled with it).
    ///
    /// ```no_run
    /// # fn f(item: inflight_redis::QueueItem) {
    /// if item.deliveries() > 1 { eprintln!("retrying {}", item.input()); }
    /// # }
    /// ```
    pub fn deliveries(&self) -> u32 {
        self.deliveries
    }

    /// The worker that holds it.
    ///
    /// ```no_run
    /// # fn f(item: inflight_redis::QueueItem) {
    /// println!("{}", item.worker());
    /// # }
    /// ```
    pub fn worker(&self) -> &str {
        &self.worker.name
    }

    /// Whether another worker has claimed it (this one stalled past its lease): its ack will
    /// most likely be a [`Acked::Duplicate`].
    ///
    /// ```no_run
    /// # fn f(item: inflight_redis::QueueItem) {
    /// if item.is_lost() { eprintln!("someone else runs {} too", item.input()); }
    /// # }
    /// ```
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Acquire)
    }

    /// Records its result and acknowledges it, in one atomic step. `ok` counts it as done or
    /// failed; `record` (any serde value, the CLI's log record, say) is stored as JSON.
    ///
    /// Results go to Redis in batches (see [`QueueOptions::ack_batch`](crate::QueueOptions::ack_batch)):
    /// this returns once its batch is recorded, a few milliseconds later. Its slot counts as
    /// free from the call on (see [`QueueOptions::slots`](crate::QueueOptions::slots)).
    ///
    /// ```no_run
    /// # async fn f(item: inflight_redis::QueueItem) -> Result<(), inflight_redis::Error> {
    /// let acked = item.ack(false, &serde_json::json!({ "error": "exit 1" })).await?;
    /// # Ok(()) }
    /// ```
    pub async fn ack<R: Serialize + ?Sized>(
        mut self,
        ok: bool,
        record: &R,
    ) -> Result<Acked, Error> {
        let input = std::mem::take(&mut self.input);
        self.ack_with_input(ok, record, &input).await
    }

    /// [`QueueItem::ack`], with `input` stored as the input in the results stream instead of
    /// the input itself: the input as the record shows it (a URL with its password masked,
    /// say), since the results outlive the run.
    ///
    /// ```no_run
    /// # async fn f(item: inflight_redis::QueueItem) -> Result<(), inflight_redis::Error> {
    /// let shown = item.input().replace("secret", "***");
    /// item.ack_with_input(true, &serde_json::json!({ "input": shown }), &shown).await?;
    /// # Ok(()) }
    /// ```
    pub async fn ack_with_input<R: Serialize + ?Sized>(
        mut self,
        ok: bool,
        record: &R,
        input: &str,
    ) -> Result<Acked, Error> {
        let record = serde_json::to_string(record).map_err(|e| {
            Error::Invalid(format!("result record of input {}: {e}", self.position))
        })?;
        self.settle();
        let _settling = Settling::new(&self.worker, &self.id);
        let (reply, recorded) = tokio::sync::oneshot::channel();
        let ack = Ack {
            id: self.id.clone(),
            position: self.position,
            ok,
            record,
            input: input.to_string(),
            reply,
        };
        self.worker.acks.send(ack);
        let acked = recorded
            .await
            .unwrap_or_else(|_| {
                Err(Error::Invalid(format!(
                    "the acknowledgement of input {} was dropped",
                    self.position
                )))
            })
            .map_err(|e| self.worker.queue.typed(e));
        Ok(if acked? {
            Acked::Recorded
        } else {
            Acked::Duplicate
        })
    }

    /// Marks it settled (acknowledged or given back): no longer renewed, its slot free.
    fn settle(&mut self) {
        if !self.settled {
            self.settled = true;
            self.worker.lock_held().remove(&self.id);
            self.worker.unfinished.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// Gives it back to the queue unrun, at once (a worker stopping): the next take of any
    /// worker gets it, and this delivery does not count against `max_deliveries`.
    ///
    /// ```no_run
    /// # async fn f(item: inflight_redis::QueueItem) -> Result<(), inflight_redis::Error> {
    /// item.give_back().await?;
    /// # Ok(()) }
    /// ```
    pub async fn give_back(mut self) -> Result<(), Error> {
        self.settle();
        give_back(&self.worker, &self.id, self.deliveries).await
    }
}

/// An acknowledgement under way, in the worker's `settling` set until it is recorded or
/// refused, or its future is dropped.
struct Settling<'a> {
    worker: &'a WorkerShared,
    id: &'a str,
}

impl<'a> Settling<'a> {
    fn new(worker: &'a WorkerShared, id: &'a str) -> Settling<'a> {
        worker.lock_settling().insert(id.to_string());
        Settling { worker, id }
    }
}

impl Drop for Settling<'_> {
    fn drop(&mut self) {
        self.worker.lock_settling().remove(self.id);
        self.worker.settled.notify_waiters();
    }
}

async fn give_back(worker: &WorkerShared, id: &str, deliveries: u32) -> Result<(), Error> {
    worker.lock_held().remove(id);
    let q = &worker.queue;
    let args = vec![
        GROUP.to_string(),
        worker.name.clone(),
        id.to_string(),
        (q.options.lease.as_millis() + 1000).to_string(),
        deliveries.saturating_sub(1).to_string(),
        q.known_id(),
        crate::keys::GIVEN_BACK.to_string(),
    ];
    let keys = [
        q.keys.inputs.clone(),
        q.keys.returned.clone(),
        q.keys.meta.clone(),
        q.keys.deleted.clone(),
        q.keys.events.clone(),
    ];
    let _: u8 = q.script(&scripts::GIVE_BACK, &keys, &args).await?;
    Ok(())
}

impl Drop for QueueItem {
    fn drop(&mut self) {
        if self.settled {
            return;
        }
        self.settle();
        let worker = self.worker.clone();
        let id = std::mem::take(&mut self.id);
        let deliveries = self.deliveries;
        let lease = worker.queue.options.lease;
        let redis = worker.queue.redis.clone();
        redis.spawn_background(async move {
            let _ = tokio::time::timeout(lease, give_back(&worker, &id, deliveries)).await;
        });
    }
}

impl fmt::Display for QueueItem {
    /// The input, so that a per-key function can format it like a plain input.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.input)
    }
}

impl fmt::Debug for QueueItem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("QueueItem")
            .field("position", &self.position)
            .field("input", &self.input)
            .field("deliveries", &self.deliveries)
            .field("worker", &self.worker.name)
            .finish()
    }
}
