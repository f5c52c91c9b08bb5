//! [`Inflight`]: one builder whose policies every entry point gets.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::drop_if::ErasedDropIf;
use super::event::Event;
use super::halt::{ErrorPolicy, HaltMode};
use super::handle::{Control, RunHandle};
use super::outcome::Failure;
use super::progress::Progress;
use super::rate::Rate;
use super::retry::{ErasedRetryIf, Retry, RetryIf, RetryWhen};
use super::shared::{SharedLimit, SharedLimits};
use super::task::Hook;
use crate::limit::{check, Limit};
use crate::limit_check::check_limit;

/// Runs inputs through a task with a bounded number in flight, under policies: a start rate,
/// a timeout per attempt, retries with backoff, an error policy, live resizing (or an
/// [adaptive](crate::Limit::adaptive) limit), progress, and limits shared with other runs,
/// processes or machines. Every entry point gets every policy.
///
/// The task is a function from `&input` to a future of `Result`, so an input can be attempted
/// again. Its future cannot borrow the input: clone what it needs from it (and from your own
/// shared state: an `Arc`, a `reqwest::Client`) into an `async move` block. Each entry point
/// hands back one [`Outcome`](crate::Outcome) per input, carrying the input, its position and
/// its result.
///
/// | entry point | hands back |
/// | --- | --- |
/// | [`as_completed`](Inflight::as_completed), [`stream`](Inflight::stream) | [`Outcomes`](crate::Outcomes) in completion order |
/// | [`ordered`](Inflight::ordered), [`stream_ordered`](Inflight::stream_ordered) | outcomes in input order |
/// | [`gather`](Inflight::gather) | every outcome, in input order, at the end |
/// | [`try_gather`](Inflight::try_gather) | every output, or the first input that failed |
/// | [`pool`](Inflight::pool) | an [`InputPool`](crate::InputPool) you submit inputs to |
///
/// What a run says about itself (its inputs' keys for a [per-key limit](crate::Outcomes::per_key),
/// and whether its attempts are [spawned](crate::Outcomes::spawned)) is said on the object the
/// entry point returns, where the input and task types are known.
///
/// # Sharing
///
/// `Inflight` is one type, `Clone`, `Send` and `Sync`, whatever was configured, so it can live
/// in a struct or a static. **Everything a builder holds is shared by every run made from it and
/// by its clones**, as a [`Limiter`](crate::Limiter) is: the limit (two runs at once from
/// `Inflight::new(2)` have 2 in flight between them), the rate, the [`progress`](Inflight::progress)
/// counters and the [`handle`](Inflight::handle). A stored builder therefore limits the whole
/// program. For an independent run, make a new builder.
///
/// A run waiting for a slot that other runs hold keeps its place in line for as long as it
/// lives, like a pending `Semaphore::acquire`: the slot it is handed is its own until it is
/// polled again. So a run you stop polling (after a `timeout` on its `next()`, say) should be
/// dropped, or polled again, or it holds a slot the others wait for.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use inflight::{Failure, Inflight, Rate, Retry};
///
/// struct Crawler {
///     policy: Inflight,
/// }
///
/// impl Crawler {
///     async fn lengths(&self, urls: Vec<String>) -> Result<Vec<usize>, inflight::Failed<String, u16>> {
///         self.policy
///             .try_gather(urls, |url| {
///                 let url = url.clone(); // the future owns what it needs
///                 async move { if url.ends_with("/404") { Err(404) } else { Ok(url.len()) } }
///             })
///             .per_key(2, |url| url.split('/').nth(2).unwrap_or("").to_owned())
///             .await
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let crawler = Crawler {
///     policy: Inflight::new(200)
///         .rate(Rate::per_second(50))
///         .timeout(Duration::from_secs(10))
///         .retry(Retry::attempts(3))
///         .retry_if(|failure: &Failure<u16>| !matches!(failure, Failure::Error(404))),
/// };
/// let ok = crawler.lengths(vec!["https://a.example/1".into(), "https://b.example/22".into()]).await;
/// assert_eq!(ok, Ok(vec![19, 20]));
/// let failed = crawler.lengths(vec!["https://a.example/404".into()]).await.unwrap_err();
/// assert_eq!(failed.failure, Failure::Error(404));
/// assert_eq!(failed.attempts, 1); // a 404 is not retried
/// # }
/// ```
#[derive(Clone)]
pub struct Inflight {
    pub(crate) control: Arc<Control>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) retry: Option<Retry>,
    pub(crate) retry_if: Option<ErasedRetryIf>,
    pub(crate) drop_if: Option<ErasedDropIf>,
    pub(crate) errors: ErrorPolicy,
    pub(crate) halt_mode: HaltMode,
    pub(crate) max_parked: Option<usize>,
    pub(crate) reorder: Option<usize>,
    pub(crate) hook: Option<Hook>,
    pub(crate) shared: SharedLimits,
}

