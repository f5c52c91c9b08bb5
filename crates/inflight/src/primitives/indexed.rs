//! Tags each future from a source with its position, so outputs can be put back in input order.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use pin_project_lite::pin_project;

pin_project! {
    /// A future that returns its input position along with its output.
    pub(crate) struct IndexedFuture<F> {
        index: u64,
        #[pin]
        future: F,
    }
}

impl<F> IndexedFuture<F> {
    pub(crate) fn new(index: u64, future: F) -> Self {
        IndexedFuture { index, future }
    }
}

impl<F: Future> crate::primitives::input_order::Positioned for IndexedFuture<F> {
    type Value = F::Output;
    fn position(&self) -> u64 {
        self.index
    }
}

impl<F: Future> Future for IndexedFuture<F> {
    type Output = (u64, F::Output);

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let index = *this.index;
        this.future.poll(cx).map(|output| (index, output))
    }
}

pin_project! {
    /// A stream of futures whose items are numbered 0, 1, 2... as they are pulled.
    pub(crate) struct Indexed<St> {
        #[pin]
        source: St,
        next: u64,
    }
}

impl<St> Indexed<St> {
    pub(crate) fn new(source: St) -> Self {
        Indexed { source, next: 0 }
    }
}

impl<St> Stream for Indexed<St>
where
    St: Stream,
    St::Item: Future,
{
    type Item = IndexedFuture<St::Item>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        this.source.poll_next(cx).map(|item| {
            item.map(|future| {
                let index = *this.next;
                *this.next += 1;
                IndexedFuture { index, future }
            })
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.source.size_hint()
    }
}
