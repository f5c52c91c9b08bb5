//! [`SharedLimit`]: a limit that runs, processes or machines share, plugged into the builder.

use std::any::Any;
use std::error::Error;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::limits::limiter::Limiter;

/// The error of a [`SharedLimit`] that could not be acquired (say, its server was unreachable
/// for longer than allowed).
pub type SharedLimitError = Box<dyn Error + Send + Sync>;

/// The future of [`SharedLimit::acquire`].
pub type Acquiring<'a> =
    Pin<Box<dyn Future<Output = Result<SharedPermit, SharedLimitError>> + Send + 'a>>;

/// A limit shared beyond one run: by other runs, other processes or other machines (the crate
/// `inflight-redis` has limits on Redis; a [`Limiter`] is one within a process).
///
/// The builder applies shared limits to every input of its runs, on top of its own limit (which
/// then says what this run may have in flight, while the shared one caps the sum): see
/// [`Inflight::shared_limit`](crate::Inflight::shared_limit),
/// [`shared_per_key`](crate::Inflight::shared_per_key) and
/// [`shared_rate`](crate::Inflight::shared_rate). An input waits for them after it has taken a
/// slot of the run: first its key's shared limit, then the shared concurrency limits, then (for
/// every attempt) the run's own rate and the shared rates, and then it starts.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// use inflight::{Inflight, Limiter};
///
/// // Two builders of their own (limits 8 and 8) that share one limit of 10 between them.
/// let both = Limiter::new(10);
/// let crawl = Inflight::new(8).shared_limit(both.clone());
/// let check = Inflight::new(8).shared_limit(both.clone());
/// let (a, b) = tokio::join!(
///     crawl.gather(0..20, |&i| async move { Ok::<_, ()>(i) }),
///     check.gather(0..20, |&i| async move { Ok::<_, ()>(i) }),
/// );
/// assert_eq!(a.len() + b.len(), 40);
/// # }
/// ```
pub trait SharedLimit: Send + Sync + 'static {
    /// Waits until one more task may start under this limit and returns what holds its place
    /// until dropped (for a rate, nothing is held). `key` is the input's key, shown with its
    /// `Display`, when the limit is a per-key one; `None` otherwise.
    ///
    /// An error means the limit cannot be had at all: the input fails with
    /// [`Failure::Unavailable`](crate::Failure::Unavailable) without starting, and the run starts
    /// nothing more. A limit that is merely busy waits instead; it must never let a task through
    /// because it could not tell whether there was room (never fail open).
    fn acquire<'a>(&'a self, key: Option<&'a str>) -> Acquiring<'a>;
}

impl<L: SharedLimit + ?Sized> SharedLimit for Arc<L> {
    fn acquire<'a>(&'a self, key: Option<&'a str>) -> Acquiring<'a> {
        (**self).acquire(key)
    }
}

/// A [`Limiter`] shared between builders (or with other code) caps what they run together.
impl SharedLimit for Limiter {
    fn acquire<'a>(&'a self, _key: Option<&'a str>) -> Acquiring<'a> {
        Box::pin(async move { Ok(SharedPermit::new(Limiter::acquire(self).await)) })
    }
}

/// What holds a task's place under a [`SharedLimit`]; dropping it gives the place back.
///
/// ```
/// let limiter = inflight::Limiter::new(1);
/// let permit = inflight::SharedPermit::new(limiter.try_acquire().unwrap());
/// assert_eq!(limiter.in_flight(), 1);
/// drop(permit);
/// assert_eq!(limiter.in_flight(), 0);
/// ```
#[must_use = "the place is given back as soon as this is dropped"]
pub struct SharedPermit {
    _held: Option<Box<dyn Any + Send + Sync>>,
}

impl SharedPermit {
    /// A permit that holds `held` (whose drop gives the place back) until it is dropped.
    ///
    /// ```
    /// let permit = inflight::SharedPermit::new(());
    /// # drop(permit);
    /// ```
    pub fn new(held: impl Send + Sync + 'static) -> SharedPermit {
        SharedPermit {
            _held: Some(Box::new(held)),
        }
    }

    /// A permit that holds nothing: what a rate hands out.
    ///
    /// ```
    /// let permit = inflight::SharedPermit::empty();
    /// # drop(permit);
    /// ```
    pub fn empty() -> SharedPermit {
        SharedPermit { _held: None }
    }
}

impl fmt::Debug for SharedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedPermit").finish_non_exhaustive()
    }
}

/// The shared limits a builder applies, by the place each takes in an input's start.
#[derive(Clone, Default)]
pub(crate) struct SharedLimits {
    pub(crate) per_key: Vec<Arc<dyn SharedLimit>>,
    pub(crate) concurrency: Vec<Arc<dyn SharedLimit>>,
    pub(crate) rate: Vec<Arc<dyn SharedLimit>>,
}

impl SharedLimits {
    /// Whether an input holds places under these limits (per-key or concurrency ones).
    pub(crate) fn holds_places(&self) -> bool {
        !self.per_key.is_empty() || !self.concurrency.is_empty()
    }
}

impl fmt::Debug for SharedLimits {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedLimits")
            .field("per_key", &self.per_key.len())
            .field("concurrency", &self.concurrency.len())
            .field("rate", &self.rate.len())
            .finish()
    }
}