impl Inflight {
    /// A builder for runs with at most `limit` inputs in flight (in all its runs together) and
    /// no other policy. `limit` is a number, or a [`Limit::adaptive`] that finds the number
    /// from the latency of the attempts and their drops (timeouts, and the failures
    /// [`drop_if`](Inflight::drop_if) names).
    ///
    /// # Panics
    ///
    /// If `limit` is 0 (or an adaptive limit's min is above its max).
    ///
    /// ```
    /// let builder = inflight::Inflight::new(10);
    /// assert_eq!(builder.handle().limit(), 10);
    /// let adaptive = inflight::Inflight::new(inflight::Limit::adaptive().max(500));
    /// assert_eq!(adaptive.handle().limit(), 10); // where it starts
    /// ```
    #[track_caller]
    pub fn new(limit: impl Into<Limit>) -> Inflight {
        let limit = check(limit.into(), "Inflight::new: limit");
        Inflight {
            control: Control::new(limit),
            timeout: None,
            retry: None,
            retry_if: None,
            drop_if: None,
            errors: ErrorPolicy::Collect,
            halt_mode: HaltMode::Now,
            max_parked: None,
            reorder: None,
            hook: None,
            shared: SharedLimits::default(),
        }
    }

    /// Limits the rate of starts (retries included); see [`Rate`] for the guarantee. The rate
    /// is shared state: it applies to every run and clone of this builder, and
    /// [`RunHandle::set_rate`] changes it while they go on.
    ///
    /// ```
    /// let builder = inflight::Inflight::new(8).rate(inflight::Rate::per_second(20).burst(5));
    /// # drop(builder);
    /// ```
    pub fn rate(self, rate: Rate) -> Self {
        self.control.pacer.set_rate(Some(rate));
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
        self.timeout = Some(limit);
        self
    }

    /// Retries failed attempts; see [`Retry`].
    ///
    /// ```
    /// let builder = inflight::Inflight::new(8).retry(inflight::Retry::attempts(3));
    /// # drop(builder);
    /// ```
    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Retries only the failures `should_retry` accepts (default: all). Its parameter names
    /// the error type of the runs it is for (`|f: &Failure<MyError>|`).
    ///
    /// # Panics
    ///
    /// A run whose task fails with another error type panics when it is made, naming both.
    ///
    /// ```
    /// use inflight::Failure;
    /// let builder = inflight::Inflight::new(8)
    ///     .retry(inflight::Retry::attempts(3))
    ///     .retry_if(|f: &Failure<u16>| matches!(f, Failure::TimedOut(_) | Failure::Error(500..)));
    /// # drop(builder);
    /// ```
    pub fn retry_if<E, P>(self, should_retry: P) -> Self
    where
        E: 'static,
        P: Fn(&Failure<E>) -> bool + Send + Sync + 'static,
    {
        self.retry_policy(RetryWhen(should_retry))
    }

