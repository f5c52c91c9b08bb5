//! [`Inflight`]: one builder whose policies every entry point gets.

use std::future::Future;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_core::Stream;

use super::event::Event;
use super::gate::{Admitted, Gate, GateConfig};
use super::halt::{ErrorPolicy, Halt, HaltMode};
use super::handle::{Control, RunHandle};
use super::input_pool::{InputPool, Inputs};
use super::keys::{KeyFn, KeyOf, NoKey};
use super::outcome::Outcome;
use super::outcomes::Outcomes;
use super::progress::Progress;
use super::rate::{Pacer, Rate};
use super::retry::{AnyFailure, Retry, RetryIf, RetryWhen};
use super::run_mode::{Local, RunMode, Spawned};
use super::task::{run_input, Hook, RunShared};
use crate::as_completed::AsCompleted;
use crate::input_order::InputOrder;
use crate::iter_source::IterSource;
use crate::limit::check_limit;

/// Runs inputs through a task with a bounded number in flight, under policies: a start rate,
/// a timeout per attempt, retries with backoff, an error policy, per-key limits, live resizing,
/// progress and a spawn mode. Every entry point gets every policy.
///
/// The task is a function from `&input` to a future of `Result`, so an input can be attempted
/// again. Each entry point hands back one [`Outcome`] per input, carrying the input, its
/// position and its result.
///
/// # Example
///
/// ```
/// use futures::StreamExt;
/// use std::time::Duration;
/// use inflight::{Inflight, Rate, Retry};
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let urls = ["a.example/1", "b.example/2", "a.example/3"];
/// let mut outcomes = Inflight::new(200)
///     .rate(Rate::per_second(50))
///     .timeout(Duration::from_secs(10))
///     .retry(Retry::attempts(3))
///     .per_key(2, |url: &&str| url.split('/').next().unwrap().to_owned())
///     .as_completed(urls, |url| {
///         let url = url.to_string();
///         async move { Ok::<usize, String>(url.len()) } // fetch(url) here
///     });
/// while let Some(outcome) = outcomes.next().await {
///     assert_eq!(outcome.result, Ok(outcome.input.len()));
/// }
/// # }
/// ```
pub struct Inflight<R = AnyFailure, M = Local, KF = NoKey> {
    settings: Settings,
    retry_if: R,
    mode: M,
    keys: KF,
}

/// The settings whose types do not change as the builder is configured.
struct Settings {
    limit: usize,
    timeout: Option<Duration>,
    retry: Option<Retry>,
    per_key: usize,
    max_parked: Option<usize>,
    reorder: Option<usize>,
    errors: ErrorPolicy,
    halt_mode: HaltMode,
    control: Arc<Control>,
    progress: Option<Progress>,
    hook: Option<Hook>,
}

impl Inflight {
    /// A builder for runs with at most `limit` inputs in flight and no other policy.
    ///
    /// # Panics
    ///
    /// If `limit` is 0.
    ///
    /// ```
    /// let builder = inflight::Inflight::new(10);
    /// assert_eq!(builder.handle().limit(), 10);
    /// ```
    #[track_caller]
    pub fn new(limit: usize) -> Inflight {
        check_limit(limit, "Inflight::new: limit");
        Inflight {
            retry_if: AnyFailure,
            mode: Local,
            keys: NoKey,
            settings: Settings {
                limit,
                timeout: None,
                retry: None,
                per_key: usize::MAX,
                max_parked: None,
                reorder: None,
                errors: ErrorPolicy::Collect,
                halt_mode: HaltMode::Now,
                control: Arc::new(Control {
                    limit: AtomicUsize::new(limit),
                    pacer: Pacer::new(None),
                    wakers: Mutex::new(Vec::new()),
                }),
                progress: None,
                hook: None,
            },
        }
    }
}

impl<R, M, KF> Inflight<R, M, KF> {
    /// Limits the rate of starts (retries included); see [`Rate`] for the guarantee.
    ///
    /// ```
    /// let builder = inflight::Inflight::new(8).rate(inflight::Rate::per_second(20).burst(5));
    /// # drop(builder);
    /// ```
    pub fn rate(self, rate: Rate) -> Self {
        self.settings.control.pacer.set_rate(Some(rate));
        self
    }

    /// Drops an attempt that runs longer than `limit`; it fails with
    /// [`Failure::TimedOut`](crate::Failure::TimedOut) (and may be retried).
    ///
    /// ```
    /// let builder = inflight::Inflight::new(8).timeout(std::time::Duration::from_secs(30));
    /// # drop(builder);
    /// ```
    pub fn timeout(mut self, limit: Duration) -> Self {
        self.settings.timeout = Some(limit);
        self
    }

