//! [`GlobalPerKey`]: a global concurrency limit per key (per host, say).

use std::fmt;
use std::sync::Arc;

use super::acquire::acquire;
use super::family::Family;
use super::global::LimitState;
use super::options::LimitOptions;
use super::permit::LimitPermit;
use crate::connection::Redis;
use crate::error::Error;
use crate::keys::FamilyKeys;

/// At most `limit` permits per key at once, across every process: the
/// [`GlobalLimit`](crate::GlobalLimit) made once per key. A key's state is made on its first acquire and
/// deleted as soon as no one holds or waits for it; waiting on a full key never holds up
/// another key.
///
/// ```no_run
/// # async fn f() -> Result<(), inflight_redis::Error> {
/// use inflight_redis::{GlobalPerKey, Redis};
/// let redis = Redis::connect("redis://127.0.0.1:6379").await?;
/// let hosts = GlobalPerKey::new(&redis, "crawl-hosts", 2); // 2 per host over every process
/// let permit = hosts.acquire(Some("example.com")).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct GlobalPerKey {
    family: Arc<Family>,
}

impl GlobalPerKey {
    /// The per-key limit `name`, `limit` per key, with the default lease and poll.
    ///
    /// # Panics
    ///
    /// If `limit` is 0.
    ///
    /// ```no_run
    /// # async fn f(redis: inflight_redis::Redis) {
    /// let hosts = inflight_redis::GlobalPerKey::new(&redis, "hosts", 4);
    /// # }
    /// ```
    #[track_caller]
    pub fn new(redis: &Redis, name: &str, limit: u64) -> GlobalPerKey {
        GlobalPerKey::with_options(redis, name, limit, LimitOptions::default())
    }

    /// The per-key limit `name` with other lease and poll settings.
    ///
    /// # Panics
    ///
    /// If `limit` is 0.
    ///
    /// ```no_run
    /// # async fn f(redis: inflight_redis::Redis) {
    /// let o = inflight_redis::LimitOptions::default().lease(std::time::Duration::from_secs(5));
    /// let hosts = inflight_redis::GlobalPerKey::with_options(&redis, "hosts", 4, o);
    /// # }
    /// ```
    #[track_caller]
    pub fn with_options(
        redis: &Redis,
        name: &str,
        limit: u64,
        options: LimitOptions,
    ) -> GlobalPerKey {
        assert!(limit > 0, "GlobalPerKey: limit must be at least 1, got 0");
        GlobalPerKey {
            family: Family::new(
                redis.clone(),
                name.to_string(),
                FamilyKeys::per_key(name),
                limit,
                options,
            ),
        }
    }

    /// Waits for a permit under `key`; without a key, [`Error::Invalid`].
    ///
    /// ```no_run
    /// # async fn f(hosts: inflight_redis::GlobalPerKey) -> Result<(), inflight_redis::Error> {
    /// let permit = hosts.acquire(Some("example.com")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn acquire(&self, key: Option<&str>) -> Result<LimitPermit, Error> {
        let key = key.ok_or_else(|| {
            Error::Invalid(format!(
                "the per-key limit {} needs a key",
                self.family.name
            ))
        })?;
        let permit = acquire(&self.family, Some(key), true).await?;
        Ok(permit.expect("a waiting acquire ends with a permit"))
    }

    /// A permit under `key` if one is free now and no one waits for it, else `None`.
    ///
    /// ```no_run
    /// # async fn f(hosts: inflight_redis::GlobalPerKey) -> Result<(), inflight_redis::Error> {
    /// let maybe = hosts.try_acquire("example.com").await?;
    /// # Ok(()) }
    /// ```
    pub async fn try_acquire(&self, key: &str) -> Result<Option<LimitPermit>, Error> {
        acquire(&self.family, Some(key), false).await
    }

    /// Stores a live per-key limit that every process follows (waiters notice it on their
    /// next poll).
    ///
    /// A limit of 0 pauses: nothing is granted (in any process) until it is raised; holders
    /// keep their places.
    ///
    /// ```no_run
    /// # async fn f(hosts: inflight_redis::GlobalPerKey) -> Result<(), inflight_redis::Error> {
    /// hosts.set_limit(8).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_limit(&self, limit: u64) -> Result<(), Error> {
        self.family.set_limit(Some(limit)).await
    }

    /// Removes the stored per-key limit.
    ///
    /// ```no_run
    /// # async fn f(hosts: inflight_redis::GlobalPerKey) -> Result<(), inflight_redis::Error> {
    /// hosts.clear_limit().await?;
    /// # Ok(()) }
    /// ```
    pub async fn clear_limit(&self) -> Result<(), Error> {
        self.family.set_limit(None).await
    }

    /// The live per-key limit stored with [`GlobalPerKey::set_limit`], if any.
    ///
    /// ```no_run
    /// # async fn f(hosts: inflight_redis::GlobalPerKey) -> Result<(), inflight_redis::Error> {
    /// let stored: Option<u64> = hosts.stored_limit().await?;
    /// # Ok(()) }
    /// ```
    pub async fn stored_limit(&self) -> Result<Option<u64>, Error> {
        self.family.stored_limit().await
    }

    /// The state of one key in Redis.
    ///
    /// ```no_run
    /// # async fn f(hosts: inflight_redis::GlobalPerKey) -> Result<(), inflight_redis::Error> {
    /// let s = hosts.state("example.com").await?;
    /// # Ok(()) }
    /// ```
    pub async fn state(&self, key: &str) -> Result<LimitState, Error> {
        let (limit, held, waiting, grace) = self.family.state(Some(key)).await?;
        Ok(LimitState {
            limit,
            held,
            waiting,
            grace,
        })
    }

    /// Gives back the permit held under `token` for `key`, if it still is.
    ///
    /// ```no_run
    /// # async fn f(hosts: inflight_redis::GlobalPerKey) -> Result<(), inflight_redis::Error> {
    /// assert!(!hosts.release_token("example.com", "no-such:token").await?);
    /// # Ok(()) }
    /// ```
    pub async fn release_token(&self, key: &str, token: &str) -> Result<bool, Error> {
        self.family.release(token, Some(key)).await
    }
}

impl fmt::Debug for GlobalPerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GlobalPerKey")
            .field("name", &self.family.name)
            .field("default_limit", &self.family.default_limit)
            .field("options", &self.family.options)
            .finish()
    }
}
