//! The shared state of `queue/`, which every other file of it builds on and which imports
//! none of them: [`QueueInner`] (a queue's Redis, name, keys and options, and the queue id it knows), held by a
//! [`Queue`](super::queue::Queue) and by what it makes (a worker's items, results, status),
//! and [`WorkerShared`] (one worker's name and the inputs it holds), shared by the worker's
//! stream, its renewer and its items.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::{Arc, Mutex, Once};

use super::acks::Batcher;
use super::options::QueueOptions;
use crate::connection::Redis;
use crate::keys::QueueKeys;

/// One queue, shared by its handle and what it makes.
pub(crate) struct QueueInner {
    pub(crate) redis: Redis,
    pub(crate) name: String,
    pub(crate) keys: QueueKeys,
    pub(crate) options: QueueOptions,
    /// The queue's id as this handle last saw it (see `identity`).
    pub(crate) known: Mutex<String>,
    /// This handle's token: it owns the worker names its streams use.
    pub(crate) token: String,
    /// The queue's deletion or loss was said.
    pub(crate) gone_said: AtomicBool,
}

/// One worker: its name, and the inputs it holds (for the renewer).
pub(crate) struct WorkerShared {
    pub(crate) queue: Arc<QueueInner>,
    pub(crate) name: String,
    /// Entry id → (position, lost flag) of every input this worker holds.
    pub(crate) held: Mutex<HashMap<String, (u64, Arc<AtomicBool>)>>,
    /// Ids whose acknowledgement is under way: no longer renewed, not yet settled in Redis,
    /// so not to be handed out again by a recovery.
    pub(crate) settling: Mutex<std::collections::HashSet<String>>,
    /// Notified whenever an acknowledgement leaves `settling` (recorded, refused or dropped).
    pub(crate) settled: tokio::sync::Notify,
    /// Inputs handed out (or buffered) and neither acknowledged nor given back: the slots
    /// they take, so that a take asks only for the free ones.
    pub(crate) unfinished: AtomicUsize,
    /// Its acknowledgements, sent in batches.
    pub(crate) acks: Batcher,
    /// The renewer, started with the first item (see `worker`).
    pub(super) renewer: Once,
}

impl WorkerShared {
    /// How many results may wait for Redis before this worker stops taking inputs: one batch
    /// beyond what its slots run. Redis slower than the jobs, or an outage whose results are
    /// still being retried, would otherwise let it go on taking and running inputs whose
    /// results pile up unsent, every one of which a kill -9 would lose (to run again).
    pub(crate) fn most_settling(&self) -> usize {
        let o = &self.queue.options;
        o.ack_batch + o.slots.max(o.read_batch.unwrap_or(0))
    }

    pub(crate) fn lock_held(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (u64, Arc<AtomicBool>)>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn lock_settling(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashSet<String>> {
        self.settling.lock().unwrap_or_else(|e| e.into_inner())
    }
}