    /// Retries failed attempts; see [`Retry`].
    ///
    /// ```
    /// let builder = inflight::Inflight::new(8).retry(inflight::Retry::attempts(3));
    /// # drop(builder);
    /// ```
    pub fn retry(mut self, retry: Retry) -> Self {
        self.settings.retry = Some(retry);
        self
    }

    /// Retries only the failures `should_retry` accepts (default: all).
    ///
    /// ```
    /// use inflight::Failure;
    /// let builder = inflight::Inflight::new(8)
    ///     .retry(inflight::Retry::attempts(3))
    ///     .retry_if(|f: &Failure<u16>| matches!(f, Failure::TimedOut(_) | Failure::Error(500..)));
    /// # drop(builder);
    /// ```
    pub fn retry_if<E, P>(self, should_retry: P) -> Inflight<RetryWhen<P>, M, KF>
    where
        P: Fn(&super::outcome::Failure<E>) -> bool,
    {
        Inflight {
            retry_if: RetryWhen(should_retry),
            mode: self.mode,
            keys: self.keys,
            settings: self.settings,
        }
    }

    /// Decides which failures are retried and, optionally, how long to wait before each retry,
    /// with your own [`RetryIf`] (say, one that honours HTTP `Retry-After`); see its example.
    /// [`retry_if`](Inflight::retry_if) is the shorthand for a plain predicate.
    ///
    /// ```
    /// use inflight::{Failure, RetryIf};
    ///
    /// #[derive(Clone)]
    /// struct OnlyTimeouts;
    /// impl RetryIf<String> for OnlyTimeouts {
    ///     fn should_retry(&self, failure: &Failure<String>) -> bool {
    ///         matches!(failure, Failure::TimedOut(_))
    ///     }
    /// }
    /// let builder = inflight::Inflight::new(8)
    ///     .retry(inflight::Retry::attempts(3))
    ///     .retry_policy(OnlyTimeouts);
    /// # drop(builder);
    /// ```
    pub fn retry_policy<P>(self, policy: P) -> Inflight<P, M, KF> {
        Inflight {
            retry_if: policy,
            mode: self.mode,
            keys: self.keys,
            settings: self.settings,
        }
    }

    /// What to do when inputs fail; see [`ErrorPolicy`].
    ///
    /// ```
    /// let builder = inflight::Inflight::new(8).errors(inflight::ErrorPolicy::FailFast);
    /// # drop(builder);
    /// ```
    pub fn errors(mut self, policy: ErrorPolicy) -> Self {
        self.settings.errors = policy;
        self
    }

    /// How a run that the [`ErrorPolicy`] halts ends: at once, cancelling the tasks in flight
    /// ([`HaltMode::Now`], the default), or after handing back the tasks already in flight
    /// ([`HaltMode::Soon`]); see [`HaltMode`].
    ///
    /// ```
    /// use inflight::{ErrorPolicy, HaltMode, Inflight};
    /// let builder = Inflight::new(8).errors(ErrorPolicy::FailFast).halt_mode(HaltMode::Soon);
    /// # drop(builder);
    /// ```
    pub fn halt_mode(mut self, mode: HaltMode) -> Self {
        self.settings.halt_mode = mode;
        self
    }

    /// At most `limit` inputs of one key (say, one host) in flight, under the global limit.
    ///
    /// An input whose key is full waits in a parking area while inputs of other keys go ahead,
    /// so one busy key does not block the rest. The area holds at most
    /// [`max_parked`](Inflight::max_parked) inputs (default: 4 × the global limit); when it is
    /// full, no more input is pulled until a parked one starts. Memory is bounded by the
    /// global limit plus that cap.
    ///
    /// # Panics
    ///
    /// If `limit` is 0.
    ///
    /// ```
    /// let builder = inflight::Inflight::new(100).per_key(4, |url: &String| url.len());
    /// # drop(builder);
    /// ```
    #[track_caller]
    pub fn per_key<I, K, F>(self, limit: usize, key_of: F) -> Inflight<R, M, KeyFn<F>>
    where
        F: Fn(&I) -> K,
    {
        check_limit(limit, "per_key: limit");
        Inflight {
            retry_if: self.retry_if,
            mode: self.mode,
            keys: KeyFn(key_of),
            settings: Settings {
                per_key: limit,
                ..self.settings
            },
        }
    }

    /// The most inputs that may wait for their key (see [`per_key`](Inflight::per_key)).
    ///
    /// # Panics
    ///
    /// If `cap` is 0.
    ///
    /// ```
    /// let builder = inflight::Inflight::new(10).max_parked(1000);
    /// # drop(builder);
    /// ```
    #[track_caller]
    pub fn max_parked(mut self, cap: usize) -> Self {
        check_limit(cap, "max_parked: cap");
        self.settings.max_parked = Some(cap);
        self
    }

