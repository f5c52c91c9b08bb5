//! [`InputPool`]: the push-style entry point under policies.

use std::fmt;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::mpsc;

use super::cells::KeyCell;
use super::give_back::GiveBack;
use super::outcome::Outcome;
use crate::streams::drive::Driven;

/// A pool you submit inputs to, made by [`Inflight::pool`](crate::Inflight::pool): every
/// policy of the builder applies, the run is driven on its own tokio task (so tasks progress
/// while the producer works), and [`submit`](InputPool::submit) waits while the run has no
/// free slot.
///
/// Every method takes `&self`, so a producer and a consumer can work side by side (under
/// `tokio::join!`, or from two tasks sharing an `Arc`) without a lock of yours. One input may
/// wait in the hand-off between `submit` and the run; beyond that a producer is held back.
/// Outcomes wait until taken with [`join_next`](InputPool::join_next): take them as they come
/// to keep memory proportional to the limit (outcomes never taken accumulate, so that
/// submitting everything first and joining at the end cannot deadlock). Dropping the pool
/// cancels the run.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use inflight::{Inflight, Retry};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let pool = Inflight::new(3)
///     .timeout(Duration::from_secs(5))
///     .retry(Retry::attempts(2))
///     .pool(|code: &u64| {
///         let code = *code;
///         async move {
///             tokio::time::sleep(Duration::from_secs(1 + code % 3)).await;
///             Ok::<u64, String>(code)
///         }
///     });
/// let producer = async {
///     for code in 0..9 {
///         pool.submit(code).await.unwrap();
///     }
///     pool.close();
/// };
/// let consumer = async {
///     let mut done = 0;
///     while let Some(outcome) = pool.join_next().await {
///         assert!(outcome.is_ok());
///         done += 1;
///     }
///     done
/// };
/// let ((), done) = tokio::join!(producer, consumer);
/// assert_eq!(done, 9);
/// # }
/// ```
pub struct InputPool<I, T, E> {
    inputs: Mutex<Option<mpsc::Sender<I>>>,
    outcomes: tokio::sync::Mutex<Driven<Outcome<I, T, E>>>,
    /// Inputs handed over, and outcomes taken: `join_all` waits until they meet.
    submitted: AtomicU64,
    taken: AtomicU64,
    keys: Arc<KeyCell<I>>,
    /// Turns spawn mode on; made where the task's types are known.
    spawn: Box<dyn Fn() + Send + Sync>,
    /// Submitted inputs that the run halted before finishing.
    given_back: Arc<GiveBack<I>>,
}

impl<I, T, E> InputPool<I, T, E> {
    pub(crate) fn new(
        inputs: mpsc::Sender<I>,
        outcomes: Driven<Outcome<I, T, E>>,
        keys: Arc<KeyCell<I>>,
        spawn: Box<dyn Fn() + Send + Sync>,
        given_back: Arc<GiveBack<I>>,
    ) -> Self {
        InputPool {
            inputs: Mutex::new(Some(inputs)),
            outcomes: tokio::sync::Mutex::new(outcomes),
            submitted: AtomicU64::new(0),
            taken: AtomicU64::new(0),
            keys,
            spawn,
            given_back,
        }
    }

    /// A limit per key of the inputs; see [`Outcomes::per_key`](crate::Outcomes::per_key).
    ///
    /// # Panics
    ///
    /// If `limit` is 0, if the pool already has keys, or once an input was submitted.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = inflight::Inflight::new(4)
    ///     .pool(|url: &String| { let n = url.len(); async move { Ok::<_, ()>(n) } })
    ///     .per_key(1, |url| url.split('/').nth(2).unwrap_or("").to_owned());
    /// pool.submit("https://a.example/x".to_string()).await.unwrap();
    /// assert_eq!(pool.join_all().await.len(), 1);
    /// # }
    /// ```
    #[track_caller]
    pub fn per_key<K, KF>(self, limit: usize, key_of: KF) -> Self
    where
        KF: Fn(&I) -> K + Send + Sync + 'static,
        K: Hash + Eq + fmt::Display + Send + Sync + 'static,
    {
        assert!(
            self.submitted.load(Ordering::Acquire) == 0,
            "per_key: the pool has had inputs; call it before the first submit"
        );
        self.keys.set(limit, key_of);
        self
    }

    /// Runs each attempt as a tokio task of its own (so CPU-heavy work uses every core, and a
    /// panic becomes [`Failure::Panicked`](crate::Failure::Panicked)); see
    /// [`Outcomes::spawned`](crate::Outcomes::spawned).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = inflight::Inflight::new(2)
    ///     .pool(|n: &u32| { let n = *n; async move { if n == 0 { panic!("zero") } Ok::<_, ()>(n) } })
    ///     .spawned();
    /// pool.submit(0).await.unwrap();
    /// let outcome = pool.join_next().await.unwrap();
    /// assert!(matches!(outcome.result, Err(inflight::Failure::Panicked(_))));
    /// # }
    /// ```
    pub fn spawned(self) -> Self {
        (self.spawn)();
        self
    }

    /// Hands `input` to the run, waiting while it has no free slot. Gives the input back if the
    /// pool was closed before the call, or the run has stopped (halted by the error policy); a
    /// submit already waiting when the pool is closed still goes in (and
    /// [`join_next`](InputPool::join_next) waits for its outcome).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = inflight::Inflight::new(1).pool(|n: &i32| { let n = *n; async move { Ok::<_, ()>(n) } });
    /// pool.submit(1).await.unwrap();
    /// pool.close();
    /// assert_eq!(pool.submit(2).await, Err(2));
    /// # }
    /// ```
    pub async fn submit(&self, input: I) -> Result<(), I> {
        let sender = self.lock_inputs().clone();
        let Some(sender) = sender else {
            return Err(input);
        };
        // Counted first, so `join_all` never sees an outcome of an input it has not counted.
        self.submitted.fetch_add(1, Ordering::AcqRel);
        sender.send(input).await.map_err(|error| {
            self.submitted.fetch_sub(1, Ordering::AcqRel);
            error.0
        })
    }

