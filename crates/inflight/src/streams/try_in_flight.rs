//! [`TryInFlight`]: a stream of results that ends at the first error.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::stream::FusedStream;
use futures_core::Stream;
use pin_project_lite::pin_project;

pin_project! {
/// The stream of [`InflightExt::try_in_flight`](crate::InflightExt::try_in_flight) and
/// [`try_in_flight_ordered`](crate::InflightExt::try_in_flight_ordered): the `Ok` outputs, then
/// the first `Err`, then the end. At the first error every future in flight is dropped and
/// nothing more is pulled from the source.
#[must_use = "streams do nothing unless polled"]
#[derive(Debug)]
pub struct TryInFlight<S> {
    // Set to `None` (in place) at the first error, which cancels everything it runs.
    #[pin]
    inner: Option<S>,
}
}

impl<S> TryInFlight<S> {
    pub(crate) fn new(inner: S) -> Self {
        TryInFlight { inner: Some(inner) }
    }

    /// The stream inside, until an error ended it: to read its counts or change its limit.
    ///
    /// ```
    /// use inflight::InflightExt;
    /// let stream = futures::stream::iter([async { Ok::<_, ()>(1) }]).try_in_flight(4);
    /// assert_eq!(stream.get_ref().unwrap().limit(), 4);
    /// ```
    pub fn get_ref(&self) -> Option<&S> {
        self.inner.as_ref()
    }

    /// The stream inside, mutably, until an error ended it.
    ///
    /// ```
    /// use inflight::InflightExt;
    /// let mut stream = futures::stream::iter([async { Ok::<_, ()>(1) }]).try_in_flight(4);
    /// stream.get_mut().unwrap().set_limit(2);
    /// ```
    pub fn get_mut(&mut self) -> Option<&mut S> {
        self.inner.as_mut()
    }
}

impl<S, T, E> Stream for TryInFlight<S>
where
    S: Stream<Item = Result<T, E>>,
{
    type Item = Result<T, E>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut inner = self.project().inner;
        let Some(stream) = inner.as_mut().as_pin_mut() else {
            return Poll::Ready(None);
        };
        let polled = stream.poll_next(cx);
        if matches!(polled, Poll::Ready(Some(Err(_)) | None)) {
            inner.set(None);
        }
        polled
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.inner {
            // Any item may be the error that ends it.
            Some(inner) => (inner.size_hint().0.min(1), inner.size_hint().1),
            None => (0, Some(0)),
        }
    }
}

impl<S, T, E> FusedStream for TryInFlight<S>
where
    S: Stream<Item = Result<T, E>>,
{
    fn is_terminated(&self) -> bool {
        self.inner.is_none()
    }
}
