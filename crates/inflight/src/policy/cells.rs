//! What a run's object (its stream, gather or pool) can still change before the run starts:
//! its keys, and whether its attempts are spawned. Shared with the gate and the tasks.

use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use super::attempt::SpawnCell;
use super::keys::{Key, Keying};
use crate::limit_check::check_limit;

/// The keys of a run, set by its `per_key` before it pulls its first input.
pub(crate) struct KeyCell<I> {
    keying: OnceLock<Keying<I>>,
    /// Set when the first input is pulled: from then on the keys can no longer change.
    started: AtomicBool,
}

impl<I> KeyCell<I> {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(KeyCell {
            keying: OnceLock::new(),
            started: AtomicBool::new(false),
        })
    }

    /// Sets the per-key limit and key function.
    #[track_caller]
    pub(crate) fn set<K, F>(&self, limit: usize, key_of: F)
    where
        F: Fn(&I) -> K + Send + Sync + 'static,
        K: Hash + Eq + std::fmt::Display + Send + Sync + 'static,
    {
        check_limit(limit, "per_key: limit");
        assert!(
            !self.started.load(Ordering::Acquire),
            "per_key: the run has already pulled inputs; call it before the first poll"
        );
        let keying = Keying {
            limit,
            key_of: Arc::new(move |input: &I| Key::new(key_of(input))),
        };
        assert!(
            self.keying.set(keying).is_ok(),
            "per_key: this run already has keys"
        );
    }

    /// Called when the first input is pulled: the keys to use (if any), fixed from now on.
    pub(crate) fn start(&self) -> Option<Keying<I>> {
        self.started.store(true, Ordering::Release);
        self.keying.get().cloned()
    }
}

/// Both cells of a run object.
pub(crate) struct RunCells<I, Fut: Future> {
    pub(crate) keys: Arc<KeyCell<I>>,
    pub(crate) spawn: Arc<SpawnCell<Fut>>,
}

impl<I, Fut: Future> RunCells<I, Fut> {
    pub(crate) fn new() -> Self {
        RunCells {
            keys: KeyCell::new(),
            spawn: Arc::new(SpawnCell::new()),
        }
    }
}
