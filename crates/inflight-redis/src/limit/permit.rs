//! [`LimitPermit`]: a place under a global limit, given back when dropped.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::family::{Family, Grant, Held};
use crate::error::Error;

/// A place under a [`GlobalLimit`](crate::GlobalLimit) or [`GlobalPerKey`](crate::GlobalPerKey).
///
/// While it lives, a background task renews its lease; dropping it gives the place back (in
/// the background, since a drop cannot wait; [`LimitPermit::release`] waits for it).
///
/// ```no_run
/// # async fn f(limit: inflight_redis::GlobalLimit) -> Result<(), inflight_redis::Error> {
/// let permit = limit.acquire(None).await?;
/// // ... the job runs ...
/// assert!(!permit.is_lost());
/// drop(permit); // the place goes back to the next waiter, in whichever process
/// # Ok(()) }
/// ```
pub struct LimitPermit {
    family: Arc<Family>,
    token: String,
    key: Option<String>,
    lost: Arc<AtomicBool>,
    granted_at_ms: u64,
    released: bool,
}

impl LimitPermit {
    pub(crate) fn new(family: Arc<Family>, key: Option<&str>, grant: Grant) -> LimitPermit {
        let lost = Arc::new(AtomicBool::new(false));
        family.hold(
            &grant.token,
            Held {
                key: key.map(str::to_string),
                epoch: grant.epoch,
                lost: lost.clone(),
            },
        );
        LimitPermit {
            family,
            token: grant.token,
            key: key.map(str::to_string),
            lost,
            granted_at_ms: grant.at_ms,
            released: false,
        }
    }

    /// The owner token: random, unique to this permit.
    ///
    /// ```no_run
    /// # async fn f(limit: inflight_redis::GlobalLimit) -> Result<(), inflight_redis::Error> {
    /// let permit = limit.acquire(None).await?;
    /// assert!(permit.token().contains(':'));
    /// # Ok(()) }
    /// ```
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The key it was taken under, for a per-key limit.
    ///
    /// ```no_run
    /// # async fn f(hosts: inflight_redis::GlobalPerKey) -> Result<(), inflight_redis::Error> {
    /// let permit = hosts.acquire(Some("example.com")).await?;
    /// assert_eq!(permit.key(), Some("example.com"));
    /// # Ok(()) }
    /// ```
    pub fn key(&self) -> Option<&str> {
        self.key.as_deref()
    }

    /// When Redis granted it, in milliseconds since the Unix epoch on Redis's clock.
    ///
    /// ```no_run
    /// # async fn f(limit: inflight_redis::GlobalLimit) -> Result<(), inflight_redis::Error> {
    /// let permit = limit.acquire(None).await?;
    /// assert!(permit.granted_at_ms() > 0);
    /// # Ok(()) }
    /// ```
    pub fn granted_at_ms(&self) -> u64 {
        self.granted_at_ms
    }

    /// Whether its lease ran out before a renewal got through (the process stalled, or was
    /// cut off from Redis, for longer than a lease) and its place went to someone else. The
    /// job goes on (nothing can stop it from here), so for its remaining time the limit may
    /// be exceeded by one; a [`RedisEvent::PermitLost`](crate::RedisEvent::PermitLost) says so.
    ///
    /// ```no_run
    /// # async fn f(limit: inflight_redis::GlobalLimit) -> Result<(), inflight_redis::Error> {
    /// let permit = limit.acquire(None).await?;
    /// if permit.is_lost() { eprintln!("ran over the limit"); }
    /// # Ok(()) }
    /// ```
    pub fn is_lost(&self) -> bool {
        self.lost.load(Ordering::Acquire)
    }

    /// Gives the place back and waits until Redis has it; true if it was still held (false
    /// if it was lost). A drop does the same in the background.
    ///
    /// ```no_run
    /// # async fn f(limit: inflight_redis::GlobalLimit) -> Result<(), inflight_redis::Error> {
    /// let permit = limit.acquire(None).await?;
    /// assert!(permit.release().await?);
    /// # Ok(()) }
    /// ```
    pub async fn release(mut self) -> Result<bool, Error> {
        self.released = true;
        self.family.release(&self.token, self.key.as_deref()).await
    }
}

impl Drop for LimitPermit {
    fn drop(&mut self) {
        if !self.released {
            self.family
                .release_later(std::mem::take(&mut self.token), self.key.take());
        }
    }
}

impl fmt::Debug for LimitPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LimitPermit")
            .field("limit", &self.family.name)
            .field("key", &self.key)
            .field("token", &self.token)
            .field("lost", &self.is_lost())
            .finish()
    }
}
