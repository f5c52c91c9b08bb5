//! The slot arena: the futures in flight, each pinned in a box that is reused for the next one.
//!
//! A slot is allocated the first time it is needed (so a limit of 10 000 over 10 tasks makes 10)
//! and then reused for every later task: `Pin::set` drops the finished future in place and moves
//! the next one in, so a run makes no allocation per task and needs no `unsafe`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::adaptive::timing::Timer;
use crate::budget::Budget;
use crate::wake::{ReadyQueue, SlotWaker};

struct Slot<F> {
    future: Pin<Box<Option<F>>>,
    waker: Waker,
    handle: Arc<SlotWaker>,
}

/// What [`Slots::poll_woken`] found.
pub(crate) enum Woken<T> {
    /// A task finished with this output; its slot is free again.
    Output(T),
    /// No woken task finished, and none is waiting to be polled.
    Idle,
    /// The call's poll budget ran out; the consumer's waker was woken so it comes back soon.
    Yielded,
}

/// The futures in flight, at most `limit` of them; `T` times them for an adaptive limit.
pub(crate) struct Slots<F, T> {
    slots: Vec<Slot<F>>,
    free: Vec<usize>,
    running: usize,
    limit: usize,
    queue: Arc<ReadyQueue>,
    /// Woken indices taken from the queue and not yet polled; `batch[next..]` remain.
    batch: Vec<usize>,
    next: usize,
    /// For input order: reads a future's position, so one that panics can be written off.
    position_of: Option<fn(&F) -> u64>,
    /// Positions of futures dropped because their poll panicked, not yet seen by the caller.
    lost: Vec<u64>,
    /// Times the futures for a controller that sets `limit` from their latencies; a stream
    /// with a plain number has a timer that does nothing.
    timer: T,
}

impl<F: Future, T: Timer> Slots<F, T> {
    pub(crate) fn new(limit: usize, timer: T) -> Self {
        Slots {
            slots: Vec::new(),
            free: Vec::new(),
            running: 0,
            limit,
            queue: Arc::new(ReadyQueue::default()),
            batch: Vec::new(),
            next: 0,
            position_of: None,
            lost: Vec::new(),
            timer,
        }
    }

    /// Records the position of every future whose poll panics (see [`Slots::take_lost`]).
    pub(crate) fn track_positions(&mut self, position_of: fn(&F) -> u64) {
        self.position_of = Some(position_of);
    }

    /// The positions of futures that panicked since the last call (with
    /// [`Slots::track_positions`]); their outputs will never come.
    pub(crate) fn take_lost(&mut self) -> Option<u64> {
        self.lost.pop()
    }

    /// How many futures are in flight.
    pub(crate) fn running(&self) -> usize {
        self.running
    }

    /// The most futures that may be in flight at once.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Whether another future may start now.
    pub(crate) fn has_room(&self) -> bool {
        self.running < self.limit
    }

    /// Changes the limit, and what moves it from now on; futures already in flight above a
    /// lowered limit run to completion.
    pub(crate) fn set_limit(&mut self, limit: usize, timer: T) {
        self.limit = limit;
        self.timer = timer;
    }

    /// Starts `future` in a free slot and polls it once. A future that is ready at once hands
    /// its output straight back and leaves the slot free; otherwise it stays in flight.
    ///
    /// The caller checks [`Slots::has_room`] first.
    // Hot path of every task; see `Engine::poll_output` for why it is forced inline.
    #[inline(always)]
    pub(crate) fn start(&mut self, future: F) -> Option<F::Output> {
        debug_assert!(self.has_room());
        let index = match self.free.pop() {
            Some(index) => index,
            None => self.grow(),
        };
        self.slots[index].future.set(Some(future));
        self.running += 1;
        self.timer.started(index);
        self.poll_slot(index)
    }

    fn grow(&mut self) -> usize {
        let index = self.slots.len();
        let (handle, waker) = SlotWaker::new(self.queue.clone(), index);
        self.slots.push(Slot {
            future: Box::pin(None),
            waker,
            handle,
        });
        index
    }

    /// Polls the futures that were woken, in the order they were woken, until one finishes.
    ///
    /// Each call works through one snapshot of the queue: a future that wakes itself while
    /// polled goes to the back, behind everything woken before it, so it cannot starve the
    /// others. With `register`, when nothing is left the consumer's waker is registered for the
    /// next wake-up; without it, the check is a single atomic load when nothing was woken.
    #[inline(always)]
    pub(crate) fn poll_woken(
        &mut self,
        cx: &mut Context<'_>,
        budget: &mut Budget,
        register: bool,
    ) -> Woken<F::Output> {
        loop {
            while self.next < self.batch.len() {
                // Also stop when the task has spent tokio's budget: every tokio resource the
                // futures poll would answer Pending and wake itself again, a wasted round.
                if !budget.spend() || !tokio::task::coop::has_budget_remaining() {
                    cx.waker().wake_by_ref();
                    return Woken::Yielded;
                }
                let index = self.batch[self.next];
                self.next += 1;
                self.slots[index].handle.clear_queued();
                if let Some(output) = self.poll_slot(index) {
                    return Woken::Output(output);
                }
            }
            self.batch.clear();
            self.next = 0;
            let found = if register {
                self.queue.take_or_register(&mut self.batch, cx.waker())
            } else {
                self.queue.take(&mut self.batch)
            };
            if !found {
                return Woken::Idle;
            }
        }
    }
}

impl<F: Future, T: Timer> Slots<F, T> {
    /// Polls the future in slot `index`, if any; when it finishes, empties the slot, frees it
    /// and hands its output back.
    ///
    /// A poll that panics also frees the slot: the guard below drops the future while the
    /// panic unwinds, so a consumer that catches the panic and polls again finds the others
    /// going on (as `futures`' combinators do) instead of a slot held forever by a future that
    /// can never be polled again.
    #[inline(always)]
    fn poll_slot(&mut self, index: usize) -> Option<F::Output> {
        // An empty slot is woken by a late wake-up of the future that finished in it: skip it.
        if self.slots[index].future.is_none() {
            return None;
        }
        let guard = FreeOnUnwind { slots: self, index };
        let Slot { future, waker, .. } = &mut guard.slots.slots[index];
        let polled = future
            .as_mut()
            .as_pin_mut()
            .map(|future| future.poll(&mut Context::from_waker(waker)));
        // Not unwinding: nothing for the guard to do.
        std::mem::forget(guard);
        match polled {
            Some(Poll::Ready(output)) => {
                self.slots[index].future.set(None);
                self.free.push(index);
                if let Some(limit) = self.timer.finished(index, self.running) {
                    self.limit = limit;
                }
                self.running -= 1;
                Some(output)
            }
            _ => None,
        }
    }
}

/// Frees a slot whose future's poll is unwinding; forgotten when the poll returns.
struct FreeOnUnwind<'a, F: Future, T> {
    slots: &'a mut Slots<F, T>,
    index: usize,
}

impl<F: Future, T> Drop for FreeOnUnwind<'_, F, T> {
    fn drop(&mut self) {
        let slots = &mut *self.slots;
        let slot = &mut slots.slots[self.index];
        if let (Some(position_of), Some(future)) =
            (slots.position_of, slot.future.as_ref().get_ref())
        {
            slots.lost.push(position_of(future));
        }
        // Dropping a future whose poll panicked is what `futures` does too; if its drop panics
        // as well, the process aborts, as for any panic during unwinding.
        slot.future.set(None);
        slots.free.push(self.index);
        slots.running -= 1;
    }
}
