//! Per-key limits: how many tasks of one key (say, one host) run at once.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Arc, Mutex};
use std::task::Waker;

/// Maps an input to its key, or says there are no keys.
pub trait KeyOf<I> {
    /// The key type.
    type Key: Hash + Eq + Clone;
    /// Whether per-key limits are on at all.
    const ENABLED: bool;
    /// The key of `input`.
    fn key_of(&self, input: &I) -> Self::Key;
}

/// No per-key limit: the default.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoKey;

impl<I> KeyOf<I> for NoKey {
    type Key = ();
    const ENABLED: bool = false;
    fn key_of(&self, _input: &I) {}
}

/// Keys made by a function; set with [`Inflight::per_key`](crate::Inflight::per_key).
#[derive(Debug, Clone, Copy)]
pub struct KeyFn<F>(pub(crate) F);

impl<I, K: Hash + Eq + Clone, F: Fn(&I) -> K> KeyOf<I> for KeyFn<F> {
    type Key = K;
    const ENABLED: bool = true;
    fn key_of(&self, input: &I) -> K {
        (self.0)(input)
    }
}

/// How many tasks of each key run now, and which keys freed a slot since the gate last looked.
#[derive(Debug)]
pub(crate) struct KeyTable<K> {
    running: HashMap<K, usize>,
    pub(crate) freed: VecDeque<K>,
    pub(crate) waker: Option<Waker>,
}

impl<K: Hash + Eq + Clone> KeyTable<K> {
    pub(crate) fn new() -> Arc<Mutex<KeyTable<K>>> {
        Arc::new(Mutex::new(KeyTable {
            running: HashMap::new(),
            freed: VecDeque::new(),
            waker: None,
        }))
    }

    pub(crate) fn running(&self, key: &K) -> usize {
        self.running.get(key).copied().unwrap_or(0)
    }

    /// Counts a task of `key` in and returns the guard that counts it out.
    pub(crate) fn admit(&mut self, table: &Arc<Mutex<KeyTable<K>>>, key: K) -> KeyGuard<K> {
        *self.running.entry(key.clone()).or_insert(0) += 1;
        KeyGuard {
            table: table.clone(),
            key: Some(key),
        }
    }
}

/// Held by a running task; its drop frees the slot of its key and wakes the gate.
#[derive(Debug)]
pub struct KeyGuard<K: Hash + Eq + Clone> {
    table: Arc<Mutex<KeyTable<K>>>,
    key: Option<K>,
}

impl<K: Hash + Eq + Clone> Drop for KeyGuard<K> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let waker = {
            let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(count) = table.running.get_mut(&key) {
                *count -= 1;
                if *count == 0 {
                    table.running.remove(&key);
                }
            }
            table.freed.push_back(key);
            table.waker.take()
        };
        if let Some(waker) = waker {
            waker.wake();
        }
    }
}
