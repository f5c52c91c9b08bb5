//! [`Outcomes`]: the stream a run under policies hands back.

use std::fmt;
use std::future::Future;
use std::hash::Hash;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::stream::FusedStream;
use futures_core::Stream;

use super::cells::RunCells;
use super::halt::{Halt, HaltMode};
use super::handle::Control;
use super::outcome::Outcome;

/// The outcomes of a run made by [`Inflight`](crate::Inflight), one per input, in the order the
/// entry point names; it ends early if the [`ErrorPolicy`](crate::ErrorPolicy) halts the run,
/// and dropping it cancels every task in flight.
///
/// Before it is first polled, two things about the run can still be said:
/// [`per_key`](Outcomes::per_key) (a limit per key of its inputs) and
/// [`spawned`](Outcomes::spawned) (run each attempt as a tokio task). Its type names the input
/// `I` and the task's future `Fut`; store it as `impl Stream<Item = Outcome<I, T, E>>`.
#[must_use = "streams do nothing unless polled"]
pub struct Outcomes<S, I, Fut: Future> {
    /// `None` once the run has halted: dropping it cancelled what was in flight.
    inner: Option<S>,
    halt: Arc<Halt>,
    control: Arc<Control>,
    run_id: u64,
    cells: RunCells<I, Fut>,
}

impl<S, I, Fut: Future> Outcomes<S, I, Fut> {
    pub(crate) fn new(
        inner: S,
        halt: Arc<Halt>,
        control: Arc<Control>,
        cells: RunCells<I, Fut>,
    ) -> Self {
        let run_id = control.run_id();
        Outcomes {
            inner: Some(inner),
            halt,
            control,
            run_id,
            cells,
        }
    }

    pub(crate) fn key_cell(&self) -> Arc<super::cells::KeyCell<I>> {
        self.cells.keys.clone()
    }

    pub(crate) fn spawn_cell(&self) -> Arc<super::attempt::SpawnCell<Fut>> {
        self.cells.spawn.clone()
    }

    /// From now on, the inputs this run will never finish go to `give_back`.
    pub(crate) fn give_back_to(&self, give_back: Arc<super::give_back::GiveBack<I>>) {
        let _ = self.cells.give_back.set(give_back);
    }

    /// A handle that stops this run from elsewhere (a signal handler, another task), as a
    /// [`HaltMode::Soon`] halt would: nothing more is pulled or started, no new attempt is
    /// made (an input waiting to retry ends at once with its last failure), and what runs
    /// finishes and is handed back; then the stream ends. Drop the stream instead to cancel
    /// what runs too.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// use futures::StreamExt;
    /// use std::time::Duration;
    /// let mut run = inflight::Inflight::new(2).as_completed(0.., |&i: &u64| async move {
    ///     tokio::time::sleep(Duration::from_secs(1)).await;
    ///     Ok::<_, ()>(i)
    /// });
    /// let stop = run.stop_handle();
    /// run.next().await; // 0 or 1, at 1 s
    /// stop.stop(); // from anywhere: a Ctrl-C handler, say
    /// let rest = run.count().await; // the other one running at 1 s finishes; nothing more
    /// assert_eq!(rest, 1);
    /// # }
    /// ```
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle {
            halt: self.halt.clone(),
        }
    }

    /// Whether the run was stopped before its input ran out: by the error policy, or because a
    /// shared limit could not be had.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use futures::StreamExt;
    /// let mut run = inflight::Inflight::new(1)
    ///     .errors(inflight::ErrorPolicy::fail_fast())
    ///     .as_completed(0..10, |&i| async move { if i == 2 { Err("bad") } else { Ok(i) } });
    /// while let Some(_) = run.next().await {}
    /// assert!(run.halted());
    /// # }
    /// ```
    pub fn halted(&self) -> bool {
        self.halt.stop.load(Ordering::Acquire)
    }

    /// At most `limit` inputs of one key (say, one host) in flight in this run, under the
    /// builder's limit; `key_of` gives an input's key (its type is the run's input type, so it
    /// needs no annotation). A key is any `Hash + Eq + Display` value (a `String`, a number):
    /// a builder's [shared per-key limit](crate::Inflight::shared_per_key) names keys by their
    /// `Display`; for a compound key, format it (`|job| format!("{}:{}", job.host, job.port)`).
    ///
    /// An input whose key is full waits in a parking area while inputs of other keys go ahead,
    /// so one busy key does not block the rest. The area holds at most
    /// [`max_parked`](crate::Inflight::max_parked) inputs (default: 4 × the limit); when it is
    /// full, no more input is pulled until a parked one starts. Memory stays bounded by the
    /// limit plus that cap.
    ///
    /// # Panics
    ///
    /// If `limit` is 0, if the run already has keys, or once it has pulled its first input.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use futures::StreamExt;
    /// fn host_of(url: &str) -> &str {
    ///     url.split('/').nth(2).unwrap_or("")
    /// }
    /// let urls = vec!["https://a.example/1".to_string(), "https://b.example/2".to_string()];
    /// let outcomes: Vec<_> = inflight::Inflight::new(100)
    ///     .as_completed(urls, |url| { let url = url.clone(); async move { Ok::<_, ()>(url.len()) } })
    ///     .per_key(8, |url| host_of(url).to_owned())
    ///     .collect()
    ///     .await;
    /// assert_eq!(outcomes.len(), 2);
    /// # }
    /// ```
    #[track_caller]
    pub fn per_key<K, KF>(self, limit: usize, key_of: KF) -> Self
    where
        KF: Fn(&I) -> K + Send + Sync + 'static,
        K: Hash + Eq + fmt::Display + Send + Sync + 'static,
    {
        self.cells.keys.set(limit, key_of);
        self
    }

    /// Runs each attempt of this run as a tokio task, so CPU-heavy work uses every core and a
    /// panic becomes a [`Failure::Panicked`](crate::Failure::Panicked) outcome instead of
    /// unwinding into the consumer. The limit still counts them, and a spawned attempt holds
    /// its input's places (its slot of the builder's limit, its key's, its shared limits')
    /// until its task really ends: an attempt that times out is aborted and waited for before
    /// its slot is reused, and dropping the stream (or a halt) aborts the tasks, whose places go
    /// back to the builder as each one ends. An abort stops a task only at its next await, so a
    /// CPU-bound or blocking attempt keeps its place until it is done, and the next run of the
    /// same builder never runs beside it above the limit. (Work that a task hands on to
    /// `spawn_blocking` or a thread of its own is not the task: it is not waited for.)
    ///
    /// Call it before the first poll (attempts already started stay where they are). Needs a
    /// tokio runtime and `Send + 'static` futures.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use futures::StreamExt;
    /// let mut outcomes = inflight::Inflight::new(4)
    ///     .as_completed([1u64, 0], |&n| async move {
    ///         if n == 0 { panic!("zero") }
    ///         Ok::<_, ()>(10 / n)
    ///     })
    ///     .spawned();
    /// let mut panicked = 0;
    /// while let Some(outcome) = outcomes.next().await {
    ///     panicked += matches!(outcome.result, Err(inflight::Failure::Panicked(_))) as usize;
    /// }
    /// assert_eq!(panicked, 1);
    /// # }
    /// ```
    pub fn spawned(self) -> Self
    where
        Fut: Send + 'static,
        Fut::Output: Send + 'static,
    {
        self.cells.spawn.enable();
        self
    }
}

