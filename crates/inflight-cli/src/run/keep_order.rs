//! `-k`: outputs printed in input order, while every record is logged as soon as its job
//! finishes. The library runs the jobs in completion order; this puts their outputs back in
//! order, and a window on the input keeps the jobs from running further ahead of the first
//! unprinted one than the bound: `-j` running plus [`crate::run::runner::KEEP_ORDER_BUFFER`] finished
//! and waiting.
//!
//! Done here rather than with the library's input-order stream because a job that finished
//! must be in the log at once, whatever runs before it: a run killed while a slow early job
//! holds the rest back must not lose the records of the jobs that finished behind it (their
//! outputs are not printed then, as they would come out of order).
use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use futures::Stream;

/// How far the input may run ahead of what has been printed, shared by the two sides.
#[derive(Default)]
pub struct Window {
    /// Positions handed back so far (printed, or with nothing to print).
    passed: AtomicU64,
    /// The input side, waiting for the window to move.
    waiting: Mutex<Option<Waker>>,
}

impl Window {
    fn advance_to(&self, passed: u64) {
        self.passed.store(passed, Ordering::Release);
        if let Some(waker) = self
            .waiting
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            waker.wake();
        }
    }
}

/// An input stream that pulls at most `bound` items past what the output side has passed.
pub struct Windowed<S> {
    inner: S,
    pulled: u64,
    bound: u64,
    window: Arc<Window>,
}

impl<S> Windowed<S> {
    pub fn new(inner: S, bound: usize, window: Arc<Window>) -> Self {
        Windowed {
            inner,
            pulled: 0,
            bound: bound as u64,
            window,
        }
    }

    fn open(&self) -> bool {
        self.pulled < self.window.passed.load(Ordering::Acquire) + self.bound
    }
}

impl<S: Stream + Unpin> Stream for Windowed<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        if !self.open() {
            *self
                .window
                .waiting
                .lock()
                .unwrap_or_else(|e| e.into_inner()) = Some(cx.waker().clone());
            // Checked again after registering, so a move in between is not missed.
            if !self.open() {
                return Poll::Pending;
            }
        }
        let polled = Pin::new(&mut self.inner).poll_next(cx);
        if let Poll::Ready(Some(_)) = polled {
            self.pulled += 1;
        }
        polled
    }
}

/// Finished jobs waiting for the ones before them, by the position the library gave them.
pub struct Reorder<T> {
    next: u64,
    held: BTreeMap<u64, Option<T>>,
    window: Arc<Window>,
}

impl<T> Reorder<T> {
    pub fn new(window: Arc<Window>) -> Self {
        Reorder {
            next: 0,
            held: BTreeMap::new(),
            window,
        }
    }

    /// Takes the job at `position` (`None`: nothing to print, it never ran) and returns what
    /// can be printed now, in order.
    pub fn complete(&mut self, position: u64, item: Option<T>) -> Vec<T> {
        self.held.insert(position, item);
        let mut ready = Vec::new();
        while let Some(item) = self.held.remove(&self.next) {
            self.next += 1;
            ready.extend(item);
        }
        self.window.advance_to(self.next);
        ready
    }

    /// Everything still held, in order, once no more will come (positions the run never
    /// handed back, because it stopped before starting them, are passed over).
    pub fn rest(&mut self) -> Vec<T> {
        std::mem::take(&mut self.held)
            .into_values()
            .flatten()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_come_back_in_order_and_the_window_moves() {
        let window = Arc::new(Window::default());
        let mut order = Reorder::new(window.clone());
        assert!(order.complete(2, Some('c')).is_empty());
        assert!(order.complete(1, None).is_empty());
        assert_eq!(window.passed.load(Ordering::Acquire), 0);
        assert_eq!(order.complete(0, Some('a')), ['a', 'c']);
        assert_eq!(window.passed.load(Ordering::Acquire), 3);
        assert!(order.complete(5, Some('f')).is_empty());
        assert_eq!(order.rest(), ['f']);
    }
}