    /// Decides which failures are retried and, optionally, how long to wait before each retry,
    /// with your own [`RetryIf`] (say, one that honours HTTP `Retry-After`); see its example.
    /// [`retry_if`](Inflight::retry_if) is the shorthand for a plain predicate.
    ///
    /// # Panics
    ///
    /// A run whose task fails with another error type panics when it is made, naming both.
    ///
    /// ```
    /// use inflight::{Failure, RetryIf};
    ///
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
    pub fn retry_policy<E, P>(mut self, policy: P) -> Self
    where
        E: 'static,
        P: RetryIf<E> + Send + Sync + 'static,
    {
        self.retry_if = Some(ErasedRetryIf::new(policy));
        self
    }

    /// Which failures of the task mean "too much" to an [adaptive](crate::Limit::adaptive)
    /// limit, which cuts the limit when they are more than a tenth of the replies: for an HTTP
    /// client, 429 and 503, and connections reset or refused. Timeouts always count; other
    /// failures (a 404) do not, unless `is_drop` says so. Its parameter names the error type
    /// of the runs it is for (`|f: &Failure<MyError>|`). Without an adaptive limit it has no
    /// effect.
    ///
    /// # Panics
    ///
    /// A run whose task fails with another error type panics when it is made, naming both.
    ///
    /// ```
    /// use inflight::{Failure, Inflight, Limit};
    /// let builder = Inflight::new(Limit::adaptive().max(500))
    ///     .drop_if(|f: &Failure<u16>| matches!(f, Failure::Error(429 | 503)));
    /// # drop(builder);
    /// ```
    pub fn drop_if<E, P>(mut self, is_drop: P) -> Self
    where
        E: 'static,
        P: Fn(&Failure<E>) -> bool + Send + Sync + 'static,
    {
        self.drop_if = Some(ErasedDropIf::new(is_drop));
        self
    }

    /// What to do when inputs fail; see [`ErrorPolicy`]. The counts are per run.
    ///
    /// ```
    /// let builder = inflight::Inflight::new(8).errors(inflight::ErrorPolicy::fail_fast());
    /// # drop(builder);
    /// ```
    pub fn errors(mut self, policy: ErrorPolicy) -> Self {
        self.errors = policy;
        self
    }

    /// How a run that the [`ErrorPolicy`] halts ends: at once, cancelling the tasks in flight
    /// ([`HaltMode::Now`], the default), or after handing back the tasks already started
    /// ([`HaltMode::Soon`]); see [`HaltMode`].
    ///
    /// ```
    /// use inflight::{ErrorPolicy, HaltMode, Inflight};
    /// let builder = Inflight::new(8).errors(ErrorPolicy::fail_fast()).halt_mode(HaltMode::Soon);
    /// # drop(builder);
    /// ```
    pub fn halt_mode(mut self, mode: HaltMode) -> Self {
        self.halt_mode = mode;
        self
    }