impl<S, I, T, E, Fut> Stream for Outcomes<S, I, Fut>
where
    S: Stream<Item = Option<Outcome<I, T, E>>> + FusedStream + Unpin,
    Fut: Future,
{
    type Item = Outcome<I, T, E>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            let Some(inner) = this.inner.as_mut() else {
                return Poll::Ready(None);
            };
            // The inner stream follows the limit as it polls; this is the value it saw.
            let limit = this.control.limiter.limit();
            match Pin::new(&mut *inner).poll_next(cx) {
                // Pulled, but the run halted before it started: nothing to hand back.
                Poll::Ready(Some(None)) => continue,
                Poll::Ready(Some(Some(outcome))) => {
                    // `Soon` lets the inner stream drain: the gate pulls nothing more.
                    if this.halt.mode == HaltMode::Now && this.halt.trigger() == Some(outcome.index)
                    {
                        this.inner = None; // cancels the tasks in flight
                        this.control.forget(this.run_id);
                    }
                    return Poll::Ready(Some(outcome));
                }
                Poll::Ready(None) => {
                    this.inner = None;
                    this.control.forget(this.run_id);
                    return Poll::Ready(None);
                }
                Poll::Pending => {
                    // A raised limit must wake this consumer to fill the new slots. The limit
                    // is read again after registering, so a change in between is not missed.
                    this.control.register(this.run_id, cx.waker());
                    if this.control.limiter.limit() != limit {
                        cx.waker().wake_by_ref();
                    }
                    return Poll::Pending;
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.inner {
            // A run that may halt may end at any outcome; one that may not hands back one
            // outcome per input.
            Some(inner) if self.halt.may_stop() => (0, inner.size_hint().1),
            Some(inner) => inner.size_hint(),
            None => (0, Some(0)),
        }
    }
}

impl<S, I, T, E, Fut> FusedStream for Outcomes<S, I, Fut>
where
    S: Stream<Item = Option<Outcome<I, T, E>>> + FusedStream + Unpin,
    Fut: Future,
{
    fn is_terminated(&self) -> bool {
        self.inner.as_ref().is_none_or(FusedStream::is_terminated)
    }
}

/// Stops a run from elsewhere; see [`Outcomes::stop_handle`]. Cloneable, `Send` and `Sync`.
#[derive(Debug, Clone)]
pub struct StopHandle {
    halt: Arc<Halt>,
}

impl StopHandle {
    /// Stops the run: nothing more starts, no new attempt is made, what runs finishes.
    ///
    /// ```
    /// let run = inflight::Inflight::new(1).as_completed([1], |&i| async move { Ok::<_, ()>(i) });
    /// let stop = run.stop_handle();
    /// stop.stop();
    /// assert!(stop.is_stopped() && run.halted());
    /// ```
    pub fn stop(&self) {
        self.halt.stop_soon();
    }

    /// Whether the run was stopped (by this handle, its error policy, or a shared limit).
    ///
    /// ```
    /// let run = inflight::Inflight::new(1).as_completed([1], |&i| async move { Ok::<_, ()>(i) });
    /// assert!(!run.stop_handle().is_stopped());
    /// ```
    pub fn is_stopped(&self) -> bool {
        self.halt.stopped()
    }
}

impl<S, I, Fut: Future> Drop for Outcomes<S, I, Fut> {
    fn drop(&mut self) {
        self.control.forget(self.run_id);
    }
}

impl<S, I, Fut: Future> fmt::Debug for Outcomes<S, I, Fut> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outcomes")
            .field("halted", &self.halted())
            .finish_non_exhaustive()
    }
}
