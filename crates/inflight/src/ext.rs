//! [`InflightExt`]: `.in_flight(limit)` on any stream of futures.

use std::future::Future;

use futures_core::Stream;

use crate::as_completed::AsCompleted;
use crate::ordered::Ordered;

/// Runs the futures of a stream with a bounded number in flight.
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
    /// If `limit` is 0.
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
    fn in_flight(self, limit: usize) -> AsCompleted<Self>
    where
        Self: Sized,
    {
        AsCompleted::new(self, limit)
    }

    /// Outputs in input order, at most `limit` futures in flight; see
    /// [`ordered`](crate::ordered) for the reorder buffer and its cap.
    ///
    /// # Panics
    ///
    /// If `limit` is 0.
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
    fn in_flight_ordered(self, limit: usize) -> Ordered<Self>
    where
        Self: Sized,
    {
        Ordered::new(self, limit)
    }
}

impl<St> InflightExt for St
where
    St: Stream + ?Sized,
    St::Item: Future,
{
}
