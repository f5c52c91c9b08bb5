//! The wake queue: which slots have been woken since the consumer last looked.
//!
//! Each slot owns one [`Waker`] for its whole life, made once when the slot is first used, so a
//! task costs no allocation. Waking pushes the slot's index on a shared queue (once, however many
//! times it is woken before the consumer gets to it) and wakes the consumer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};

/// The queue of woken slot indices, shared by every slot waker of one stream and its consumer.
#[derive(Debug, Default)]
pub(crate) struct ReadyQueue {
    /// Set while `state.woken` may be non-empty, so the consumer can skip the lock when nothing
    /// was woken (the common case for futures that are ready on their first poll).
    maybe_woken: AtomicBool,
    state: Mutex<QueueState>,
}

#[derive(Debug, Default)]
struct QueueState {
    woken: Vec<usize>,
    consumer: Option<Waker>,
}

impl ReadyQueue {
    /// Moves every woken index into `into` (which is expected to be empty, and keeps its
    /// capacity) and returns whether there were any.
    ///
    /// When none were woken, `consumer` is registered to be woken by the next slot wake-up, in
    /// the same critical section, so a wake-up between the check and the registration is never
    /// lost.
    pub(crate) fn take_or_register(&self, into: &mut Vec<usize>, consumer: &Waker) -> bool {
        let mut state = self.lock();
        if state.woken.is_empty() {
            match &state.consumer {
                Some(w) if w.will_wake(consumer) => {}
                _ => state.consumer = Some(consumer.clone()),
            }
            return false;
        }
        std::mem::swap(&mut state.woken, into);
        self.maybe_woken.store(false, Ordering::Relaxed);
        true
    }

    /// Moves every woken index into `into`, without registering anyone; cheap when none were.
    pub(crate) fn take(&self, into: &mut Vec<usize>) -> bool {
        if !self.maybe_woken.load(Ordering::Acquire) {
            return false;
        }
        let mut state = self.lock();
        std::mem::swap(&mut state.woken, into);
        self.maybe_woken.store(false, Ordering::Relaxed);
        !into.is_empty()
    }

    fn push(&self, index: usize) {
        let consumer = {
            let mut state = self.lock();
            state.woken.push(index);
            self.maybe_woken.store(true, Ordering::Release);
            state.consumer.take()
        };
        // Wake outside the lock: the consumer may run on another thread at once and lock it.
        if let Some(consumer) = consumer {
            consumer.wake();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        // A panic while holding this lock can only come from an allocation failure; the state
        // is a plain list of indices and stays valid, so poisoning is ignored.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The waker of one slot.
#[derive(Debug)]
pub(crate) struct SlotWaker {
    queue: Arc<ReadyQueue>,
    index: usize,
    /// True while the index sits in the queue, so repeated wake-ups push it once.
    queued: AtomicBool,
}

impl SlotWaker {
    /// Makes the waker of slot `index`, with the handle that clears its queued flag.
    pub(crate) fn new(queue: Arc<ReadyQueue>, index: usize) -> (Arc<SlotWaker>, Waker) {
        let slot = Arc::new(SlotWaker {
            queue,
            index,
            queued: AtomicBool::new(false),
        });
        let waker = Waker::from(slot.clone());
        (slot, waker)
    }

    /// Called by the consumer just before it polls the slot: a wake-up during that poll must
    /// queue the slot again. The swap (not a store) acquires what the waking thread released,
    /// so the poll sees whatever the waker published before waking.
    pub(crate) fn clear_queued(&self) {
        self.queued.swap(false, Ordering::AcqRel);
    }
}

impl Wake for SlotWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if !self.queued.swap(true, Ordering::AcqRel) {
            self.queue.push(self.index);
        }
    }
}
