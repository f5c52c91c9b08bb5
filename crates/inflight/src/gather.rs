//! [`gather`]: every output, in input order, as one `Vec`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use pin_project_lite::pin_project;

use crate::as_completed::AsCompleted;
use crate::indexed::Indexed;
use crate::iter_source::IterSource;
use crate::limit::check_limit;

/// Runs `futures` with at most `limit` in flight and returns all their outputs in input order.
///
/// The seeds' `gather_with_concurrency`, without a semaphore and without making every future up
/// front: the iterator is pulled as slots free up. Since every output is kept anyway, an early
/// finisher never waits for a slow earlier one (no head-of-line blocking, unlike
/// [`ordered`](crate::ordered)); outputs are put in place by position.
///
/// # Panics
///
/// If `limit` is 0.
///
/// # Example
///
/// ```
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let start = tokio::time::Instant::now();
/// let tasks = (0..100).map(|i| async move {
///     tokio::time::sleep(Duration::from_secs(1)).await;
///     i * 2
/// });
/// let outputs = inflight::gather(tasks, 10).await;
/// assert_eq!(outputs, (0..100).map(|i| i * 2).collect::<Vec<_>>());
/// assert_eq!(start.elapsed(), Duration::from_secs(10));
/// # }
/// ```
#[track_caller]
pub fn gather<I>(futures: I, limit: usize) -> Gather<I::IntoIter>
where
    I: IntoIterator,
    I::Item: Future,
{
    check_limit(limit, "gather: limit");
    let source = Indexed::new(IterSource::new(futures.into_iter()));
    let expected = source.size_hint().0;
    Gather {
        stream: AsCompleted::new(source, limit),
        outputs: Vec::with_capacity(expected),
    }
}

pin_project! {
    /// The future returned by [`gather`].
    #[must_use = "futures do nothing unless awaited"]
    pub struct Gather<I>
    where
        I: Iterator,
        I::Item: Future,
    {
        #[pin]
        stream: AsCompleted<Indexed<IterSource<I>>>,
        outputs: Vec<Option<<I::Item as Future>::Output>>,
    }
}

impl<I> Future for Gather<I>
where
    I: Iterator,
    I::Item: Future,
{
    type Output = Vec<<I::Item as Future>::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some((position, output))) => {
                    let position = usize::try_from(position).expect("positions fit in memory");
                    if this.outputs.len() <= position {
                        this.outputs.resize_with(position + 1, || None);
                    }
                    this.outputs[position] = Some(output);
                }
                Poll::Ready(None) => {
                    let outputs = std::mem::take(this.outputs);
                    return Poll::Ready(
                        outputs
                            .into_iter()
                            .map(|output| output.expect("every pulled future completes once"))
                            .collect(),
                    );
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<I> std::fmt::Debug for Gather<I>
where
    I: Iterator,
    I::Item: Future,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gather")
            .field("finished", &self.outputs.iter().flatten().count())
            .finish_non_exhaustive()
    }
}