    /// The most inputs that may wait for their key in a run with a
    /// [per-key limit](crate::Outcomes::per_key) (default: 4 × the limit, or an adaptive
    /// limit's max).
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
        self.max_parked = Some(cap);
        self
    }

    /// The reorder buffer of the input-order entry points (default: the limit, or an adaptive
    /// limit's max); see
    /// [`Ordered::reorder_capacity`](crate::Ordered::reorder_capacity).
    ///
    /// # Panics
    ///
    /// If `capacity` is 0.
    ///
    /// ```
    /// let builder = inflight::Inflight::new(10).reorder_capacity(100);
    /// # drop(builder);
    /// ```
    #[track_caller]
    pub fn reorder_capacity(mut self, capacity: usize) -> Self {
        check_limit(capacity, "reorder_capacity: capacity");
        self.reorder = Some(capacity);
        self
    }

    /// Counts the runs of this builder (and of its clones) into a [`Progress`], readable at any
    /// time. Off until first asked for; runs made before then are not counted.
    ///
    /// ```
    /// let builder = inflight::Inflight::new(4);
    /// let progress = builder.progress();
    /// assert_eq!(progress.snapshot().pulled, 0);
    /// ```
    pub fn progress(&self) -> Progress {
        self.control
            .progress
            .get_or_init(|| Progress::of(self.control.limiter.clone()))
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
        self.hook = Some(Arc::new(hook));
        self
    }

    /// A handle to read and change the limit and the rate of this builder's runs while they go
    /// on.
    ///
    /// ```
    /// let builder = inflight::Inflight::new(4);
    /// builder.handle().set_limit(8);
    /// ```
    pub fn handle(&self) -> RunHandle {
        RunHandle {
            control: self.control.clone(),
        }
    }

    /// Adds a concurrency limit shared with other runs, processes or machines: an input holds
    /// a place of it from its start to its end (retries included). The builder's own limit
    /// still applies; the shared one caps what all its users run together. See [`SharedLimit`].
    /// The shared limit is fixed: with an [adaptive](crate::Limit::adaptive) builder limit,
    /// each builder adapts its own share under it.
    ///
    /// ```
    /// let together = inflight::Limiter::new(10);
    /// let builder = inflight::Inflight::new(8).shared_limit(together);
    /// # drop(builder);
    /// ```
    pub fn shared_limit(mut self, limit: impl SharedLimit) -> Self {
        self.shared.concurrency.push(Arc::new(limit));
        self
    }

    /// Adds a per-key limit shared with other runs, processes or machines, applied to the keys
    /// a run gets from [`per_key`](crate::Outcomes::per_key) (named by their `Display`). An
    /// input takes its key's place before any other shared place, so a busy key never holds a
    /// place of a shared concurrency limit.
    ///
    /// # Panics
    ///
    /// A run of this builder without keys panics when its first input starts.
    ///
    /// ```
    /// use std::collections::HashMap;
    /// use std::sync::Mutex;
    /// use inflight::{Acquiring, Inflight, Limiter, SharedLimit, SharedPermit};
    ///
    /// /// Two at once per key, across every builder that holds it (in one process; the crate
    /// /// `inflight-redis` has one across machines).
    /// #[derive(Default)]
    /// struct TwoPerKey(Mutex<HashMap<String, Limiter>>);
    ///
    /// impl SharedLimit for TwoPerKey {
    ///     fn acquire<'a>(&'a self, key: Option<&'a str>) -> Acquiring<'a> {
    ///         let key = key.unwrap_or_default().to_owned();
    ///         let limiter = self.0.lock().unwrap().entry(key).or_insert_with(|| Limiter::new(2)).clone();
    ///         Box::pin(async move { Ok(SharedPermit::new(limiter.acquire().await)) })
    ///     }
    /// }
    ///
    /// let per_host = std::sync::Arc::new(TwoPerKey::default());
    /// let crawl = Inflight::new(8).shared_per_key(per_host.clone());
    /// let check = Inflight::new(8).shared_per_key(per_host);
    /// # drop((crawl, check));
    /// ```
    pub fn shared_per_key(mut self, limit: impl SharedLimit) -> Self {
        self.shared.per_key.push(Arc::new(limit));
        self
    }

    /// Adds a start rate shared with other runs, processes or machines: every attempt takes
    /// one start of it, just before it starts (after the builder's own [`rate`](Inflight::rate)).
    ///
    /// ```
    /// # struct Global;
    /// # impl inflight::SharedLimit for Global {
    /// #     fn acquire<'a>(&'a self, _key: Option<&'a str>) -> inflight::Acquiring<'a> {
    /// #         Box::pin(async { Ok(inflight::SharedPermit::empty()) })
    /// #     }
    /// # }
    /// let builder = inflight::Inflight::new(8).shared_rate(Global);
    /// # drop(builder);
    /// ```
    pub fn shared_rate(mut self, rate: impl SharedLimit) -> Self {
        self.shared.rate.push(Arc::new(rate));
        self
    }
}

impl fmt::Debug for Inflight {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inflight")
            .field("limit", &self.control.limiter.limit())
            .field("rate", &self.control.pacer.rate())
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("retry_if", &self.retry_if)
            .field("drop_if", &self.drop_if)
            .field("adaptive", &self.control.adapts())
            .field("errors", &self.errors)
            .field("halt_mode", &self.halt_mode)
            .field("shared", &self.shared)
            .finish_non_exhaustive()
    }
}
