//! Per-key limits: how many tasks of one key (say, one host) run at once.
//!
//! A run's keys come from the function given to its `per_key`, whose key type the builder
//! cannot know, so keys are erased to [`Key`]: equal when the values are equal (and of the same
//! type), hashed by value, shown by the value's `Display` (the name a shared per-key limit uses).

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, Mutex};
use std::task::Waker;

/// A key of any type, compared, hashed and shown by its value.
#[derive(Clone)]
pub(crate) struct Key(Arc<dyn KeyValue>);

trait KeyValue: Send + Sync + 'static {
    fn same(&self, other: &dyn KeyValue) -> bool;
    fn hash_value(&self, state: &mut dyn Hasher);
    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result;
    fn as_any(&self) -> &dyn Any;
}

impl<K: Hash + Eq + fmt::Display + Send + Sync + 'static> KeyValue for K {
    fn same(&self, other: &dyn KeyValue) -> bool {
        other.as_any().downcast_ref::<K>() == Some(self)
    }
    fn hash_value(&self, mut state: &mut dyn Hasher) {
        self.hash(&mut state);
    }
    fn show(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Key {
    pub(crate) fn new<K: Hash + Eq + fmt::Display + Send + Sync + 'static>(key: K) -> Key {
        Key(Arc::new(key))
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Key) -> bool {
        self.0.same(&*other.0)
    }
}

impl Eq for Key {}

impl Hash for Key {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.hash_value(state);
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.show(f)
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({self})")
    }
}

/// A run's per-key limit and the function that keys its inputs.
pub(crate) struct Keying<I> {
    pub(crate) limit: usize,
    pub(crate) key_of: Arc<dyn Fn(&I) -> Key + Send + Sync>,
}

impl<I> Clone for Keying<I> {
    fn clone(&self) -> Self {
        Keying {
            limit: self.limit,
            key_of: self.key_of.clone(),
        }
    }
}

/// How many tasks of each key run now, and which keys freed a slot since the gate last looked.
#[derive(Debug)]
pub(crate) struct KeyTable {
    running: HashMap<Key, usize>,
    pub(crate) freed: VecDeque<Key>,
    pub(crate) waker: Option<Waker>,
}

impl KeyTable {
    pub(crate) fn new() -> Arc<Mutex<KeyTable>> {
        Arc::new(Mutex::new(KeyTable {
            running: HashMap::new(),
            freed: VecDeque::new(),
            waker: None,
        }))
    }

    pub(crate) fn running(&self, key: &Key) -> usize {
        self.running.get(key).copied().unwrap_or(0)
    }

    /// Counts a task of `key` in and returns the guard that counts it out.
    pub(crate) fn admit(&mut self, table: &Arc<Mutex<KeyTable>>, key: Key) -> KeyGuard {
        *self.running.entry(key.clone()).or_insert(0) += 1;
        KeyGuard {
            table: table.clone(),
            key: Some(key),
        }
    }
}

/// Held by a running task; its drop frees the slot of its key and wakes the gate.
#[derive(Debug)]
pub(crate) struct KeyGuard {
    table: Arc<Mutex<KeyTable>>,
    key: Option<Key>,
}

impl KeyGuard {
    /// The key this guard counts.
    pub(crate) fn key(&self) -> &Key {
        self.key.as_ref().expect("set until dropped")
    }
}

impl Drop for KeyGuard {
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

#[cfg(test)]
mod tests {
    use super::Key;
    use std::collections::HashSet;

    #[test]
    fn keys_are_equal_by_value_and_type() {
        let keys: HashSet<Key> = [
            Key::new("a.example".to_string()),
            Key::new("a.example".to_string()),
            Key::new("b.example".to_string()),
            Key::new("a.example"), // a &str, not a String: another key
            Key::new(7u32),
        ]
        .into_iter()
        .collect();
        assert_eq!(keys.len(), 4);
        assert_eq!(Key::new(7u32).to_string(), "7");
    }
}
