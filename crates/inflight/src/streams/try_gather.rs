//! [`try_gather`]: every output in input order, or the first error.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use pin_project_lite::pin_project;

use crate::limits::limit::{check, IntoLimit};
use crate::primitives::indexed::Indexed;
use crate::primitives::iter_source::IterSource;
use crate::streams::as_completed::AsCompleted;
use crate::streams::gather::{place, unwrap_all};

/// Runs `futures` with at most `limit` in flight and returns all their `Ok` outputs in input
/// order, or the first `Err` as soon as it comes.
///
/// At the first error every future in flight is dropped (cancelled) and nothing more is pulled
/// from the iterator, so a failure 10 ms in ends the run 10 ms in, however long the rest would
/// have taken. "First" is first to finish, not first in input order. Like
/// [`gather`](crate::gather), it cannot complete after one of its futures panicked.
///
/// # Panics
///
/// If `limit` is 0 (or an adaptive limit's min is above its max).
///
/// # Example
///
/// ```
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let start = tokio::time::Instant::now();
/// let tasks = (0..100u64).map(|i| async move {
///     tokio::time::sleep(Duration::from_millis(if i == 3 { 10 } else { 1000 })).await;
///     if i == 3 { Err(format!("input {i} failed")) } else { Ok(i) }
/// });
/// let result = inflight::try_gather(tasks, 10).await;
/// assert_eq!(result, Err("input 3 failed".to_string()));
/// assert_eq!(start.elapsed(), Duration::from_millis(10)); // the rest were cancelled
///
/// let all = inflight::try_gather((0..5).map(|i| async move { Ok::<_, String>(i) }), 2).await;
/// assert_eq!(all, Ok(vec![0, 1, 2, 3, 4]));
/// # }
/// ```
#[track_caller]
pub fn try_gather<I, T, E, L>(futures: I, limit: L) -> TryGather<I::IntoIter, T, L::Kept>
where
    I: IntoIterator,
    I::Item: Future<Output = Result<T, E>>,
    L: IntoLimit,
{
    let limit = check(limit.into(), "try_gather: limit");
    let source = Indexed::new(IterSource::new(futures.into_iter()));
    let expected = crate::streams::gather::initial_capacity(source.size_hint().0);
    TryGather {
        stream: Some(AsCompleted::new(source, limit)),
        outputs: Vec::with_capacity(expected),
        polling: false,
    }
}

pin_project! {
    /// The future returned by [`try_gather`]; `L` is the limit it keeps, as for
    /// [`AsCompleted`](crate::AsCompleted).
    #[must_use = "futures do nothing unless awaited"]
    pub struct TryGather<I, T, L: IntoLimit = usize>
    where
        I: Iterator,
        I::Item: Future,
    {
        // Not pinned (it is `Unpin`), so it can be dropped to cancel what runs.
        stream: Option<AsCompleted<Indexed<IterSource<I>>, L>>,
        outputs: Vec<Option<T>>,
        polling: bool,
    }
}

impl<I, T, E, L> Future for TryGather<I, T, L>
where
    I: Iterator,
    I::Item: Future<Output = Result<T, E>>,
    L: IntoLimit,
{
    type Output = Result<Vec<T>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        assert!(
            !std::mem::replace(this.polling, true),
            "try_gather polled again after one of its futures panicked: its output is missing"
        );
        let Some(stream) = this.stream.as_mut() else {
            panic!("try_gather polled after it completed");
        };
        let polled = loop {
            match Pin::new(&mut *stream).poll_next(cx) {
                Poll::Ready(Some((position, Ok(output)))) => place(this.outputs, position, output),
                Poll::Ready(Some((_, Err(error)))) => break Poll::Ready(Err(error)),
                Poll::Ready(None) => {
                    break Poll::Ready(Ok(unwrap_all(std::mem::take(this.outputs))))
                }
                Poll::Pending => break Poll::Pending,
            }
        };
        if polled.is_ready() {
            // Cancels whatever is still in flight; nothing more is pulled.
            *this.stream = None;
        }
        *this.polling = false;
        polled
    }
}

impl<I, T, L> std::fmt::Debug for TryGather<I, T, L>
where
    I: Iterator,
    I::Item: Future,
    L: IntoLimit,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TryGather")
            .field("done", &self.stream.is_none())
            .finish_non_exhaustive()
    }
}
