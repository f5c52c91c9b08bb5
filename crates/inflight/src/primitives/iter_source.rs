//! An iterator seen as a stream that is always ready, so one engine serves both.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;

/// An iterator of futures, pulled one item at a time as slots free up.
///
/// This is the source type behind [`as_completed`](crate::as_completed),
/// [`ordered`](crate::ordered) and [`gather`](crate::gather); you meet it only in their return
/// types.
#[derive(Debug, Clone)]
pub struct IterSource<I> {
    iter: I,
}

impl<I> IterSource<I> {
    pub(crate) fn new(iter: I) -> Self {
        IterSource { iter }
    }
}

impl<I: Iterator> Stream for IterSource<I> {
    type Item = I::Item;

    fn poll_next(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<I::Item>> {
        // `IterSource` is `Unpin` (it never pins `I`), so this is a plain mutable access.
        Poll::Ready(self.get_mut().iter.next())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.iter.size_hint()
    }
}

impl<I> Unpin for IterSource<I> {}
