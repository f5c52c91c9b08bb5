//! The slot arena: the futures in flight, each pinned in a box that is reused for the next one.
//!
//! A slot is allocated the first time it is needed (so a limit of 10 000 over 10 tasks makes 10)
//! and then reused for every later task: `Pin::set` drops the finished future in place and moves
//! the next one in, so a run makes no allocation per task and needs no `unsafe`.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};

use crate::limits::adaptive::timing::Timer;
use crate::primitives::budget::Budget;
use crate::primitives::wake::{ReadyQueue, SlotWaker};

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
    /// The slot whose future is being polled (`index << 1`, plus 1 if it counts in `running`),
    /// or `IDLE`. Still set when the next call comes, it says that poll panicked.
    polling: usize,
    /// Times the futures for a controller that sets `limit` from their latencies; a stream
    /// with a plain number has a timer that does nothing.
    timer: T,
}

/// No future is being polled.
const IDLE: usize = usize::MAX;

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
            polling: IDLE,
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
        self.recover();
        self.lost.pop()
    }

    /// Frees the slot of a future whose poll panicked, if the last one did. Called first by
    /// every entry to the slots.
    ///
    /// A consumer that catches the panic and polls again so finds the other futures going on
    /// (as `futures`' combinators do) instead of a slot held forever by a future that can never
    /// be polled again, and the panicked future is dropped before anything else happens. This
    /// is done on the next call rather than by a guard during the unwinding because a guard
    /// cost 12 to 27 instructions per task (its fields are spilled for the landing pad); the
    /// mark costs two stores.
    #[inline(always)]
    pub(crate) fn recover(&mut self) {
        if self.polling != IDLE {
            self.free_panicked();
        }
    }

    #[cold]
    #[inline(never)]
    fn free_panicked(&mut self) {
        let (index, counted) = (self.polling >> 1, self.polling & 1 == 1);
        self.polling = IDLE;
        let slot = &mut self.slots[index];
        if let (Some(position_of), Some(future)) =
            (self.position_of, slot.future.as_ref().get_ref())
        {
            self.lost.push(position_of(future));
        }
        // Dropping a future whose poll panicked is what `futures` does too.
        slot.future.set(None);
        self.free.push(index);
        if counted {
            self.running -= 1;
        }
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
        self.timer.started(index);
        let slot = &mut self.slots[index];
        slot.future.set(Some(future));
        let polled = poll_slot(slot, &mut self.polling, index << 1);
        match polled {
            Some(_) => {
                self.free.push(index);
                // It ran alone in this slot: counted with the others in flight.
                if let Some(limit) = self.timer.finished(index, self.running + 1) {
                    self.limit = limit;
                }
            }
            None => self.running += 1,
        }
        polled
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
                let slot = &mut self.slots[index];
                slot.handle.clear_queued();
                if let Some(output) = poll_slot(slot, &mut self.polling, (index << 1) | 1) {
                    self.free.push(index);
                    if let Some(limit) = self.timer.finished(index, self.running) {
                        self.limit = limit;
                    }
                    self.running -= 1;
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

/// Polls the future in `slot`, if any, and when it finishes, empties the slot and hands its
/// output back. An empty slot is woken by a late wake-up of the future that finished in it:
/// skipped. While the poll runs, `polling` holds `mark` (the slot's index, and whether it counts
/// in `running`), so that a panic is cleaned up by the next call (see [`Slots::recover`]).
#[inline(always)]
fn poll_slot<F: Future>(slot: &mut Slot<F>, polling: &mut usize, mark: usize) -> Option<F::Output> {
    let future = slot.future.as_mut().as_pin_mut()?;
    *polling = mark;
    let polled = future.poll(&mut Context::from_waker(&slot.waker));
    *polling = IDLE;
    match polled {
        Poll::Ready(output) => {
            slot.future.set(None);
            Some(output)
        }
        Poll::Pending => None,
    }
}
