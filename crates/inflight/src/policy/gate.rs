//! The gate between a source of inputs and the engine: numbers inputs, holds back inputs whose
//! key is at its limit, paces starts, and stops when the run halts.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_core::Stream;
use pin_project_lite::pin_project;
use tokio::time::{Instant, Sleep};

use super::keys::{KeyGuard, KeyOf, KeyTable};
use super::progress::Progress;
use super::rate::Pacer;

/// An input let through the gate: it starts now.
pub(crate) struct Admitted<I, K: std::hash::Hash + Eq + Clone> {
    pub(crate) input: I,
    pub(crate) index: u64,
    pub(crate) guard: Option<KeyGuard<K>>,
}

pub(crate) struct GateConfig<KF> {
    pub(crate) pacer: Pacer,
    pub(crate) keys: KF,
    pub(crate) per_key: usize,
    pub(crate) max_parked: usize,
    pub(crate) stop: Arc<AtomicBool>,
    pub(crate) progress: Option<Progress>,
}

/// Numbering and per-key bookkeeping: everything but the source and the pacer.
struct Chooser<I, KF: KeyOf<I>> {
    source_done: bool,
    next_index: u64,
    keys: KF,
    per_key: usize,
    max_parked: usize,
    table: Arc<Mutex<KeyTable<KF::Key>>>,
    parked: HashMap<KF::Key, VecDeque<(u64, I)>>,
    parked_count: usize,
    progress: Option<Progress>,
}

pin_project! {
    /// Yields an input only when it may start. The engine polls it only when a slot is free,
    /// so every item it yields is a start.
    pub(crate) struct Gate<St: Stream, KF: KeyOf<St::Item>> {
        #[pin]
        source: St,
        chooser: Chooser<St::Item, KF>,
        pacer: Pacer,
        // The input chosen to start next, waiting for the pacer.
        ready: Option<Admitted<St::Item, KF::Key>>,
        sleep: Option<Pin<Box<Sleep>>>,
        stop: Arc<AtomicBool>,
    }
}

impl<St: Stream, KF: KeyOf<St::Item>> Gate<St, KF> {
    pub(crate) fn new(source: St, config: GateConfig<KF>) -> Self {
        Gate {
            source,
            chooser: Chooser {
                source_done: false,
                next_index: 0,
                keys: config.keys,
                per_key: config.per_key,
                max_parked: config.max_parked,
                table: KeyTable::new(),
                parked: HashMap::new(),
                parked_count: 0,
                progress: config.progress,
            },
            pacer: config.pacer,
            ready: None,
            sleep: None,
            stop: config.stop,
        }
    }
}

impl<St: Stream, KF: KeyOf<St::Item>> Stream for Gate<St, KF> {
    type Item = Admitted<St::Item, KF::Key>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        if this.stop.load(Ordering::Acquire) {
            *this.ready = None;
            return Poll::Ready(None);
        }
        if this.ready.is_none() {
            match this.chooser.choose(this.source.as_mut(), cx) {
                Poll::Ready(Some(admitted)) => *this.ready = Some(admitted),
                other => return other,
            }
        }
        // Pacing comes after choosing, so an exhausted source never waits for the rate; the
        // chosen input is the one the free slot will take, so laziness holds.
        {
            let pacer = &*this.pacer;
            loop {
                if let Some(sleep) = this.sleep.as_mut() {
                    if sleep.as_mut().poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                }
                match pacer.try_start(Instant::now()) {
                    Ok(()) => {
                        *this.sleep = None;
                        break;
                    }
                    Err(at) => match this.sleep.as_mut() {
                        Some(sleep) => sleep.as_mut().reset(at),
                        None => *this.sleep = Some(Box::pin(tokio::time::sleep_until(at))),
                    },
                }
            }
        }
        Poll::Ready(this.ready.take())
    }
}

impl<I, KF: KeyOf<I>> Chooser<I, KF> {
    fn pulled(&mut self) -> u64 {
        let index = self.next_index;
        self.next_index += 1;
        if let Some(progress) = &self.progress {
            progress.pulled();
        }
        index
    }

    /// Picks the next input that may start: a parked one whose key has room, else a new one.
    fn choose<St: Stream<Item = I>>(
        &mut self,
        mut source: Pin<&mut St>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Admitted<I, KF::Key>>> {
        if !KF::ENABLED {
            return match source.poll_next(cx) {
                Poll::Ready(Some(input)) => {
                    let index = self.pulled();
                    Poll::Ready(Some(Admitted {
                        input,
                        index,
                        guard: None,
                    }))
                }
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            };
        }
        let table_arc = self.table.clone();
        let mut table = table_arc.lock().unwrap_or_else(|e| e.into_inner());
        // Parked inputs whose key has freed a slot go first, in the order the keys freed. A key
        // stays at the front while it has room and parked inputs, since one freed slot may
        // follow a lowered count of several (or a key with several free slots).
        while let Some(key) = table.freed.pop_front() {
            if table.running(&key) >= self.per_key {
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
            if more && table.running(&key) + 1 < self.per_key {
                table.freed.push_front(key.clone());
            }
            let guard = table.admit(&table_arc, key);
            return Poll::Ready(Some(Admitted {
                input,
                index,
                guard: Some(guard),
            }));
        }
        // New inputs: one whose key has room starts; the others park, up to the cap.
        while !self.source_done && self.parked_count < self.max_parked {
            match source.as_mut().poll_next(cx) {
                Poll::Ready(Some(input)) => {
                    let index = self.pulled();
                    let key = self.keys.key_of(&input);
                    if table.running(&key) < self.per_key && !self.parked.contains_key(&key) {
                        let guard = table.admit(&table_arc, key);
                        return Poll::Ready(Some(Admitted {
                            input,
                            index,
                            guard: Some(guard),
                        }));
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