    /// The reorder buffer of the input-order entry points (default: the limit); see
    /// [`Ordered::reorder_capacity`](crate::Ordered::reorder_capacity).
    ///
    /// ```
    /// let builder = inflight::Inflight::new(10).reorder_capacity(100);
    /// # drop(builder);
    /// ```
    #[track_caller]
    pub fn reorder_capacity(mut self, capacity: usize) -> Self {
        check_limit(capacity, "reorder_capacity: capacity");
        self.settings.reorder = Some(capacity);
        self
    }

    /// Runs each attempt as a tokio task, so CPU-heavy work uses every core and a panic becomes
    /// a [`Failure::Panicked`](crate::Failure::Panicked) outcome. The task's futures must then
    /// be `Send + 'static`.
    ///
    /// ```
    /// let builder = inflight::Inflight::new(4).spawned();
    /// # drop(builder);
    /// ```
    pub fn spawned(self) -> Inflight<R, Spawned, KF> {
        Inflight {
            retry_if: self.retry_if,
            mode: Spawned,
            keys: self.keys,
            settings: self.settings,
        }
    }

    /// Counts the runs of this builder into a [`Progress`], readable at any time. Off unless
    /// asked for; when off, nothing is counted.
    ///
    /// ```
    /// let mut builder = inflight::Inflight::new(4);
    /// let progress = builder.progress();
    /// assert_eq!(progress.snapshot().pulled, 0);
    /// ```
    pub fn progress(&mut self) -> Progress {
        self.settings
            .progress
            .get_or_insert_with(Progress::default)
            .clone()
    }

    /// Calls `hook` for every [`Event`] of the runs of this builder (from the consumer's
    /// thread, or a worker's in spawn mode). Keep it quick.
    ///
    /// ```
    /// let builder = inflight::Inflight::new(4).on_event(|event| eprintln!("{event:?}"));
    /// # drop(builder);
    /// ```
    pub fn on_event(mut self, hook: impl Fn(&Event) + Send + Sync + 'static) -> Self {
        self.settings.hook = Some(Arc::new(hook));
        self
    }

    /// A handle to change the limit and the rate of this builder's runs while they go on.
    ///
    /// ```
    /// let builder = inflight::Inflight::new(4);
    /// builder.handle().set_limit(8);
    /// ```
    pub fn handle(&self) -> RunHandle {
        RunHandle {
            shared: self.settings.control.clone(),
        }
    }

