//! Run very large numbers of async tasks with a bounded number in flight.
//!
//! `inflight` pulls work lazily from an iterator or a stream, so a run over ten million inputs
//! uses as much memory as a run over ten, and hands outputs back as they complete or in input
//! order. It is what Python's `asyncio.as_completed` with a limit, `gather` with a semaphore,
//! or a task pool whose `spawn` waits for a slot would be, done once and done right.
//!
//! | you have | you want | use |
//! | --- | --- | --- |
//! | an iterator of futures | outputs as they finish | [`as_completed`] |
//! | an iterator of futures | outputs in input order | [`ordered`] |
//! | an iterator of futures | all outputs, in order, at the end | [`gather`] |
//! | a stream of futures | either order | [`InflightExt`] |
//! | futures made here and there | a shared limit | [`Limiter`] |
//! | a producer that spawns tasks | backpressure, panics reported | [`Pool`] |
//! | a consumer that is slow per item | tasks that go on meanwhile | [`drive`] |
//! | a server whose capacity you do not know | a limit that finds it | [`Limit::adaptive`] |
//!
//! # Guarantees
//!
//! Every entry point keeps these:
//!
//! 1. Never more than `limit` futures in flight (for an [adaptive](Limit::adaptive) limit, a
//!    future starts only while fewer than the limit in force are running).
//! 2. Work-conserving: a finished future's slot is refilled on the same poll of the consumer,
//!    with no batching gaps; with equal task times, `n` tasks take `ceil(n / limit)` task times.
//! 3. Lazy: an input is pulled only when a slot is free (and, in input order, the reorder buffer
//!    has room), so an infinite iterator works. Pulled minus handed back is at most `limit`
//!    (completion order) or `limit` plus the reorder capacity (input order).
//! 4. Each output exactly once, in the order named.
//! 5. Dropping a stream drops every future in flight and pulls nothing more.
//! 6. A pending source stream does not hold back futures already in flight.
//! 7. A limit of 0 panics with a message that names it.
//! 8. Fair: woken futures are polled in the order they were woken, and one call polls at most
//!    128 of them before yielding, so a future that wakes itself in a loop starves nobody. Outputs
//!    spend tokio's task budget (one unit per 8), and a call stops polling once the task's
//!    budget is spent, so a consumer that loops over ready outputs still lets the other tasks of
//!    its runtime run.
//!
//! The futures of these streams run inside the stream, when the consumer polls it (as with
//! `futures`' `buffer_unordered`): no spawning, no `Send` bound, no runtime needed. If the
//! consumer awaits other slow things between items, wrap the stream in [`drive`].
//!
//! # Example
//!
//! ```
//! use futures::StreamExt;
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let start = tokio::time::Instant::now();
//! // A million inputs, made one at a time as slots free up: memory stays flat.
//! let fetches = (0..1_000_000u64).map(|i| async move {
//!     tokio::time::sleep(Duration::from_millis(10)).await;
//!     i
//! });
//! let mut results = inflight::as_completed(fetches, 1000);
//! let mut count = 0;
//! while let Some(_) = results.next().await {
//!     count += 1;
//! }
//! assert_eq!(count, 1_000_000);
//! assert_eq!(start.elapsed(), Duration::from_secs(10)); // 1000 rounds of 10 ms
//! # }
//! ```
//!
//! # Policies
//!
//! [`Inflight`] is one builder for what real jobs need beyond a limit: a start [`Rate`], a
//! timeout per attempt, [`Retry`] with backoff, an [`ErrorPolicy`], [`Progress`], a live
//! [`RunHandle`], and limits shared with other processes ([`SharedLimit`]). It is one type you
//! can keep in a struct, and everything it holds is shared by all the runs made from it, so a
//! stored builder limits the whole program. The task is a function of `&input` whose future
//! owns what it needs: clone it out of the input and out of your shared state.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use inflight::{Failed, Inflight, Retry};
//!
//! struct Crawler {
//!     policy: Inflight,          // one limit, rate and retry policy for every call
//!     seen: Arc<std::sync::Mutex<Vec<String>>>, // state the tasks share
//! }
//!
//! impl Crawler {
//!     async fn sizes(&self, urls: Vec<String>) -> Result<Vec<usize>, Failed<String, String>> {
//!         self.policy
//!             .try_gather(urls, |url| {
//!                 // The future may not borrow `url` or `self`: clone what it needs.
//!                 let (url, seen) = (url.clone(), self.seen.clone());
//!                 async move {
//!                     seen.lock().unwrap().push(url.clone());
//!                     if url.contains("missing") { Err(format!("404 {url}")) } else { Ok(url.len()) }
//!                 }
//!             })
//!             // At most 2 at once per host: the key function's input type is the run's.
//!             .per_key(2, |url| url.split('/').nth(2).unwrap_or("").to_owned())
//!             .await // stops at the first input that fails, cancelling the rest
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! let crawler = Crawler {
//!     policy: Inflight::new(100).timeout(Duration::from_secs(30)).retry(Retry::attempts(3)),
//!     seen: Default::default(),
//! };
//! assert_eq!(crawler.sizes(vec!["https://a.example/x".into()]).await, Ok(vec![19]));
//! let failed = crawler.sizes(vec!["https://a.example/missing".into()]).await.unwrap_err();
//! assert_eq!((failed.index, failed.attempts), (0, 3));
//! # }
//! ```
//!
//! # Limits
//!
//! One rule for 0 everywhere: a limit given when something is made (`as_completed(f, 0)`,
//! `Inflight::new(0)`, `Limiter::new(0)`, a `per_key` of 0, `Limit::fixed(0)`) panics, naming
//! it, since nothing could ever run (an adaptive limit's bounds are at least 1); a limit changed while running (`set_limit(0)` on a stream, a [`Limiter`] or a
//! [`RunHandle`]) pauses: nothing new starts until the limit is raised, and the raise starts
//! work at once.
//!
//! # Adaptive limits
//!
//! Wherever a limit is given, [`Limit::adaptive`] may be given instead: `as_completed(futures,
//! Limit::adaptive().max(500))`, `Inflight::new(Limit::adaptive())`. It finds how many tasks
//! can run at once before the latency of the tasks rises (before the server they share starts
//! to queue them), and follows it as the server's capacity changes. Use it when tasks share a
//! bottleneck whose capacity you do not know or that changes (a server, an API, a database);
//! keep a number when you know it. Under [`Inflight`], timeouts and the failures named by
//! [`Inflight::drop_if`] (429, 503, connection resets) count as "too much" too; the plain
//! streams see latency alone.
//!
//! It is a gradient controller like Netflix's Gradient2 and Envoy's adaptive concurrency filter,
//! chosen over AIMD, Vegas and both of those in a simulation of a server with a hidden capacity,
//! with probes that tell a latency of its own making from a slower server. How it works, its
//! parameters and what it cannot know are on [`AdaptiveLimit`]. The limit now is readable at any
//! time: `limit()` on the streams, [`RunHandle::limit`], [`Snapshot::limit`], and
//! [`Event::LimitChanged`].
//!
//! A plain number costs nothing more than before: a stream made with one has the type it always
//! had (see [`IntoLimit`]), and no clock is read for it.
//!
//! ```
//! use futures::StreamExt;
//! use std::time::Duration;
//! use inflight::Limit;
//!
//! # #[tokio::main(flavor = "current_thread", start_paused = true)]
//! # async fn main() {
//! // A server that serves 50 at once and queues the rest.
//! let server = std::sync::Arc::new(tokio::sync::Semaphore::new(50));
//! let fetches = (0..50_000).map(|i| {
//!     let server = server.clone();
//!     async move {
//!         let _place = server.acquire().await.unwrap();
//!         tokio::time::sleep(Duration::from_millis(20)).await;
//!         i
//!     }
//! });
//! let mut done = inflight::as_completed(fetches, Limit::adaptive().max(1000));
//! while let Some(_) = done.next().await {}
//! assert!((50..=80).contains(&done.limit()), "{}", done.limit()); // found, not 1000
//! # }
//! ```
//!
//! # Panics in tasks
//!
//! A future that panics while the streams poll it is dropped and its slot freed before the
//! panic reaches the consumer; a consumer that catches the panic and polls again finds the
//! other futures going on (as `futures`' combinators do), and the panicked one is never polled
//! again. In input order, its position is skipped. [`gather`] and [`try_gather`] cannot
//! complete without its output: polling them again panics, saying so. In [`Pool`] and in runs
//! made [`spawned`](Outcomes::spawned), a panic is caught per task and reported as a value.

#![forbid(unsafe_code)]
#![warn(missing_docs, missing_debug_implementations)]

mod adaptive;
mod as_completed;
mod block_on;
mod budget;
mod drive;
mod engine;
mod ext;
mod gather;
mod indexed;
mod input_order;
mod iter_source;
mod limit;
mod limit_check;
mod limiter;
mod ordered;
mod policy;
mod pool;
mod reorder;
mod slots;
mod task_error;
mod try_gather;
mod try_in_flight;
mod wake;

pub use adaptive::adaptive_limit::AdaptiveLimit;
pub use as_completed::{as_completed, AsCompleted};
pub use drive::{drive, Driven};
pub use ext::InflightExt;
pub use gather::{gather, Gather};
pub use limit::{IntoLimit, Limit};
pub use limiter::{Limiter, Permit};
pub use ordered::{ordered, Ordered};
pub use policy::builder::Inflight;
pub use policy::event::Event;
pub use policy::gathering::{Gathering, TryGathering};
pub use policy::halt::{Counted, ErrorPolicy, HaltMode};
pub use policy::handle::RunHandle;
pub use policy::input_pool::InputPool;
pub use policy::outcome::{Failed, Failure, Outcome};
pub use policy::outcomes::{Outcomes, StopHandle};
pub use policy::progress::{Progress, Snapshot};
pub use policy::rate::Rate;
pub use policy::retry::{Retry, RetryIf};
pub use policy::shared::{Acquiring, SharedLimit, SharedLimitError, SharedPermit};
pub use pool::Pool;
pub use task_error::TaskError;
pub use try_gather::{try_gather, TryGather};
pub use try_in_flight::TryInFlight;

/// The source types that appear in the return types of [`as_completed`], [`ordered`],
/// [`gather`] and [`try_gather`]: you name them only to store those streams in a struct.
pub mod source {
    pub use crate::iter_source::IterSource;
}
