//! [`gather`]: every output, in input order, as one `Vec`.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use pin_project_lite::pin_project;

use crate::limits::limit::{check, IntoLimit};
use crate::primitives::indexed::Indexed;
use crate::primitives::iter_source::IterSource;
use crate::streams::as_completed::AsCompleted;

/// Runs `futures` with at most `limit` in flight (a number, or a [`Limit::adaptive`](crate::Limit::adaptive)) and
/// returns all their outputs in input order.
///
/// The seeds' `gather_with_concurrency`, without a semaphore and without making every future up
/// front: the iterator is pulled as slots free up. Since every output is kept anyway, an early
/// finisher never waits for a slow earlier one (no head-of-line blocking, unlike
/// [`ordered`](crate::ordered)); outputs are put in place by position. The `Vec` returned has
/// exactly its length as capacity. To stop at the first error, see [`try_gather`](crate::try_gather).
///
/// If a future panics, the panic reaches the caller and the `Gather` cannot complete (it has
/// no output for that future): polling it again panics, saying so.
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
pub fn gather<I, L>(futures: I, limit: L) -> Gather<I::IntoIter, L::Kept>
where
    I: IntoIterator,
    I::Item: Future,
    L: IntoLimit,
{
    let limit = check(limit.into(), "gather: limit");
    let source = Indexed::new(IterSource::new(futures.into_iter()));
    let expected = initial_capacity(source.size_hint().0);
    Gather {
        stream: AsCompleted::new(source, limit),
        outputs: Vec::with_capacity(expected),
        polling: false,
    }
}

pin_project! {
    /// The future returned by [`gather`]; `L` is the limit it keeps, as for
    /// [`AsCompleted`](crate::AsCompleted).
    #[must_use = "futures do nothing unless awaited"]
    pub struct Gather<I, L: IntoLimit = usize>
    where
        I: Iterator,
        I::Item: Future,
    {
        #[pin]
        stream: AsCompleted<Indexed<IterSource<I>>, L>,
        outputs: Vec<Option<<I::Item as Future>::Output>>,
        // Set during a poll: still set at the start of the next one means the last one panicked.
        polling: bool,
    }
}

impl<I, L> Future for Gather<I, L>
where
    I: Iterator,
    I::Item: Future,
    L: IntoLimit,
{
    type Output = Vec<<I::Item as Future>::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        assert!(
            !std::mem::replace(this.polling, true),
            "gather polled again after one of its futures panicked: its output is missing"
        );
        let polled = loop {
            match this.stream.as_mut().poll_next(cx) {
                Poll::Ready(Some((position, output))) => place(this.outputs, position, output),
                Poll::Ready(None) => break Poll::Ready(unwrap_all(std::mem::take(this.outputs))),
                Poll::Pending => break Poll::Pending,
            }
        };
        *this.polling = false;
        polled
    }
}

/// How many outputs to make room for at first: what the iterator says it holds, up to a point,
/// since an infinite one says `usize::MAX` (and a huge one may fail at its first input).
pub(crate) fn initial_capacity(size_hint: usize) -> usize {
    size_hint.min(1 << 12)
}

/// Puts `output` at `position`, growing the vector as needed.
pub(crate) fn place<T>(outputs: &mut Vec<Option<T>>, position: u64, output: T) {
    let position = usize::try_from(position).expect("positions fit in memory");
    if outputs.len() <= position {
        outputs.resize_with(position + 1, || None);
    }
    outputs[position] = Some(output);
}

/// The outputs without their `Option`s, in a vector whose capacity is its length. Collecting
/// reuses the buffer of the options where it can (so the peak stays at one buffer), which for
/// small outputs leaves it twice too large (a `u64` in a 16-byte `Option<u64>` slot): the
/// shrink gives the rest back, in place.
pub(crate) fn unwrap_all<T>(outputs: Vec<Option<T>>) -> Vec<T> {
    let mut all: Vec<T> = outputs
        .into_iter()
        .map(|output| output.expect("every pulled future completes once"))
        .collect();
    all.shrink_to_fit();
    all
}

impl<I, L> std::fmt::Debug for Gather<I, L>
where
    I: Iterator,
    I::Item: Future,
    L: IntoLimit,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gather")
            .field("finished", &self.outputs.iter().flatten().count())
            .finish_non_exhaustive()
    }
}