    fn parts<St, T, E, F, Fut>(&self, source: St, task: F) -> RunParts<St, KF, F, R, M>
    where
        St: Stream,
        KF: KeyOf<St::Item> + Clone,
        R: RetryIf<E> + Clone,
        M: RunMode<Fut> + Clone,
        F: Fn(&St::Item) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let halt = Arc::new(Halt::new(self.settings.errors, self.settings.halt_mode));
        let gate = Gate::new(
            source,
            GateConfig {
                pacer: self.settings.control.pacer.clone(),
                keys: self.keys.clone(),
                per_key: self.settings.per_key,
                max_parked: self
                    .settings
                    .max_parked
                    .unwrap_or(self.settings.limit.saturating_mul(4)),
                stop: halt.stop.clone(),
                progress: self.settings.progress.clone(),
            },
        );
        let shared = Arc::new(RunShared {
            task,
            timeout: self.settings.timeout,
            retry: self.settings.retry,
            retry_if: self.retry_if.clone(),
            mode: self.mode.clone(),
            pacer: self.settings.control.pacer.clone(),
            progress: self.settings.progress.clone(),
            hook: self.settings.hook.clone(),
            halt: halt.clone(),
        });
        (gate, shared, halt)
    }

    /// Runs `task` on each input of `inputs` (pulled lazily), handing back outcomes in
    /// completion order.
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
    pub fn as_completed<II, T, E, F, Fut>(
        &self,
        inputs: II,
        task: F,
    ) -> Outcomes<impl Stream<Item = Outcome<II::Item, T, E>> + super::outcomes::Resizable + Unpin>
    where
        II: IntoIterator,
        KF: KeyOf<II::Item> + Clone,
        R: RetryIf<E> + Clone,
        M: RunMode<Fut> + Clone,
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
    pub fn ordered<II, T, E, F, Fut>(
        &self,
        inputs: II,
        task: F,
    ) -> Outcomes<impl Stream<Item = Outcome<II::Item, T, E>> + super::outcomes::Resizable + Unpin>
    where
        II: IntoIterator,
        KF: KeyOf<II::Item> + Clone,
        R: RetryIf<E> + Clone,
        M: RunMode<Fut> + Clone,
        F: Fn(&II::Item) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.stream_ordered(IterSource::new(inputs.into_iter()), task)
    }

    /// Runs every input and returns all outcomes in input order (shorter if the error policy
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
    pub async fn gather<II, T, E, F, Fut>(
        &self,
        inputs: II,
        task: F,
    ) -> Vec<Outcome<II::Item, T, E>>
    where
        II: IntoIterator,
        KF: KeyOf<II::Item> + Clone,
        R: RetryIf<E> + Clone,
        M: RunMode<Fut> + Clone,
        F: Fn(&II::Item) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let mut outcomes = Vec::new();
        let mut stream = self.as_completed(inputs, task);
        while let Some(outcome) =
            std::future::poll_fn(|cx| std::pin::Pin::new(&mut stream).poll_next(cx)).await
        {
            outcomes.push(outcome);
        }
        outcomes.sort_by_key(|outcome| outcome.index);
        outcomes
    }

    /// Like [`as_completed`](Inflight::as_completed) over a stream of inputs.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use futures::StreamExt;
    /// let n = inflight::Inflight::new(2)
    ///     .stream(futures::stream::iter(0..3), |&n| async move { Ok::<_, ()>(n) })
    ///     .count()
    ///     .await;
    /// assert_eq!(n, 3);
    /// # }
    /// ```
    pub fn stream<St, T, E, F, Fut>(
        &self,
        inputs: St,
        task: F,
    ) -> Outcomes<impl Stream<Item = Outcome<St::Item, T, E>> + super::outcomes::Resizable + Unpin>
    where
        St: Stream + Unpin,
        KF: KeyOf<St::Item> + Clone,
        R: RetryIf<E> + Clone,
        M: RunMode<Fut> + Clone,
        F: Fn(&St::Item) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let (gate, shared, halt) = self.parts(inputs, task);
        let tasks = Tasks {
            gate,
            start: move |admitted| run_input(admitted, shared.clone()),
        };
        Outcomes::new(
            AsCompleted::new(tasks, self.settings.limit),
            halt,
            Some(self.settings.control.clone()),
        )
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
    pub fn stream_ordered<St, T, E, F, Fut>(
        &self,
        inputs: St,
        task: F,
    ) -> Outcomes<impl Stream<Item = Outcome<St::Item, T, E>> + super::outcomes::Resizable + Unpin>
    where
        St: Stream + Unpin,
        KF: KeyOf<St::Item> + Clone,
        R: RetryIf<E> + Clone,
        M: RunMode<Fut> + Clone,
        F: Fn(&St::Item) -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let (gate, shared, halt) = self.parts(inputs, task);
        // Positions are the inputs' own indices, not the order the gate lets them through
        // (per-key parking can hold an early input back).
        let tasks = Tasks {
            gate,
            start: move |admitted: Admitted<St::Item, KF::Key>| {
                let index = admitted.index;
                let run = run_input(admitted, shared.clone());
                async move { (index, run.await) }
            },
        };
        let ordered = InputOrder::new(
            tasks,
            self.settings.limit,
            self.settings.reorder.unwrap_or(self.settings.limit),
        );
        Outcomes::new(ordered, halt, Some(self.settings.control.clone()))
    }

    /// A push-style pool under this builder's policies: [`InputPool::spawn`] hands it inputs
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
    /// let mut pool = inflight::Inflight::new(2).pool(|n: &u32| { let n = *n; async move { Ok::<_, ()>(n + 1) } });
    /// pool.spawn(1).await.unwrap();
    /// assert_eq!(pool.next_outcome().await.unwrap().result, Ok(2));
    /// # }
    /// ```
    pub fn pool<I, T, E, F, Fut>(&self, task: F) -> InputPool<I, T, E>
    where
        I: Send + 'static,
        T: Send + 'static,
        E: Send + 'static,
        KF: KeyOf<I> + Clone + Send + 'static,
        KF::Key: Send + 'static,
        R: RetryIf<E> + Clone + Send + Sync + 'static,
        M: RunMode<Fut> + Clone + Send + Sync + 'static,
        M::Attempt: Send,
        F: Fn(&I) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, E>> + Send + 'static,
    {
        let (sender, receiver) = tokio::sync::mpsc::channel(1);
        let run = self.stream(Inputs(receiver), task);
        InputPool::new(sender, crate::drive::drive_unbounded(run))
    }
}

/// What every entry point is built from: the gate, the shared task state, the halt counts.
type RunParts<St, KF, F, R, M> = (Gate<St, KF>, Arc<RunShared<F, R, M>>, Arc<Halt>);

pin_project_lite::pin_project! {
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

    fn poll_next(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Fut>> {
        let this = self.project();
        let start = this.start;
        this.gate.poll_next(cx).map(|admitted| admitted.map(start))
    }
}

impl<R, M, KF> std::fmt::Debug for Inflight<R, M, KF> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inflight")
            .field("limit", &self.settings.limit)
            .field("timeout", &self.settings.timeout)
            .field("retry", &self.settings.retry)
            .field("errors", &self.settings.errors)
            .field("halt_mode", &self.settings.halt_mode)
            .finish_non_exhaustive()
    }
}
