//! [`LimitOverview`]: a shared concurrency limit as a dashboard shows it.

use super::family::Family;
use super::options::LimitOptions;
use crate::connection::Redis;
use crate::error::Error;
use crate::keys::FamilyKeys;

/// A global concurrency limit's state, from [`Redis::shared_limits`].
///
/// ```
/// let l = inflight_redis::LimitOverview { name: "api".into(), limit: Some(20), stored: true, held: 3, waiting: 0, grace: false };
/// assert!(l.held <= l.limit.unwrap());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LimitOverview {
    /// Its name (the runs' `--name`).
    pub name: String,
    /// The limit in force: the one stored with `inflight limits set` if any, else the one
    /// the last process to start using it was made with; `None` if neither is known (a
    /// limit last used by an older version).
    pub limit: Option<u64>,
    /// Whether `limit` is a stored (live) limit that every process follows.
    pub stored: bool,
    /// Permits held with a live lease.
    pub held: u64,
    /// Waiters in the queue.
    pub waiting: u64,
    /// Whether grants are held back after Redis lost its data.
    pub grace: bool,
}

/// Reads the limit `name`: three round trips.
pub(crate) async fn read(redis: &Redis, name: &str) -> Result<LimitOverview, Error> {
    let keys = FamilyKeys::limit(name);
    let mut get = redis::cmd("GET");
    get.arg(keys.declared());
    let declared: Option<u64> = redis.cmd(&get).await?;
    // Only reads: the family's tasks start with an acquire, which this never makes.
    let family = Family::new(
        redis.clone(),
        name.to_string(),
        keys,
        declared.unwrap_or(1).max(1),
        LimitOptions::default(),
    );
    let stored = family.stored_limit().await?;
    let (_, held, waiting, grace) = family.state(None).await?;
    Ok(LimitOverview {
        name: name.to_string(),
        limit: stored.or(declared),
        stored: stored.is_some(),
        held,
        waiting,
        grace,
    })
}
