//! The gate between a source of inputs and the engine: takes a slot of the builder's limit,
//! numbers inputs, holds back inputs whose key is at its limit, and stops when the run halts.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_core::Stream;

use super::cells::KeyCell;
use super::give_back::{GiveBackCell, Returnable};
use super::progress::Progress;
use super::throttle::keys::{Key, KeyGuard, KeyTable, Keying};
use crate::limits::limiter::{Limiter, Permit};

/// An input let through the gate, with the slot it holds until its task ends.
pub(crate) struct Admitted<I> {
    /// Given back, if the run gives back, when dropped before its outcome is made.
    pub(crate) input: Returnable<I>,
    pub(crate) index: u64,
    /// A permit of the builder's limit, shared by all its runs.
    pub(crate) slot: Permit,
    pub(crate) key: Option<KeyGuard>,
}

pub(crate) struct GateConfig<I> {
    pub(crate) limiter: Limiter,
    pub(crate) keys: Arc<KeyCell<I>>,
    pub(crate) give_back: Arc<GiveBackCell<I>>,
    pub(crate) max_parked: usize,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) progress: Option<Progress>,
}

/// Yields an input only when it may start: a slot of the builder's limit is free and its key
/// has room. The engine polls it only when a slot of its own is free.
pub(crate) struct Gate<St: Stream> {
    // Boxed, so any stream will do (`unfold` and `async-stream` ones are not `Unpin`).
    source: Pin<Box<St>>,
    chooser: Chooser<St::Item>,
    limiter: Limiter,
    /// Waiting for a slot that other runs of the same builder hold.
    acquiring: Option<Pin<Box<dyn Future<Output = Permit> + Send>>>,
    stop: Arc<AtomicBool>,
    give_back: Arc<GiveBackCell<St::Item>>,
}

/// Numbering and per-key bookkeeping.
struct Chooser<I> {
    source_done: bool,
    next_index: u64,
    cell: Arc<KeyCell<I>>,
    /// Read from the cell when the first input is pulled.
    keying: Option<Option<Keying<I>>>,
    max_parked: usize,
    table: Arc<Mutex<KeyTable>>,
    parked: HashMap<Key, VecDeque<(u64, I)>>,
    parked_count: usize,
    progress: Option<Progress>,
}

impl<St: Stream> Gate<St> {
    pub(crate) fn new(source: St, config: GateConfig<St::Item>) -> Self {
        Gate {
            source: Box::pin(source),
            chooser: Chooser {
                source_done: false,
                next_index: 0,
                cell: config.keys,
                keying: None,
                max_parked: config.max_parked,
                table: KeyTable::new(),
                parked: HashMap::new(),
                parked_count: 0,
                progress: config.progress,
            },
            limiter: config.limiter,
            acquiring: None,
            stop: config.stop,
            give_back: config.give_back,
        }
    }
}

// Inputs are moved in and out of the parking area, never pinned, and the source is boxed:
// nothing in a gate is pinned in place.
impl<St: Stream> Unpin for Gate<St> {}

impl<St: Stream> Stream for Gate<St> {
    type Item = Admitted<St::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.stop.load(Ordering::Acquire) {
            return Poll::Ready(None);
        }
        // A slot first, so an input is pulled only when it can start (laziness).
        let Poll::Ready(slot) = this.limiter.poll_acquire(cx, &mut this.acquiring) else {
            return Poll::Pending;
        };
        // Without an input to start, the slot goes back at once: other runs may need it.
        let give_back = &this.give_back;
        this.chooser.choose(this.source.as_mut(), cx).map(|chosen| {
            chosen.map(|(input, index, key)| Admitted {
                input: Returnable::new(input, give_back.get().cloned()),
                index,
                slot,
                key,
            })
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let parked = self.chooser.parked_count;
        if self.chooser.source_done {
            return (parked, Some(parked));
        }
        let (low, high) = self.source.size_hint();
        (
            low.saturating_add(parked),
            high.and_then(|h| h.checked_add(parked)),
        )
    }
}

/// Parked inputs of a run that gives back go back when the run is dropped.
impl<St: Stream> Drop for Gate<St> {
    fn drop(&mut self) {
        if let Some(give_back) = self.give_back.get() {
            for (_, queue) in self.chooser.parked.drain() {
                for (_, input) in queue {
                    give_back.push(input);
                }
            }
        }
    }
}

type Chosen<I> = (I, u64, Option<KeyGuard>);

impl<I> Chooser<I> {
    fn pulled(&mut self) -> u64 {
        let index = self.next_index;
        self.next_index += 1;
        if let Some(progress) = &self.progress {
            progress.pulled();
        }
        index
    }

    /// The keys of this run, fixed when its first input is pulled.
    fn keying(&mut self) -> Option<&Keying<I>> {
        self.keying
            .get_or_insert_with(|| self.cell.start())
            .as_ref()
    }

    /// Picks the next input that may start: a parked one whose key has room, else a new one.
    fn choose<St: Stream<Item = I>>(
        &mut self,
        mut source: Pin<&mut St>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Chosen<I>>> {
        if matches!(self.keying, Some(None)) {
            // No keys: every input starts as it comes.
            return match source.poll_next(cx) {
                Poll::Ready(Some(input)) => Poll::Ready(Some((input, self.pulled(), None))),
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            };
        }
        let table_arc = self.table.clone();
        let mut table = table_arc.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(limit) = self
            .keying
            .as_ref()
            .and_then(|k| k.as_ref())
            .map(|k| k.limit)
        {
            // Parked inputs whose key has freed a slot go first, in the order the keys freed.
            // A key stays at the front while it has room and parked inputs, since one freed slot
            // may follow a lowered count of several.
            while let Some(key) = table.freed.pop_front() {
                if table.running(&key) >= limit {
                    continue;
                }
                let Some(queue) = self.parked.get_mut(&key) else {
                    continue;
                };
                let (index, input) = queue.pop_front().expect("parked queues are never empty");
                let more = !queue.is_empty();
                if !more {
                    self.parked.remove(&key);
                }
                self.parked_count -= 1;
                if more && table.running(&key) + 1 < limit {
                    table.freed.push_front(key.clone());
                }
                let guard = table.admit(&table_arc, key);
                return Poll::Ready(Some((input, index, Some(guard))));
            }
        }
        // New inputs: one whose key has room starts; the others park, up to the cap.
        while !self.source_done && self.parked_count < self.max_parked {
            match source.as_mut().poll_next(cx) {
                Poll::Ready(Some(input)) => {
                    let index = self.pulled();
                    let Some(keying) = self.keying() else {
                        // The first input, and the run has no keys.
                        return Poll::Ready(Some((input, index, None)));
                    };
                    let (limit, key) = (keying.limit, (keying.key_of)(&input));
                    if table.running(&key) < limit && !self.parked.contains_key(&key) {
                        let guard = table.admit(&table_arc, key);
                        return Poll::Ready(Some((input, index, Some(guard))));
                    }
                    self.parked
                        .entry(key)
                        .or_default()
                        .push_back((index, input));
                    self.parked_count += 1;
                }
                Poll::Ready(None) => self.source_done = true,
                Poll::Pending => break,
            }
        }
        if self.source_done && self.parked_count == 0 {
            return Poll::Ready(None);
        }
        // Woken when a key frees a slot (or by the source, if it was pending).
        table.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}
