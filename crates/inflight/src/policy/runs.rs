//! The entry points of [`Inflight`]: how a run is put together from the builder's policies.

// The engine of a run holds the task's closure, so its type has no name: the return types
// spell it as an `impl` inside the run object's type, which clippy finds long.
#![allow(clippy::type_complexity)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::stream::FusedStream;
use futures_core::Stream;
use pin_project_lite::pin_project;

use super::builder::Inflight;
use super::cells::RunCells;
use super::drop_if::ErasedDropIf;
use super::gate::{Admitted, Gate, GateConfig};
use super::gathering::{Gathering, TryGathering};
use super::give_back::GiveBack;
use super::halt::{ErrorPolicy, Halt, HaltMode};
use super::input_pool::{InputPool, Inputs};
use super::outcome::Outcome;
use super::outcomes::Outcomes;
use super::retry::ErasedRetryIf;
use super::task::{run_input, RunShared};
use crate::limits::adaptive::timing::Untimed;
use crate::limits::limit::Limit;
use crate::limits::limiter::Limiter;
use crate::primitives::indexed::IndexedFuture;
use crate::primitives::input_order::{InputOrder, Positioned};
use crate::primitives::iter_source::IterSource;
use crate::streams::as_completed::AsCompleted;

impl Inflight {
    /// Runs `task` on each input of `inputs` (pulled lazily), handing back outcomes in
    /// completion order.
    ///
    /// # Panics
    ///
    /// If the builder's [retry policy](Inflight::retry_if) is for another error type.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use futures::StreamExt;
    /// let outcomes: Vec<_> = inflight::Inflight::new(2)
    ///     .as_completed(1..=3, |&n| async move { Ok::<_, ()>(n * 2) })
    ///     .collect()
    ///     .await;
    /// assert_eq!(outcomes.len(), 3);
    /// # }
    /// ```
    #[track_caller]
    pub fn as_completed<II, T, E, F, Fut>(
        &self,
        inputs: II,
        task: F,
    ) -> Outcomes<impl FusedStream<Item = Option<Outcome<II::Item, T, E>>> + Unpin, II::Item, Fut>
    where
        II: IntoIterator,
        E: 'static,
        F: Fn(&II::Item) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.stream(IterSource::new(inputs.into_iter()), task)
    }

    /// Like [`as_completed`](Inflight::as_completed), outcomes in input order.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use futures::StreamExt;
    /// let inputs: Vec<i32> = inflight::Inflight::new(2)
    ///     .ordered(0..5, |&n| async move { Ok::<_, ()>(n) })
    ///     .map(|outcome| outcome.input)
    ///     .collect()
    ///     .await;
    /// assert_eq!(inputs, [0, 1, 2, 3, 4]);
    /// # }
    /// ```
    #[track_caller]
    pub fn ordered<II, T, E, F, Fut>(
        &self,
        inputs: II,
        task: F,
    ) -> Outcomes<impl FusedStream<Item = Option<Outcome<II::Item, T, E>>> + Unpin, II::Item, Fut>
    where
        II: IntoIterator,
        E: 'static,
        F: Fn(&II::Item) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.stream_ordered(IterSource::new(inputs.into_iter()), task)
    }

    /// Runs every input and returns all outcomes in input order (fewer if the error policy
    /// halted the run).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let outcomes = inflight::Inflight::new(3)
    ///     .gather(0..4, |&n| async move { if n == 2 { Err("two") } else { Ok(n) } })
    ///     .await;
    /// assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 3);
    /// assert_eq!(outcomes[2].result, Err(inflight::Failure::Error("two")));
    /// # }
    /// ```
    #[track_caller]
    pub fn gather<II, T, E, F, Fut>(
        &self,
        inputs: II,
        task: F,
    ) -> Gathering<
        impl FusedStream<Item = Option<Outcome<II::Item, T, E>>> + Unpin,
        II::Item,
        T,
        E,
        Fut,
    >
    where
        II: IntoIterator,
        E: 'static,
        F: Fn(&II::Item) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        Gathering::new(self.as_completed(inputs, task))
    }

    /// Runs every input and returns every output in input order, or, at the first input that
    /// fails (after its retries), which input it was and why, having cancelled every task in
    /// flight and pulled nothing more. The builder's error policy does not apply: the first
    /// failure always stops it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread", start_paused = true)]
    /// # async fn main() {
    /// use std::time::Duration;
    /// let start = tokio::time::Instant::now();
    /// let failed = inflight::Inflight::new(10)
    ///     .try_gather(0..100u64, |&i| async move {
    ///         tokio::time::sleep(Duration::from_millis(if i == 7 { 10 } else { 50_000 })).await;
    ///         if i == 7 { Err("seven") } else { Ok(i) }
    ///     })
    ///     .await
    ///     .unwrap_err();
    /// assert_eq!((failed.index, failed.failure), (7, inflight::Failure::Error("seven")));
    /// assert_eq!(start.elapsed(), Duration::from_millis(10)); // not 50 s
    /// # }
    /// ```
    #[track_caller]
    pub fn try_gather<II, T, E, F, Fut>(
        &self,
        inputs: II,
        task: F,
    ) -> TryGathering<
        impl FusedStream<Item = Option<Outcome<II::Item, T, E>>> + Unpin,
        II::Item,
        T,
        Fut,
    >
    where
        II: IntoIterator,
        E: 'static,
        F: Fn(&II::Item) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let source = IterSource::new(inputs.into_iter());
        let (gate, shared, halt, cells) =
            self.parts(source, task, ErrorPolicy::fail_fast(), HaltMode::Now);
        let run = self.completion_order(gate, shared);
        TryGathering::new(Outcomes::new(run, halt, self.control.clone(), cells))
    }

    /// Like [`as_completed`](Inflight::as_completed) over a stream of inputs (any stream: it
    /// need not be `Unpin`).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use futures::StreamExt;
    /// let numbers = futures::stream::unfold(0, |n| async move { (n < 3).then_some((n, n + 1)) });
    /// let n = inflight::Inflight::new(2)
    ///     .stream(numbers, |&n| async move { Ok::<_, ()>(n) })
    ///     .count()
    ///     .await;
    /// assert_eq!(n, 3);
    /// # }
    /// ```
    #[track_caller]
    pub fn stream<St, T, E, F, Fut>(
        &self,
        inputs: St,
        task: F,
    ) -> Outcomes<impl FusedStream<Item = Option<Outcome<St::Item, T, E>>> + Unpin, St::Item, Fut>
    where
        St: Stream,
        E: 'static,
        F: Fn(&St::Item) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let (gate, shared, halt, cells) = self.parts(inputs, task, self.errors, self.halt_mode);
        let run = self.completion_order(gate, shared);
        Outcomes::new(run, halt, self.control.clone(), cells)
    }

    /// Like [`ordered`](Inflight::ordered) over a stream of inputs.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use futures::StreamExt;
    /// let first = inflight::Inflight::new(2)
    ///     .stream_ordered(futures::stream::iter(5..9), |&n| async move { Ok::<_, ()>(n) })
    ///     .next()
    ///     .await
    ///     .unwrap();
    /// assert_eq!(first.input, 5);
    /// # }
    /// ```
    #[track_caller]
    pub fn stream_ordered<St, T, E, F, Fut>(
        &self,
        inputs: St,
        task: F,
    ) -> Outcomes<impl FusedStream<Item = Option<Outcome<St::Item, T, E>>> + Unpin, St::Item, Fut>
    where
        St: Stream,
        E: 'static,
        F: Fn(&St::Item) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let (gate, shared, halt, cells) = self.parts(inputs, task, self.errors, self.halt_mode);
        // Positions are the inputs' own indices, not the order the gate lets them through
        // (per-key parking can hold an early input back).
        let tasks = Tasks {
            gate,
            start: move |admitted: Admitted<St::Item>| {
                IndexedFuture::new(admitted.index, run_input(admitted, shared.clone()))
            },
        };
        let limit = Limit::fixed(self.control.limiter.limit());
        let capacity = self.reorder.unwrap_or(self.control.most().max(1));
        let ordered = InputOrder::<_, Untimed>::new(tasks, limit, capacity);
        let run = Following::new(ordered, self.control.limiter.clone());
        Outcomes::new(run, halt, self.control.clone(), cells)
    }

    /// A push-style pool under this builder's policies: [`InputPool::submit`] hands it inputs
    /// and waits while there is no free slot; outcomes come back as they complete. It runs on
    /// its own tokio task, so everything in it must be `Send + 'static`.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let pool = inflight::Inflight::new(2).pool(|n: &u32| { let n = *n; async move { Ok::<_, ()>(n + 1) } });
    /// pool.submit(1).await.unwrap();
    /// assert_eq!(pool.join_next().await.unwrap().result, Ok(2));
    /// # }
    /// ```
    #[track_caller]
    pub fn pool<I, T, E, F, Fut>(&self, task: F) -> InputPool<I, T, E>
    where
        I: Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
        F: Fn(&I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let (sender, receiver) = tokio::sync::mpsc::channel(1);
        let give_back = GiveBack::new();
        let run = self.stream(Inputs::new(receiver, give_back.clone()), task);
        run.give_back_to(give_back.clone());
        let keys = run.key_cell();
        let spawn = run.spawn_cell();
        InputPool::new(
            sender,
            crate::streams::drive::drive_unbounded(run),
            keys,
            Box::new(move || spawn.enable()),
            give_back,
        )
    }

    /// What every entry point is built from.
    #[track_caller]
    fn parts<St, T, E, F, Fut>(
        &self,
        source: St,
        task: F,
        errors: ErrorPolicy,
        halt_mode: HaltMode,
    ) -> RunParts<St, F, E, Fut>
    where
        St: Stream,
        E: 'static,
        F: Fn(&St::Item) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let retry_if = ErasedRetryIf::for_errors::<E>(self.retry_if.as_ref());
        let drop_if = ErasedDropIf::for_errors::<E>(self.drop_if.as_ref());
        let mut halt = Halt::new(errors, halt_mode);
        halt.shared_limits = self.shared.holds_places() || !self.shared.rate.is_empty();
        let halt = Arc::new(halt);
        let cells = RunCells::new();
        let progress = self.control.progress.get().cloned();
        let most = self.control.most();
        let gate = Gate::new(
            source,
            GateConfig {
                limiter: self.control.limiter.clone(),
                keys: cells.keys.clone(),
                give_back: cells.give_back.clone(),
                max_parked: self.max_parked.unwrap_or(most.max(1).saturating_mul(4)),
                stop: halt.stop.clone(),
                progress: progress.clone(),
            },
        );
        let shared = Arc::new(RunShared {
            task,
            timeout: self.timeout,
            retry: self.retry,
            retry_if,
            spawn: cells.spawn.clone(),
            pacer: self.control.pacer.clone(),
            shared: self.shared.clone(),
            progress,
            hook: self.hook.clone(),
            halt: halt.clone(),
            control: self.control.clone(),
            drop_if,
        });
        (gate, shared, halt, cells)
    }

    /// The engine of the completion-order entry points.
    fn completion_order<St, T, E, F, Fut>(
        &self,
        gate: Gate<St>,
        shared: Arc<RunShared<F, E, Fut>>,
    ) -> impl FusedStream<Item = Option<Outcome<St::Item, T, E>>> + Unpin
    where
        St: Stream,
        F: Fn(&St::Item) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let tasks = Tasks {
            gate,
            start: move |admitted| run_input(admitted, shared.clone()),
        };
        let engine =
            AsCompleted::<_, usize>::new(tasks, Limit::fixed(self.control.limiter.limit()));
        Following::new(engine, self.control.limiter.clone())
    }
}

