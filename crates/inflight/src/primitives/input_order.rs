//! The input-order core: an engine over futures that carry their own position, and the reorder
//! buffer that puts their outputs back in position order.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use pin_project_lite::pin_project;

use crate::limits::adaptive::timing::Timer;
use crate::limits::limit::Limit;
use crate::primitives::budget::Budget;
use crate::primitives::engine::Engine;
use crate::primitives::reorder::ReorderBuffer;

/// A future whose output is its input position (0, 1, 2... with no gaps) and a value, and whose
/// position can be read before it finishes (to write it off if its poll panics).
pub(crate) trait Positioned: Future<Output = (u64, <Self as Positioned>::Value)> {
    type Value;
    fn position(&self) -> u64;
}

pin_project! {
    /// Runs positioned futures and hands their values back in position order.
    pub(crate) struct InputOrder<S: Stream, T>
    where
        S::Item: Positioned,
    {
        #[pin]
        engine: Engine<S, T>,
        reorder: ReorderBuffer<<S::Item as Positioned>::Value>,
        capacity: usize,
    }
}

impl<S, T> InputOrder<S, T>
where
    S: Stream,
    S::Item: Positioned,
    T: Timer,
{
    pub(crate) fn new(source: S, limit: Limit, capacity: usize) -> Self {
        let mut engine = Engine::new(source, limit);
        engine.track_positions(|future: &S::Item| future.position());
        InputOrder {
            engine,
            reorder: ReorderBuffer::new(),
            capacity,
        }
    }

    pub(crate) fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity;
    }

    pub(crate) fn running(&self) -> usize {
        self.engine.running()
    }

    pub(crate) fn held(&self) -> usize {
        self.reorder.held()
    }

    pub(crate) fn pulled(&self) -> u64 {
        self.engine.pulled()
    }

    pub(crate) fn limit(&self) -> usize {
        self.engine.limit()
    }

    pub(crate) fn set_limit(&mut self, limit: Limit) {
        self.engine.set_limit(limit);
    }

    pub(crate) fn set_limit_pinned(self: Pin<&mut Self>, limit: Limit) {
        self.project().engine.set_limit_pinned(limit);
    }

    pub(crate) fn is_done(&self) -> bool {
        self.engine.is_done() && self.reorder.held() == 0
    }

    pub(crate) fn size_hint(&self) -> (usize, Option<usize>) {
        let (low, high) = self.engine.size_hint();
        let held = self.reorder.held();
        (
            low.saturating_add(held),
            high.and_then(|h| h.checked_add(held)),
        )
    }
}

impl<S, T> Stream for InputOrder<S, T>
where
    S: Stream,
    S::Item: Positioned,
    T: Timer,
{
    type Item = <S::Item as Positioned>::Value;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        let mut budget = Budget::new();
        // Futures that panicked in an earlier call (which the consumer caught) will never hand
        // their output back: the outputs after them must not wait for it.
        while let Some(position) = this.engine.as_mut().take_lost() {
            this.reorder.lose(position);
        }
        loop {
            if let Some(output) = this.reorder.pop() {
                return Poll::Ready(Some(output));
            }
            // A full buffer stops the pulling, unless nothing runs: then the missing position
            // has not started (a source may hand positions out of order, as the per-key gate
            // does), and only pulling can start it.
            let may_pull = this.reorder.held() < *this.capacity || this.engine.running() == 0;
            match this.engine.as_mut().poll_output(cx, &mut budget, may_pull) {
                Poll::Ready(Some((position, output))) => {
                    if let Some(output) = this.reorder.complete(position, output) {
                        return Poll::Ready(Some(output));
                    }
                }
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
