//! [`GlobalLimit`]: at most `limit` permits held at once across every process.

use std::fmt;
use std::sync::Arc;

use super::acquire::acquire;
use super::family::Family;
use super::options::LimitOptions;
use super::permit::LimitPermit;
use crate::connection::Redis;
use crate::error::Error;
use crate::keys::FamilyKeys;

/// A concurrency limit shared by every process that uses the same name on the same Redis.
///
/// - **Leases**: each permit has a random owner token and a lease (default 30 s) that its
///   holder renews every third of a lease; a process that dies loses its permits within one
///   lease. A release or renewal names its own token, so it can never free or extend someone
///   else's permit.
/// - **Fairness**: waiters queue in Redis in arrival order, across processes; a place is
///   granted only when every waiter ahead of it could be granted too.
/// - **No busy polling**: a release pushes a wake-up to the list of the client whose waiter
///   is next, which that client pops with BLPOP; each waiter also asks again every poll
///   (default 1 s) as a fallback.
/// - **Live limit**: [`GlobalLimit::set_limit`] stores a limit in Redis that every process
///   follows from its next acquire; until one is stored, the `limit` given here applies.
/// - **Never fail open**: with Redis unreachable, acquire waits (see [`Redis`]).
///
/// ```no_run
/// # async fn f() -> Result<(), inflight_redis::Error> {
/// use inflight_redis::{GlobalLimit, Redis};
/// let redis = Redis::connect("redis://127.0.0.1:6379").await?;
/// let api = GlobalLimit::new(&redis, "api", 20); // 20 at once over every process
/// let permit = api.acquire(None).await?;
/// // call the API ...
/// drop(permit);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct GlobalLimit {
    family: Arc<Family>,
}

impl GlobalLimit {
    /// The limit `name` with the default lease (30 s) and poll (1 s); `limit` applies until
    /// a live limit is stored with [`GlobalLimit::set_limit`].
    ///
    /// # Panics
    ///
    /// If `limit` is 0.
    ///
    /// ```no_run
    /// # async fn f(redis: inflight_redis::Redis) {
    /// let limit = inflight_redis::GlobalLimit::new(&redis, "api", 20);
    /// # }
    /// ```
    #[track_caller]
    pub fn new(redis: &Redis, name: &str, limit: u64) -> GlobalLimit {
        GlobalLimit::with_options(redis, name, limit, LimitOptions::default())
    }

    /// The limit `name` with other lease and poll settings.
    ///
    /// # Panics
    ///
    /// If `limit` is 0.
    ///
    /// ```no_run
    /// # async fn f(redis: inflight_redis::Redis) {
    /// use std::time::Duration;
    /// let options = inflight_redis::LimitOptions::default().lease(Duration::from_secs(10));
    /// let limit = inflight_redis::GlobalLimit::with_options(&redis, "api", 20, options);
    /// # }
    /// ```
    #[track_caller]
    pub fn with_options(
        redis: &Redis,
        name: &str,
        limit: u64,
        options: LimitOptions,
    ) -> GlobalLimit {
        assert!(limit > 0, "GlobalLimit: limit must be at least 1, got 0");
        GlobalLimit {
            family: Family::new(
                redis.clone(),
                name.to_string(),
                FamilyKeys::limit(name),
                limit,
                options,
            ),
        }
    }

