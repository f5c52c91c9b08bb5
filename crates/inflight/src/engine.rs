//! The pull loop shared by every stream: refill free slots from the source, poll what was woken.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use futures_core::Stream;
use pin_project_lite::pin_project;

use crate::adaptive::timing::Timer;
use crate::budget::Budget;
use crate::limit::Limit;
use crate::slots::{Slots, Woken};

pin_project! {
    /// A source of futures and the slots that run them; `T` times them for an adaptive limit.
    pub(crate) struct Engine<St: Stream, T> {
        #[pin]
        source: St,
        source_done: bool,
        pulled: u64,
        slots: Slots<St::Item, T>,
        // The consumer, while a limit of 0 keeps everything from starting: woken by a raise.
        paused: Option<Waker>,
    }
}

impl<St, T> Engine<St, T>
where
    St: Stream,
    St::Item: Future,
    T: Timer,
{
    pub(crate) fn new(source: St, limit: Limit) -> Self {
        let (limit, controller) = limit.start(None);
        let timer = T::start(controller);
        Engine {
            source,
            source_done: false,
            pulled: 0,
            slots: Slots::new(limit, timer),
            paused: None,
        }
    }

    /// Records the position of each future whose poll panics, for [`Engine::take_lost`].
    pub(crate) fn track_positions(&mut self, position_of: fn(&St::Item) -> u64) {
        self.slots.track_positions(position_of);
    }

    /// A position whose future panicked and was dropped, if any is not yet taken.
    pub(crate) fn take_lost(self: Pin<&mut Self>) -> Option<u64> {
        self.project().slots.take_lost()
    }

    /// How many futures are in flight.
    pub(crate) fn running(&self) -> usize {
        self.slots.running()
    }

    /// How many items were pulled from the source so far.
    pub(crate) fn pulled(&self) -> u64 {
        self.pulled
    }

    pub(crate) fn limit(&self) -> usize {
        self.slots.limit()
    }

    pub(crate) fn set_limit(&mut self, limit: Limit) {
        let (limit, controller) = limit.start(Some(self.slots.limit()));
        let timer = T::start(controller);
        self.slots.set_limit(limit, timer);
        if limit > 0 {
            if let Some(consumer) = self.paused.take() {
                consumer.wake();
            }
        }
    }

    /// Whether the source is exhausted and nothing is in flight.
    pub(crate) fn is_done(&self) -> bool {
        self.source_done && self.slots.running() == 0
    }

    pub(crate) fn size_hint(&self) -> (usize, Option<usize>) {
        let running = self.slots.running();
        if self.source_done {
            return (running, Some(running));
        }
        let (low, high) = self.source.size_hint();
        (
            low.saturating_add(running),
            high.and_then(|h| h.checked_add(running)),
        )
    }

    /// The next output in completion order. Pulls from the source only while `may_pull` and
    /// a slot is free; `Ready(None)` once the source is exhausted and nothing is in flight.
    // Inlined into each stream's `poll_next`: out of line it cost 80 of 216 instructions per
    // ready task (callgrind, BENCHMARKS.md), and whether LLVM inlines it on its own varies
    // with the crate it is instantiated in.
    #[inline(always)]
    pub(crate) fn poll_output(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        budget: &mut Budget,
        may_pull: bool,
    ) -> Poll<Option<<St::Item as Future>::Output>> {
        let mut this = self.project();
        this.slots.recover();
        // Tasks woken since the last call go first, so a source of ready futures cannot starve
        // tasks that are waiting to be polled.
        match this.slots.poll_woken(cx, budget, false) {
            Woken::Output(output) => return Poll::Ready(Some(output)),
            Woken::Yielded => return Poll::Pending,
            Woken::Idle => {}
        }
        while may_pull && !*this.source_done && this.slots.has_room() {
            // A new future is polled as it starts: not once the task's tokio budget is spent,
            // when its tokio resources would only answer Pending.
            if !budget.spend() || !tokio::task::coop::has_budget_remaining() {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            match this.source.as_mut().poll_next(cx) {
                Poll::Ready(Some(future)) => {
                    *this.pulled += 1;
                    if let Some(output) = this.slots.start(future) {
                        return Poll::Ready(Some(output));
                    }
                }
                Poll::Ready(None) => *this.source_done = true,
                Poll::Pending => break,
            }
        }
        if this.slots.running() == 0 {
            // Nothing in flight: either the source is done, or it is pending and will wake us,
            // or a limit of 0 holds everything back until `set_limit` raises it (a caller that
            // passes `may_pull == false` has work in flight by contract).
            if *this.source_done {
                return Poll::Ready(None);
            }
            if this.slots.limit() == 0 {
                *this.paused = Some(cx.waker().clone());
            }
            return Poll::Pending;
        }
        match this.slots.poll_woken(cx, budget, true) {
            Woken::Output(output) => Poll::Ready(Some(output)),
            Woken::Idle | Woken::Yielded => Poll::Pending,
        }
    }
}
