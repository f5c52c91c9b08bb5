//! [`Outcomes`]: the stream a run under policies hands back.

use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;

use super::halt::{Halt, HaltMode};
use super::handle::Control;
use super::outcome::Outcome;
use crate::as_completed::AsCompleted;
use crate::input_order::{InputOrder, Positioned};

/// A stream whose limit can be changed from a [`RunHandle`](crate::RunHandle).
pub trait Resizable {
    /// Sets the most tasks in flight.
    fn resize(&mut self, limit: usize);
    /// The most tasks in flight now.
    fn limit(&self) -> usize;
}

impl<St> Resizable for AsCompleted<St>
where
    St: Stream,
    St::Item: std::future::Future,
{
    fn resize(&mut self, limit: usize) {
        self.set_limit(limit);
    }
    fn limit(&self) -> usize {
        self.limit()
    }
}

impl<S> Resizable for InputOrder<S>
where
    S: Stream,
    S::Item: Positioned,
{
    fn resize(&mut self, limit: usize) {
        self.set_limit(limit);
    }
    fn limit(&self) -> usize {
        self.limit()
    }
}

/// The outcomes of a run made by [`Inflight`](crate::Inflight), one per input, in the order the
/// entry point names; it ends early if the [`ErrorPolicy`](crate::ErrorPolicy) halts the run,
/// and dropping it cancels every task in flight.
#[must_use = "streams do nothing unless polled"]
pub struct Outcomes<S> {
    /// `None` once the run has halted: dropping it cancelled what was in flight.
    inner: Option<S>,
    halt: Arc<Halt>,
    control: Option<Arc<Control>>,
}

impl<S> Outcomes<S> {
    pub(crate) fn new(inner: S, halt: Arc<Halt>, control: Option<Arc<Control>>) -> Self {
        Outcomes {
            inner: Some(inner),
            halt,
            control,
        }
    }

    /// Whether the error policy stopped the run before its input ran out.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use futures::StreamExt;
    /// let mut run = inflight::Inflight::new(1)
    ///     .errors(inflight::ErrorPolicy::FailFast)
    ///     .as_completed(0..10, |&i| async move { if i == 2 { Err("bad") } else { Ok(i) } });
    /// while let Some(_) = run.next().await {}
    /// assert!(run.halted());
    /// # }
    /// ```
    pub fn halted(&self) -> bool {
        self.halt.stop.load(Ordering::Acquire)
    }
}

impl<S, I, T, E> Stream for Outcomes<S>
where
    S: Stream<Item = Outcome<I, T, E>> + Resizable + Unpin,
{
    type Item = Outcome<I, T, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        if let Some(control) = &this.control {
            let limit = control.limit.load(Ordering::Acquire);
            if limit != inner.limit() {
                inner.resize(limit);
            }
        }
        let Poll::Ready(outcome) = Pin::new(&mut *inner).poll_next(cx) else {
            // Waiting: a raised limit must wake this consumer to fill the new slots. The limit
            // is read again after registering, so a change in between is not missed.
            if let Some(control) = &this.control {
                {
                    let mut wakers = control.wakers.lock().unwrap_or_else(|e| e.into_inner());
                    if !wakers.iter().any(|w| w.will_wake(cx.waker())) {
                        wakers.push(cx.waker().clone());
                    }
                }
                let limit = control.limit.load(Ordering::Acquire);
                if limit != inner.limit() {
                    cx.waker().wake_by_ref();
                }
            }
            return Poll::Pending;
        };
        if let Some(outcome) = &outcome {
            // `Soon` lets the inner stream drain: the gate pulls nothing more once halted.
            if this.halt.mode == HaltMode::Now && this.halt.trigger() == Some(outcome.index) {
                this.inner = None; // cancels the tasks in flight
            }
        }
        Poll::Ready(outcome)
    }
}

impl<S> std::fmt::Debug for Outcomes<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outcomes")
            .field("halted", &self.halted())
            .finish_non_exhaustive()
    }
}
