//! Outputs in input order: [`ordered`] and [`Ordered`].

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::stream::FusedStream;
use futures_core::Stream;
use pin_project_lite::pin_project;

use crate::budget::Coop;
use crate::indexed::Indexed;
use crate::input_order::InputOrder;
use crate::iter_source::IterSource;
use crate::limit::{check, IntoLimit, Limit, TimerOf};
use crate::limit_check::check_limit;

/// Runs `futures` with at most `limit` in flight and yields their outputs in input order.
///
/// `limit` (a number, or a [`Limit::adaptive`]) counts running futures. An output that
/// finishes before an earlier one waits in a reorder buffer. **Once the buffer holds
/// `capacity` outputs (default: the limit, an adaptive limit's max; change it with
/// [`Ordered::reorder_capacity`]), no more input is pulled** until the earliest unfinished
/// future completes; the futures still running may add up to `limit - 1` more, so the buffer
/// holds at most `capacity + limit - 1`. A slow first task can then leave slots idle
/// (head-of-line blocking). A larger buffer trades memory for throughput;
/// [`as_completed`](crate::as_completed) avoids the problem if the order does not matter.
///
/// Pulled minus handed back is at most `limit + capacity`.
///
/// # Panics
///
/// If `limit` is 0 (or an adaptive limit's min is above its max).
///
/// # Example
///
/// ```
/// use futures::StreamExt;
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let tasks = (1..=20u64).map(|i| async move {
///     tokio::time::sleep(Duration::from_millis(100 / i)).await;
///     i
/// });
/// let outputs: Vec<u64> = inflight::ordered(tasks, 5).collect().await;
/// assert_eq!(outputs, (1..=20).collect::<Vec<_>>());
/// # }
/// ```
#[track_caller]
pub fn ordered<I, L>(futures: I, limit: L) -> Ordered<IterSource<I::IntoIter>, L::Kept>
where
    I: IntoIterator,
    I::Item: Future,
    L: IntoLimit,
{
    let limit = check(limit.into(), "ordered: limit");
    Ordered::new(IterSource::new(futures.into_iter()), limit)
}

pin_project! {
    /// A stream of the outputs of futures from `St`, in input order, at most `limit` in flight.
    /// Made by [`ordered`] and [`InflightExt::in_flight_ordered`](crate::InflightExt::in_flight_ordered).
    /// `L` is the limit it keeps, as for [`AsCompleted`](crate::AsCompleted).
    #[must_use = "streams do nothing unless polled"]
    pub struct Ordered<St: Stream, L: IntoLimit = usize>
    where
        St::Item: Future,
    {
        #[pin]
        inner: InputOrder<Indexed<St>, TimerOf<L>>,
        coop: Coop,
    }
}

impl<St, L> Ordered<St, L>
where
    St: Stream,
    St::Item: Future,
    L: IntoLimit,
{
    /// The caller has checked `limit` (each entry point names itself in the panic).
    pub(crate) fn new(source: St, limit: Limit) -> Self {
        Ordered {
            inner: InputOrder::new(Indexed::new(source), limit, limit.most()),
            coop: Coop::default(),
        }
    }

    /// Sets how many finished outputs may wait for an earlier one before input stops being
    /// pulled (default: the limit, or an adaptive limit's max).
    ///
    /// # Panics
    ///
    /// If `capacity` is 0: nothing could ever finish out of order, so nothing would run.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// use futures::StreamExt;
    /// let outputs: Vec<i32> = inflight::ordered((0..10).map(|i| async move { i }), 4)
    ///     .reorder_capacity(100)
    ///     .collect()
    ///     .await;
    /// assert_eq!(outputs, (0..10).collect::<Vec<_>>());
    /// # });
    /// ```
    #[track_caller]
    pub fn reorder_capacity(mut self, capacity: usize) -> Self {
        check_limit(capacity, "reorder_capacity: capacity");
        self.inner.set_capacity(capacity);
        self
    }

    /// How many futures are in flight now.
    ///
    /// ```
    /// assert_eq!(inflight::ordered([async { 1 }], 4).running(), 0);
    /// ```
    pub fn running(&self) -> usize {
        self.inner.running()
    }

    /// How many finished outputs wait for an earlier one.
    ///
    /// ```
    /// assert_eq!(inflight::ordered([async { 1 }], 4).buffered_len(), 0);
    /// ```
    pub fn buffered_len(&self) -> usize {
        self.inner.held()
    }

    /// How many futures have been pulled from the source so far.
    ///
    /// ```
    /// assert_eq!(inflight::ordered([async { 1 }], 4).pulled(), 0);
    /// ```
    pub fn pulled(&self) -> u64 {
        self.inner.pulled()
    }

    /// The most futures that may be in flight at once.
    ///
    /// ```
    /// assert_eq!(inflight::ordered([async {}], 3).limit(), 3);
    /// ```
    pub fn limit(&self) -> usize {
        self.inner.limit()
    }
}

impl<St> Ordered<St, usize>
where
    St: Stream,
    St::Item: Future,
{
    /// Changes the limit, as [`AsCompleted::set_limit`](crate::AsCompleted::set_limit) does
    /// (0 pauses).
    ///
    /// ```
    /// let mut stream = inflight::ordered([async {}], 3);
    /// stream.set_limit(1);
    /// assert_eq!(stream.limit(), 1);
    /// ```
    pub fn set_limit(&mut self, limit: usize) {
        self.inner.set_limit(Limit::fixed(limit));
    }
}

impl<St> Ordered<St, Limit>
where
    St: Stream,
    St::Item: Future,
{
    /// Changes the limit, as the [`AsCompleted`](crate::AsCompleted) that keeps a `Limit`
    /// does (0 pauses; a number fixes it, an adaptive limit adapts from here). The reorder
    /// buffer's capacity does not change.
    ///
    /// ```
    /// let mut stream = inflight::ordered([async {}], inflight::Limit::adaptive());
    /// stream.set_limit(1);
    /// assert_eq!(stream.limit(), 1);
    /// ```
    pub fn set_limit(&mut self, limit: impl Into<Limit>) {
        self.inner.set_limit(limit.into());
    }
}

impl<St, L> Stream for Ordered<St, L>
where
    St: Stream,
    St::Item: Future,
    L: IntoLimit,
{
    type Item = <St::Item as Future>::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        let mut inner = this.inner;
        this.coop.poll(cx, |cx| inner.as_mut().poll_next(cx))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
    }
}

impl<St, L> FusedStream for Ordered<St, L>
where
    St: Stream,
    St::Item: Future,
    L: IntoLimit,
{
    fn is_terminated(&self) -> bool {
        self.inner.is_done()
    }
}

impl<St: Stream, L: IntoLimit> std::fmt::Debug for Ordered<St, L>
where
    St::Item: Future,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ordered").finish_non_exhaustive()
    }
}
