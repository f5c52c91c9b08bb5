//! The shared state of `queue/`, which every other file of it builds on and which imports
//! none of them: [`QueueInner`] (a queue's Redis, name, keys and options), held by a
//! [`Queue`](super::queue::Queue) and by what it makes (a worker's items, results, status),
//! and [`WorkerShared`] (one worker's name and the inputs it holds), shared by the worker's
//! stream, its renewer and its items.

use std::collections::HashMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex, Once};

use super::options::QueueOptions;
use crate::connection::Redis;
use crate::keys::QueueKeys;

/// One queue, shared by its handle and what it makes.
pub(crate) struct QueueInner {
    pub(crate) redis: Redis,
    pub(crate) name: String,
    pub(crate) keys: QueueKeys,
    pub(crate) options: QueueOptions,
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
    /// The renewer, started with the first item (see `worker`).
    pub(super) renewer: Once,
}

impl WorkerShared {
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
