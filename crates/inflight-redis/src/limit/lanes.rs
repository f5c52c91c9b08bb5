//! The requests of one process waiting for the next acquire or release script of a limit
//! family, by key: while a script of a key is under way, the acquires (and, apart, the
//! releases) that come meanwhile wait here and go together in the next one (sent by
//! `Family`). One job alone goes at once, in the one-token script; jobs that come together (a
//! process with several waiting, or many finishing) share a round trip and a script's fixed
//! cost. Each token is handled by the script exactly as on its own, in the order they came,
//! so the limit and the queue's order hold as for single calls.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use tokio::sync::{oneshot, Notify};

use crate::error::Error;

/// Tokens per script, so that a huge batch does not make one huge command.
pub(crate) const MAX: usize = 256;

/// A grant's answer: granted, the epoch, Redis's clock (ms).
pub(crate) type Answer = (bool, String, u64);

pub(crate) struct AcquireReq {
    pub(crate) token: String,
    pub(crate) wait: bool,
    pub(crate) reply: oneshot::Sender<Result<Answer, Error>>,
}

pub(crate) struct ReleaseReq {
    pub(crate) token: String,
    pub(crate) reply: oneshot::Sender<Result<bool, Error>>,
}

/// The requests of one key waiting for the next script, and whether a script runs.
struct Lane<T> {
    waiting: Vec<T>,
    running: bool,
}

impl<T> Default for Lane<T> {
    fn default() -> Self {
        Lane {
            waiting: Vec::new(),
            running: false,
        }
    }
}

/// The lanes of one kind of request, by key.
pub(crate) struct Lanes<T>(Mutex<HashMap<Option<String>, Lane<T>>>);

impl<T> Default for Lanes<T> {
    fn default() -> Self {
        Lanes(Mutex::default())
    }
}

impl<T> Lanes<T> {
    fn lock(&self) -> MutexGuard<'_, HashMap<Option<String>, Lane<T>>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `req`; true if no script of its key runs, so the caller must start the sender.
    pub(crate) fn push(&self, key: Option<&str>, req: T) -> bool {
        let mut lanes = self.lock();
        let lane = lanes.entry(key.map(str::to_string)).or_default();
        lane.waiting.push(req);
        !std::mem::replace(&mut lane.running, true)
    }

    /// The next batch of `key`, or `None` (and the lane idle) when nothing waits.
    pub(crate) fn next(&self, key: &Option<String>) -> Option<Vec<T>> {
        let mut lanes = self.lock();
        let lane = lanes.get_mut(key)?;
        if lane.waiting.is_empty() {
            lanes.remove(key);
            return None;
        }
        let n = lane.waiting.len().min(MAX);
        Some(lane.waiting.drain(..n).collect())
    }

    /// Drops the waiting requests of `key` that `unwanted` picks; true if any was.
    pub(crate) fn withdraw(&self, key: Option<&str>, unwanted: impl Fn(&T) -> bool) -> bool {
        let mut lanes = self.lock();
        let Some(lane) = lanes.get_mut(&key.map(str::to_string)) else {
            return false;
        };
        let before = lane.waiting.len();
        lane.waiting.retain(|r| !unwanted(r));
        lane.waiting.len() != before
    }
}

/// The batches of one family.
#[derive(Default)]
pub(crate) struct Batches {
    pub(crate) acquires: Lanes<AcquireReq>,
    pub(crate) releases: Lanes<ReleaseReq>,
    /// Tokens whose acquire script is under way: a release of one waits for its reply, so
    /// that it reaches Redis after the grant it may undo.
    sending: Mutex<HashSet<String>>,
    sent: Notify,
}

impl Batches {
    fn sending(&self) -> MutexGuard<'_, HashSet<String>> {
        self.sending.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks the tokens of `batch` under way.
    pub(crate) fn sending_now(&self, batch: &[AcquireReq]) {
        self.sending().extend(batch.iter().map(|r| r.token.clone()));
    }

    /// Marks the tokens of `batch` answered, and wakes the releases waiting for them.
    pub(crate) fn answered(&self, batch: &[AcquireReq]) {
        {
            let mut sending = self.sending();
            for r in batch {
                sending.remove(&r.token);
            }
        }
        self.sent.notify_waiters();
    }

    /// Waits until no acquire script of `token` is under way.
    pub(crate) async fn wait_sent(&self, token: &str) {
        loop {
            let notified = self.sent.notified();
            if !self.sending().contains(token) {
                return;
            }
            notified.await;
        }
    }
}

/// The answer a caller gets when its batch was dropped unsent.
pub(crate) fn dropped() -> Error {
    Error::Invalid("a shared limit's batch was dropped (the runtime is shutting down)".into())
}