/// What every entry point is built from: the gate, the shared task state, the halt counts,
/// and what the run's object can still change.
type RunParts<St, F, E, Fut> = (
    Gate<St>,
    Arc<RunShared<F, E, Fut>>,
    Arc<Halt>,
    RunCells<<St as Stream>::Item, Fut>,
);

pin_project! {
    /// A stream with a function applied to each item: here, the gate's admitted inputs turned
    /// into their task futures (whose type has no name, hence a generic `G`).
    struct Tasks<St, G> {
        #[pin]
        gate: St,
        start: G,
    }
}

impl<St, G, Fut> Stream for Tasks<St, G>
where
    St: Stream,
    G: FnMut(St::Item) -> Fut,
{
    type Item = Fut;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Fut>> {
        let this = self.project();
        let start = this.start;
        this.gate.poll_next(cx).map(|admitted| admitted.map(start))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.gate.size_hint()
    }
}

/// The engines whose limit follows the builder's [`Limiter`].
trait Resize {
    fn resize(&mut self, limit: usize);
    fn limit(&self) -> usize;
    fn done(&self) -> bool;
}

impl<St> Resize for AsCompleted<St>
where
    St: Stream,
    St::Item: Future,
{
    fn resize(&mut self, limit: usize) {
        self.set_limit(limit);
    }
    fn limit(&self) -> usize {
        AsCompleted::limit(self)
    }
    fn done(&self) -> bool {
        self.is_terminated()
    }
}

impl<S> Resize for InputOrder<S, Untimed>
where
    S: Stream,
    S::Item: Positioned,
{
    fn resize(&mut self, limit: usize) {
        self.set_limit(Limit::fixed(limit));
    }
    fn limit(&self) -> usize {
        InputOrder::limit(self)
    }
    fn done(&self) -> bool {
        self.is_done()
    }
}

/// An engine that takes the builder's limit (changed by its handle) before every poll, so it
/// starts nothing the limit would not allow; the limiter's permits enforce it across runs.
struct Following<S> {
    engine: S,
    limiter: Limiter,
}

impl<S: Resize> Following<S> {
    fn new(engine: S, limiter: Limiter) -> Self {
        Following { engine, limiter }
    }
}

impl<S: Stream + Resize + Unpin> Stream for Following<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let limit = self.limiter.limit();
        if limit != self.engine.limit() {
            self.engine.resize(limit);
        }
        Pin::new(&mut self.engine).poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.engine.size_hint()
    }
}

impl<S: Stream + Resize + Unpin> FusedStream for Following<S> {
    fn is_terminated(&self) -> bool {
        self.engine.done()
    }
}