    /// Takes no more input; the run finishes what it has, and then
    /// [`join_next`](InputPool::join_next) returns `None`.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = inflight::Inflight::new(1).pool(|n: &i32| { let n = *n; async move { Ok::<_, ()>(n) } });
    /// pool.close();
    /// assert!(pool.join_next().await.is_none());
    /// # }
    /// ```
    pub fn close(&self) {
        *self.lock_inputs() = None;
    }

    /// The next outcome, in completion order; `None` once the pool is closed and every input
    /// is done. While the pool is open, this waits for more input.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = inflight::Inflight::new(1).pool(|n: &i32| { let n = *n; async move { Ok::<_, ()>(n * 2) } });
    /// pool.submit(4).await.unwrap();
    /// assert_eq!(pool.join_next().await.unwrap().result, Ok(8));
    /// # }
    /// ```
    pub async fn join_next(&self) -> Option<Outcome<I, T, E>> {
        let mut outcomes = self.outcomes.lock().await;
        let outcome = std::future::poll_fn(|cx| Pin::new(&mut *outcomes).poll_next(cx)).await;
        if outcome.is_some() {
            self.taken.fetch_add(1, Ordering::AcqRel);
        }
        outcome
    }

    /// Waits for the outcome of every input submitted so far and returns them, in completion
    /// order (without closing the pool: more may be submitted after).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = inflight::Inflight::new(2).pool(|n: &i32| { let n = *n; async move { Ok::<_, ()>(n) } });
    /// pool.submit(1).await.unwrap();
    /// assert_eq!(pool.join_all().await.len(), 1);
    /// pool.submit(2).await.unwrap();
    /// assert_eq!(pool.join_all().await.len(), 1);
    /// # }
    /// ```
    pub async fn join_all(&self) -> Vec<Outcome<I, T, E>> {
        let mut outcomes = Vec::new();
        while self.taken.load(Ordering::Acquire) < self.submitted.load(Ordering::Acquire) {
            match self.join_next().await {
                Some(outcome) => outcomes.push(outcome),
                None => break,
            }
        }
        outcomes
    }

    /// Takes the inputs the run gave back: submitted (their `submit` returned `Ok`), but
    /// never to have an outcome, because the run halted (its [error
    /// policy](crate::ErrorPolicy), or a shared limit that could not be had). They are the
    /// inputs waiting in the hand-off or parked by key, those pulled but not yet started, and,
    /// under [`HaltMode::Now`](crate::HaltMode::Now), those whose tasks the halt cancelled
    /// (which may have begun: their work may be half done).
    ///
    /// So every submitted input comes back one way or the other: once
    /// [`join_next`](InputPool::join_next) has returned `None`, the inputs whose `submit`
    /// returned `Ok` are exactly the outcomes taken plus the inputs given back (and a `submit`
    /// that returned `Err` gave its input back itself).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// use std::time::Duration;
    /// use inflight::{ErrorPolicy, Inflight};
    /// let pool = Inflight::new(2).errors(ErrorPolicy::fail_fast()).pool(|&n: &u32| async move {
    ///     tokio::time::sleep(Duration::from_secs(n.into())).await;
    ///     if n == 1 { Err("one") } else { Ok(n) }
    /// });
    /// let (mut accepted, mut refused) = (0, 0);
    /// for n in [1, 5, 7, 8] {
    ///     match pool.submit(n).await {
    ///         Ok(()) => accepted += 1,
    ///         Err(_) => refused += 1, // the run has halted: given back at once
    ///     }
    /// }
    /// pool.close();
    /// let mut outcomes = 0;
    /// while let Some(_) = pool.join_next().await {
    ///     outcomes += 1;
    /// }
    /// // 1 failed at 1 s and halted the run: 5 (running) was cancelled, 7 never started.
    /// assert_eq!(outcomes, 1);
    /// let mut back = pool.given_back();
    /// back.sort();
    /// assert_eq!(back, [5, 7]);
    /// assert_eq!((accepted, refused), (3, 1));
    /// assert_eq!(accepted, outcomes + back.len());
    /// # }
    /// ```
    pub fn given_back(&self) -> Vec<I> {
        self.given_back.take()
    }

    fn lock_inputs(&self) -> std::sync::MutexGuard<'_, Option<mpsc::Sender<I>>> {
        self.inputs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The pool's receiving end as a stream of inputs. Dropped (the run ended or halted), it
/// gives back the inputs still in the hand-off.
pub(crate) struct Inputs<I> {
    receiver: mpsc::Receiver<I>,
    give_back: Arc<GiveBack<I>>,
}

impl<I> Inputs<I> {
    pub(crate) fn new(receiver: mpsc::Receiver<I>, give_back: Arc<GiveBack<I>>) -> Self {
        Inputs {
            receiver,
            give_back,
        }
    }
}

impl<I> Stream for Inputs<I> {
    type Item = I;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<I>> {
        self.receiver.poll_recv(cx)
    }
}

impl<I> Drop for Inputs<I> {
    fn drop(&mut self) {
        // Closed first, so no send lands after the drain: a later `submit` gets `Err` instead.
        self.receiver.close();
        while let Ok(input) = self.receiver.try_recv() {
            self.give_back.push(input);
        }
    }
}

impl<I, T, E> fmt::Debug for InputPool<I, T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InputPool")
            .field("open", &self.lock_inputs().is_some())
            .finish_non_exhaustive()
    }
}
