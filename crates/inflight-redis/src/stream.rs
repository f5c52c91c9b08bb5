//! [`Unfold`]: a `Stream` made from an async step function over a state, the one piece of
//! `futures::stream::unfold` this crate needs (its dependencies stay at `futures-core`).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

type Step<S, T> = Pin<Box<dyn Future<Output = Option<(T, S)>> + Send>>;

/// Calls `step(state)` for each item; the stream ends when a step returns `None`.
pub(crate) struct Unfold<S, T> {
    state: Option<S>,
    running: Option<Step<S, T>>,
    step: fn(S) -> Step<S, T>,
}

impl<S, T> Unfold<S, T> {
    pub(crate) fn new(state: S, step: fn(S) -> Step<S, T>) -> Unfold<S, T> {
        Unfold {
            state: Some(state),
            running: None,
            step,
        }
    }

    /// The state between items (`None` while a step runs or after the end).
    pub(crate) fn state(&self) -> Option<&S> {
        self.state.as_ref()
    }
}

// Nothing is pinned in place: the running step is boxed.
impl<S, T> Unpin for Unfold<S, T> {}

impl<S, T> Stream for Unfold<S, T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        if this.running.is_none() {
            let Some(state) = this.state.take() else {
                return Poll::Ready(None);
            };
            this.running = Some((this.step)(state));
        }
        let running = this.running.as_mut().expect("a step is running");
        match running.as_mut().poll(cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(next) => {
                this.running = None;
                match next {
                    Some((item, state)) => {
                        this.state = Some(state);
                        Poll::Ready(Some(item))
                    }
                    None => Poll::Ready(None),
                }
            }
        }
    }
}
