//! [`InputPool`]: the push-style entry point under policies.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::mpsc;

use super::outcome::Outcome;
use crate::drive::Driven;

/// A pool you push inputs into, made by [`Inflight::pool`](crate::Inflight::pool): every policy
/// of the builder applies, the run is driven on its own tokio task (so tasks progress while the
/// producer works), and [`spawn`](InputPool::spawn) waits while the run has no free slot.
///
/// One input may wait in the hand-off between `spawn` and the run; beyond that, a producer is
/// held back. Outcomes wait until taken with [`next_outcome`](InputPool::next_outcome) or
/// [`join_all`](InputPool::join_all): take them as they come to keep memory proportional to
/// the limit (as with [`Pool`](crate::Pool), outcomes never taken accumulate, so that spawning
/// everything first and joining at the end cannot deadlock). Dropping the pool cancels the run.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use inflight::{Inflight, Retry};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let mut pool = Inflight::new(3)
///     .timeout(Duration::from_secs(5))
///     .retry(Retry::attempts(2))
///     .pool(|code: &u64| {
///         let code = *code;
///         async move {
///             tokio::time::sleep(Duration::from_secs(1 + code % 3)).await;
///             Ok::<u64, String>(code)
///         }
///     });
/// for code in 0..9 {
///     pool.spawn(code).await.unwrap();
/// }
/// let outcomes = pool.join_all().await;
/// assert_eq!(outcomes.len(), 9);
/// # }
/// ```
pub struct InputPool<I, T, E> {
    inputs: Option<mpsc::Sender<I>>,
    outcomes: Driven<Outcome<I, T, E>>,
}

impl<I, T, E> InputPool<I, T, E> {
    pub(crate) fn new(inputs: mpsc::Sender<I>, outcomes: Driven<Outcome<I, T, E>>) -> Self {
        InputPool {
            inputs: Some(inputs),
            outcomes,
        }
    }

    /// Hands `input` to the run, waiting while it has no free slot. Gives the input back if the
    /// run has stopped (closed, or halted by the error policy).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut pool = inflight::Inflight::new(1).pool(|n: &i32| { let n = *n; async move { Ok::<_, ()>(n) } });
    /// pool.spawn(1).await.unwrap();
    /// pool.close();
    /// assert_eq!(pool.spawn(2).await, Err(2));
    /// # }
    /// ```
    pub async fn spawn(&self, input: I) -> Result<(), I> {
        match &self.inputs {
            Some(sender) => sender.send(input).await.map_err(|error| error.0),
            None => Err(input),
        }
    }

    /// Takes no more input; the run finishes what it has.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut pool = inflight::Inflight::new(1).pool(|n: &i32| { let n = *n; async move { Ok::<_, ()>(n) } });
    /// pool.close();
    /// assert!(pool.next_outcome().await.is_none());
    /// # }
    /// ```
    pub fn close(&mut self) {
        self.inputs = None;
    }

    /// The next outcome, in completion order; `None` once the pool is closed and every input
    /// is done. While the pool is open and idle, this waits for more input.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut pool = inflight::Inflight::new(1).pool(|n: &i32| { let n = *n; async move { Ok::<_, ()>(n * 2) } });
    /// pool.spawn(4).await.unwrap();
    /// assert_eq!(pool.next_outcome().await.unwrap().result, Ok(8));
    /// # }
    /// ```
    pub async fn next_outcome(&mut self) -> Option<Outcome<I, T, E>> {
        std::future::poll_fn(|cx| Pin::new(&mut self.outcomes).poll_next(cx)).await
    }

    /// Closes the pool and waits for every outcome.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut pool = inflight::Inflight::new(2).pool(|n: &i32| { let n = *n; async move { Ok::<_, ()>(n) } });
    /// pool.spawn(1).await.unwrap();
    /// assert_eq!(pool.join_all().await.len(), 1);
    /// # }
    /// ```
    pub async fn join_all(&mut self) -> Vec<Outcome<I, T, E>> {
        self.close();
        let mut outcomes = Vec::new();
        while let Some(outcome) = self.next_outcome().await {
            outcomes.push(outcome);
        }
        outcomes
    }
}

/// The pool's receiving end as a stream of inputs.
pub(crate) struct Inputs<I>(pub(crate) mpsc::Receiver<I>);

impl<I> Stream for Inputs<I> {
    type Item = I;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<I>> {
        self.0.poll_recv(cx)
    }
}

impl<I, T, E> std::fmt::Debug for InputPool<I, T, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputPool")
            .field("open", &self.inputs.is_some())
            .finish_non_exhaustive()
    }
}
