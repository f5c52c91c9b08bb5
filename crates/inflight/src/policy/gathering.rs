//! [`Gathering`] and [`TryGathering`]: the futures of a builder's `gather` and `try_gather`.

use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::stream::FusedStream;
use futures_core::Stream;

use super::outcome::{Failed, Outcome};
use super::outcomes::Outcomes;
use crate::streams::gather::{place, unwrap_all};

/// The future of [`Inflight::gather`](crate::Inflight::gather): every outcome, sorted by input
/// index. If the error policy halts the run, the outcomes of the inputs it cancelled (or never
/// started) are missing, so a position in the `Vec` is not always an index: read
/// [`Outcome::index`](crate::Outcome::index). Like [`Outcomes`], it takes
/// [`per_key`](Gathering::per_key) and [`spawned`](Gathering::spawned) before it is awaited.
#[must_use = "futures do nothing unless awaited"]
pub struct Gathering<S, I, T, E, Fut: Future> {
    outcomes: Outcomes<S, I, Fut>,
    collected: Vec<Outcome<I, T, E>>,
}

impl<S, I, T, E, Fut: Future> Gathering<S, I, T, E, Fut> {
    pub(crate) fn new(outcomes: Outcomes<S, I, Fut>) -> Self {
        Gathering {
            outcomes,
            collected: Vec::new(),
        }
    }

    /// A limit per key of the inputs; see [`Outcomes::per_key`].
    ///
    /// # Panics
    ///
    /// If `limit` is 0, or if the run already has keys.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let outcomes = inflight::Inflight::new(8)
    ///     .gather(["a/1", "a/2", "b/1"], |&path| async move { Ok::<_, ()>(path.len()) })
    ///     .per_key(1, |path| path.split('/').next().unwrap_or("").to_owned())
    ///     .await;
    /// assert_eq!(outcomes.len(), 3);
    /// # }
    /// ```
    #[track_caller]
    pub fn per_key<K, KF>(mut self, limit: usize, key_of: KF) -> Self
    where
        KF: Fn(&I) -> K + Send + Sync + 'static,
        K: Hash + Eq + fmt::Display + Send + Sync + 'static,
    {
        self.outcomes = self.outcomes.per_key(limit, key_of);
        self
    }

    /// Each attempt as a tokio task; see [`Outcomes::spawned`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let outcomes = inflight::Inflight::new(2)
    ///     .gather(0..4u64, |&n| async move { Ok::<_, ()>(n * n) })
    ///     .spawned()
    ///     .await;
    /// assert_eq!(outcomes[3].result, Ok(9));
    /// # }
    /// ```
    pub fn spawned(mut self) -> Self
    where
        Fut: Send + 'static,
        Fut::Output: Send + 'static,
    {
        self.outcomes = self.outcomes.spawned();
        self
    }
}

impl<S, I, T, E, Fut> Future for Gathering<S, I, T, E, Fut>
where
    S: Stream<Item = Option<Outcome<I, T, E>>> + FusedStream + Unpin,
    Fut: Future,
{
    type Output = Vec<Outcome<I, T, E>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        loop {
            match Pin::new(&mut this.outcomes).poll_next(cx) {
                Poll::Ready(Some(outcome)) => this.collected.push(outcome),
                Poll::Ready(None) => {
                    let mut all = std::mem::take(&mut this.collected);
                    all.sort_unstable_by_key(|outcome| outcome.index);
                    all.shrink_to_fit();
                    return Poll::Ready(all);
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

// Nothing in it is pinned: the run's futures live in boxed slots.
impl<S, I, T, E, Fut: Future> Unpin for Gathering<S, I, T, E, Fut> {}

impl<S, I, T, E, Fut: Future> fmt::Debug for Gathering<S, I, T, E, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Gathering")
            .field("finished", &self.collected.len())
            .finish_non_exhaustive()
    }
}

/// The future of [`Inflight::try_gather`](crate::Inflight::try_gather): every output in input
/// order, or the first input that failed. Takes [`per_key`](TryGathering::per_key) and
/// [`spawned`](TryGathering::spawned) before it is awaited.
#[must_use = "futures do nothing unless awaited"]
pub struct TryGathering<S, I, T, Fut: Future> {
    /// `None` once it has returned: dropping the run cancelled what was in flight.
    outcomes: Option<Outcomes<S, I, Fut>>,
    outputs: Vec<Option<T>>,
}

impl<S, I, T, Fut: Future> TryGathering<S, I, T, Fut> {
    pub(crate) fn new(outcomes: Outcomes<S, I, Fut>) -> Self {
        TryGathering {
            outcomes: Some(outcomes),
            outputs: Vec::new(),
        }
    }

    /// A limit per key of the inputs; see [`Outcomes::per_key`].
    ///
    /// # Panics
    ///
    /// If `limit` is 0, or if the run already has keys.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let lengths = inflight::Inflight::new(8)
    ///     .try_gather(["a/1", "a/22"], |&path| async move { Ok::<_, ()>(path.len()) })
    ///     .per_key(1, |path| path.split('/').next().unwrap_or("").to_owned())
    ///     .await;
    /// assert_eq!(lengths, Ok(vec![3, 4]));
    /// # }
    /// ```
    #[track_caller]
    pub fn per_key<K, KF>(mut self, limit: usize, key_of: KF) -> Self
    where
        KF: Fn(&I) -> K + Send + Sync + 'static,
        K: Hash + Eq + fmt::Display + Send + Sync + 'static,
    {
        self.outcomes = self.outcomes.map(|o| o.per_key(limit, key_of));
        self
    }

    /// Each attempt as a tokio task; see [`Outcomes::spawned`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let squares = inflight::Inflight::new(2)
    ///     .try_gather(0..4u64, |&n| async move { Ok::<_, ()>(n * n) })
    ///     .spawned()
    ///     .await;
    /// assert_eq!(squares, Ok(vec![0, 1, 4, 9]));
    /// # }
    /// ```
    pub fn spawned(mut self) -> Self
    where
        Fut: Send + 'static,
        Fut::Output: Send + 'static,
    {
        self.outcomes = self.outcomes.map(Outcomes::spawned);
        self
    }
}

impl<S, I, T, E, Fut> Future for TryGathering<S, I, T, Fut>
where
    S: Stream<Item = Option<Outcome<I, T, E>>> + FusedStream + Unpin,
    Fut: Future,
{
    type Output = Result<Vec<T>, Failed<I, E>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = &mut *self;
        let outcomes = this
            .outcomes
            .as_mut()
            .expect("try_gather polled after it completed");
        let polled = loop {
            match Pin::new(&mut *outcomes).poll_next(cx) {
                Poll::Ready(Some(outcome)) => match outcome.result {
                    Ok(output) => place(&mut this.outputs, outcome.index, output),
                    Err(failure) => {
                        break Poll::Ready(Err(Failed {
                            input: outcome.input,
                            index: outcome.index,
                            failure,
                            attempts: outcome.attempts,
                            elapsed: outcome.elapsed,
                        }))
                    }
                },
                Poll::Ready(None) => {
                    break Poll::Ready(Ok(unwrap_all(std::mem::take(&mut this.outputs))))
                }
                Poll::Pending => break Poll::Pending,
            }
        };
        if polled.is_ready() {
            this.outcomes = None; // cancels whatever is still in flight
        }
        polled
    }
}

impl<S, I, T, Fut: Future> Unpin for TryGathering<S, I, T, Fut> {}

impl<S, I, T, Fut: Future> fmt::Debug for TryGathering<S, I, T, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryGathering")
            .field("done", &self.outcomes.is_none())
            .finish_non_exhaustive()
    }
}
