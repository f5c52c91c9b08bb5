//! [`InflightExt`]: `.in_flight(limit)` on any stream of futures.

use std::future::Future;

use futures_core::Stream;

use crate::limits::limit::{check, IntoLimit};
use crate::streams::as_completed::AsCompleted;
use crate::streams::ordered::Ordered;
use crate::streams::try_in_flight::TryInFlight;

/// Runs the futures of a stream with a bounded number in flight: a number, or a
/// [`Limit::adaptive`](crate::Limit::adaptive).
///
/// The stream is pulled only when a slot is free; while it is pending, futures already in
/// flight go on and their outputs are handed back.
///
/// # Example
///
/// ```
/// use futures::StreamExt;
/// use inflight::InflightExt;
///
/// # futures::executor::block_on(async {
/// let urls = futures::stream::iter(["a", "bb", "ccc"]);
/// let lengths: Vec<usize> = urls
///     .map(|url| async move { url.len() })
///     .in_flight_ordered(2)
///     .collect()
///     .await;
/// assert_eq!(lengths, [1, 2, 3]);
/// # });
/// ```
pub trait InflightExt: Stream
where
    Self::Item: Future,
{
    /// Outputs in completion order, at most `limit` futures in flight; see
    /// [`as_completed`](crate::as_completed).
    ///
    /// # Panics
    ///
    /// If `limit` is 0 (or an adaptive limit's min is above its max).
    ///
    /// ```
    /// use futures::StreamExt;
    /// use inflight::InflightExt;
    ///
    /// # futures::executor::block_on(async {
    /// let mut sum = 0;
    /// let mut outputs = futures::stream::iter(1..=4).map(|i| async move { i * i }).in_flight(2);
    /// while let Some(square) = outputs.next().await {
    ///     sum += square;
    /// }
    /// assert_eq!(sum, 30);
    /// # });
    /// ```
    #[track_caller]
    fn in_flight<L: IntoLimit>(self, limit: L) -> AsCompleted<Self, L::Kept>
    where
        Self: Sized,
    {
        let limit = check(limit.into(), "in_flight: limit");
        AsCompleted::new(self, limit)
    }

    /// Outputs in input order, at most `limit` futures in flight; see
    /// [`ordered`](crate::ordered) for the reorder buffer and its cap.
    ///
    /// # Panics
    ///
    /// If `limit` is 0 (or an adaptive limit's min is above its max).
    ///
    /// ```
    /// use futures::StreamExt;
    /// use inflight::InflightExt;
    ///
    /// # futures::executor::block_on(async {
    /// let outputs: Vec<i32> = futures::stream::iter(0..5)
    ///     .map(|i| async move { i })
    ///     .in_flight_ordered(3)
    ///     .collect()
    ///     .await;
    /// assert_eq!(outputs, [0, 1, 2, 3, 4]);
    /// # });
    /// ```
    #[track_caller]
    fn in_flight_ordered<L: IntoLimit>(self, limit: L) -> Ordered<Self, L::Kept>
    where
        Self: Sized,
    {
        let limit = check(limit.into(), "in_flight_ordered: limit");
        Ordered::new(self, limit)
    }

    /// Like [`in_flight`](InflightExt::in_flight) for futures that return a `Result`: the `Ok`
    /// outputs in completion order, then the first `Err`, after which every future in flight is
    /// dropped, nothing more is pulled and the stream ends (futures' `try_buffer_unordered`,
    /// stopping at the first error).
    ///
    /// # Panics
    ///
    /// If `limit` is 0 (or an adaptive limit's min is above its max).
    ///
    /// ```
    /// use futures::StreamExt;
    /// use inflight::InflightExt;
    ///
    /// # futures::executor::block_on(async {
    /// let outputs: Vec<Result<u32, String>> = futures::stream::iter(1..=10)
    ///     .map(|i| async move { if i == 3 { Err(format!("{i} is bad")) } else { Ok(i) } })
    ///     .try_in_flight(1)
    ///     .collect()
    ///     .await;
    /// assert_eq!(outputs, [Ok(1), Ok(2), Err("3 is bad".to_string())]);
    /// # });
    /// ```
    #[track_caller]
    fn try_in_flight<T, E, L: IntoLimit>(self, limit: L) -> TryInFlight<AsCompleted<Self, L::Kept>>
    where
        Self: Sized,
        Self::Item: Future<Output = Result<T, E>>,
    {
        let limit = check(limit.into(), "try_in_flight: limit");
        TryInFlight::new(AsCompleted::new(self, limit))
    }

    /// Like [`in_flight_ordered`](InflightExt::in_flight_ordered) for futures that return a
    /// `Result`: the `Ok` outputs in input order, then the first `Err` in input order, then the
    /// end (futures' `try_buffered`, stopping at the first error). An error waits for the
    /// outputs before it, like any other output.
    ///
    /// # Panics
    ///
    /// If `limit` is 0 (or an adaptive limit's min is above its max).
    ///
    /// ```
    /// use futures::StreamExt;
    /// use inflight::InflightExt;
    ///
    /// # futures::executor::block_on(async {
    /// let outputs: Vec<Result<u32, u32>> = futures::stream::iter(0..10)
    ///     .map(|i| async move { if i % 4 == 3 { Err(i) } else { Ok(i) } })
    ///     .try_in_flight_ordered(4)
    ///     .collect()
    ///     .await;
    /// assert_eq!(outputs, [Ok(0), Ok(1), Ok(2), Err(3)]);
    /// # });
    /// ```
    #[track_caller]
    fn try_in_flight_ordered<T, E, L: IntoLimit>(
        self,
        limit: L,
    ) -> TryInFlight<Ordered<Self, L::Kept>>
    where
        Self: Sized,
        Self::Item: Future<Output = Result<T, E>>,
    {
        let limit = check(limit.into(), "try_in_flight_ordered: limit");
        TryInFlight::new(Ordered::new(self, limit))
    }
}

impl<St> InflightExt for St
where
    St: Stream + ?Sized,
    St::Item: Future,
{
}