    /// Waits for a permit. Dropping the future withdraws from the queue.
    ///
    /// `key` is ignored: a global limit counts every key together. It is there so that
    /// [`GlobalLimit`], [`GlobalPerKey`](crate::GlobalPerKey) and
    /// [`GlobalRate`](crate::GlobalRate) share one signature for the `Inflight` builder.
    ///
    /// ```no_run
    /// # async fn f(limit: inflight_redis::GlobalLimit) -> Result<(), inflight_redis::Error> {
    /// let permit = limit.acquire(None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn acquire(&self, key: Option<&str>) -> Result<LimitPermit, Error> {
        let _ = key;
        let permit = acquire(&self.family, None, true).await?;
        Ok(permit.expect("a waiting acquire ends with a permit"))
    }

    /// A permit if one is free now and no one waits for it, else `None`.
    ///
    /// ```no_run
    /// # async fn f(limit: inflight_redis::GlobalLimit) -> Result<(), inflight_redis::Error> {
    /// if let Some(permit) = limit.try_acquire().await? { /* run */ }
    /// # Ok(()) }
    /// ```
    pub async fn try_acquire(&self) -> Result<Option<LimitPermit>, Error> {
        acquire(&self.family, None, false).await
    }

    /// Stores a live limit that every process follows from its next acquire (waiters that a
    /// raise lets in are woken at once). Lowering never revokes a permit: holders above the
    /// new limit finish first.
    ///
    /// A limit of 0 pauses: nothing is granted (in any process) until it is raised; holders
    /// keep their places.
    ///
    /// ```no_run
    /// # async fn f(limit: inflight_redis::GlobalLimit) -> Result<(), inflight_redis::Error> {
    /// limit.set_limit(50).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_limit(&self, limit: u64) -> Result<(), Error> {
        self.family.set_limit(Some(limit)).await
    }

    /// Removes the stored limit: each process goes back to the limit it was made with.
    ///
    /// ```no_run
    /// # async fn f(limit: inflight_redis::GlobalLimit) -> Result<(), inflight_redis::Error> {
    /// limit.clear_limit().await?;
    /// # Ok(()) }
    /// ```
    pub async fn clear_limit(&self) -> Result<(), Error> {
        self.family.set_limit(None).await
    }

    /// The live limit stored with [`GlobalLimit::set_limit`], if any (`None`: every process
    /// uses the limit it was made with).
    ///
    /// ```no_run
    /// # async fn f(limit: inflight_redis::GlobalLimit) -> Result<(), inflight_redis::Error> {
    /// if let Some(n) = limit.stored_limit().await? { println!("live limit {n}"); }
    /// # Ok(()) }
    /// ```
    pub async fn stored_limit(&self) -> Result<Option<u64>, Error> {
        self.family.stored_limit().await
    }

    /// The limit, holders and waiters as Redis has them now.
    ///
    /// ```no_run
    /// # async fn f(limit: inflight_redis::GlobalLimit) -> Result<(), inflight_redis::Error> {
    /// let state = limit.state().await?;
    /// println!("{} of {} held, {} waiting", state.held, state.limit, state.waiting);
    /// # Ok(()) }
    /// ```
    pub async fn state(&self) -> Result<LimitState, Error> {
        let (limit, held, waiting, grace) = self.family.state(None).await?;
        Ok(LimitState {
            limit,
            held,
            waiting,
            grace,
        })
    }

    /// Gives back the permit held under `token`, if it still is; true if it was. Releasing a
    /// token twice, an expired one or someone else's is a no-op: only that token's own entry
    /// is ever touched.
    ///
    /// ```no_run
    /// # async fn f(limit: inflight_redis::GlobalLimit) -> Result<(), inflight_redis::Error> {
    /// assert!(!limit.release_token("no-such:token").await?);
    /// # Ok(()) }
    /// ```
    pub async fn release_token(&self, token: &str) -> Result<bool, Error> {
        self.family.release(token, None).await
    }

    /// The lease and poll settings.
    ///
    /// ```no_run
    /// # fn f(limit: inflight_redis::GlobalLimit) {
    /// assert_eq!(limit.options().lease_time().as_secs(), 30);
    /// # }
    /// ```
    pub fn options(&self) -> LimitOptions {
        self.family.options
    }
}

impl fmt::Debug for GlobalLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GlobalLimit")
            .field("name", &self.family.name)
            .field("default_limit", &self.family.default_limit)
            .field("options", &self.family.options)
            .finish()
    }
}

/// A limit's state in Redis, from [`GlobalLimit::state`] or [`GlobalPerKey::state`](crate::GlobalPerKey::state).
///
/// ```
/// let s = inflight_redis::LimitState { limit: 2, held: 1, waiting: 0, grace: false };
/// assert!(s.held <= s.limit);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LimitState {
    /// The limit in force (the stored one, else this process's).
    pub limit: u64,
    /// Permits held with a live lease.
    pub held: u64,
    /// Waiters in the queue.
    pub waiting: u64,
    /// Whether grants are held back after Redis lost its data, for holders to re-register.
    pub grace: bool,
}
