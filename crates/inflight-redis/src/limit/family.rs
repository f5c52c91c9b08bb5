//! [`Family`]: the client side of a concurrency limit (one key, or one per key), the state
//! that every other file of `limit/` builds on: releasing, the live limit, the epoch, and the
//! permits held and waiters known, which the renewer (`renew`) and the wake-up hub (`hub`)
//! read. Acquiring, which starts those two, is `acquire`'s; this file imports none of them.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use tokio::sync::Notify;

use super::options::LimitOptions;
use crate::connection::{Redis, RedisEvent};
use crate::error::Error;
use crate::keys::{random_id, FamilyKeys};
use crate::scripts;

/// One limit family, shared by its handle, its permits and its background tasks.
pub(crate) struct Family {
    pub(crate) redis: Redis,
    /// "NAME" or "NAME/KEY" in events.
    pub(crate) name: String,
    pub(crate) keys: FamilyKeys,
    /// This process's id in tokens and in its wake list's name.
    pub(crate) client: String,
    /// Numbers this process's tokens.
    pub(super) next_token: AtomicU64,
    pub(crate) options: LimitOptions,
    /// The limit used while none is stored in Redis.
    pub(crate) default_limit: u64,
    /// The epoch this process last saw: a missing one then means Redis lost its data.
    known_epoch: Mutex<String>,
    /// Permits this process holds, by token: what the renewer renews.
    pub(crate) held: Mutex<HashMap<String, Held>>,
    /// Waiters of this process, by token: what the hub wakes.
    pub(crate) waiters: Mutex<HashMap<String, Arc<Notify>>>,
    /// Tells the hub that there are waiters to listen for.
    pub(crate) hub_wake: Notify,
    /// The renewer and the hub, started once (see `acquire`).
    pub(super) tasks: Once,
}

/// A permit as the renewer sees it.
#[derive(Debug, Clone)]
pub(crate) struct Held {
    pub(crate) key: Option<String>,
    pub(crate) epoch: String,
    pub(crate) lost: Arc<AtomicBool>,
}

/// A grant, before it becomes a permit.
pub(crate) struct Grant {
    pub(crate) token: String,
    pub(crate) epoch: String,
    pub(crate) at_ms: u64,
}

impl Family {
    pub(crate) fn new(
        redis: Redis,
        name: String,
        keys: FamilyKeys,
        default_limit: u64,
        options: LimitOptions,
    ) -> Arc<Family> {
        Arc::new(Family {
            redis,
            name,
            keys,
            client: random_id(),
            next_token: AtomicU64::new(0),
            options,
            default_limit,
            known_epoch: Mutex::new(String::new()),
            held: Mutex::new(HashMap::new()),
            waiters: Mutex::new(HashMap::new()),
            hub_wake: Notify::new(),
            tasks: Once::new(),
        })
    }

    /// Gives back a place (or withdraws a waiter); true if a live place was given back.
    pub(crate) async fn release(&self, token: &str, key: Option<&str>) -> Result<bool, Error> {
        self.lock_held().remove(token);
        let o = &self.options;
        let args = vec![
            token.to_string(),
            self.default_limit.to_string(),
            self.keys.wake_prefix(),
            ms(o.alive()),
            ms(o.idle()),
        ];
        let released: u8 = self
            .redis
            .script(&scripts::RELEASE, &self.keys.script_keys(key), &args)
            .await?;
        Ok(released == 1)
    }

    /// Releases in the background (from a `Drop`, which cannot wait). Given up after one
    /// lease of outage, since the lease has freed the place by then anyway.
    pub(crate) fn release_later(self: &Arc<Self>, token: String, key: Option<String>) {
        self.lock_held().remove(&token);
        self.forget_waiter(&token);
        let family = self.clone();
        let lease = self.options.lease_time();
        self.redis.spawn_background(async move {
            let _ = tokio::time::timeout(lease, family.release(&token, key.as_deref())).await;
        });
    }

    /// Registers a granted permit with the renewer.
    pub(crate) fn hold(&self, token: &str, held: Held) {
        self.lock_held().insert(token.to_string(), held);
    }

    /// Sets (or with `None` clears) the live limit stored in Redis, and wakes the waiters a
    /// raise lets in. For a per-key family, waiters notice on their next poll.
    pub(crate) async fn set_limit(&self, limit: Option<u64>) -> Result<(), Error> {
        let args = vec![
            limit.map(|l| l.to_string()).unwrap_or_default(),
            self.default_limit.to_string(),
            self.keys.wake_prefix(),
            ms(self.options.alive()),
        ];
        let _: i64 = self
            .redis
            .script(&scripts::SET_LIMIT, &self.keys.script_keys(None), &args)
            .await?;
        Ok(())
    }

    /// The live limit stored in Redis, if one is (`None`: each process uses its own).
    pub(crate) async fn stored_limit(&self) -> Result<Option<u64>, Error> {
        let mut cmd = redis::cmd("GET");
        cmd.arg(&self.keys.script_keys(None)[4]);
        self.redis.cmd(&cmd).await
    }

    /// `(limit, holders, waiters, in grace)` of a key, from Redis.
    pub(crate) async fn state(&self, key: Option<&str>) -> Result<(u64, u64, u64, bool), Error> {
        let (limit, held, waiting, grace): (u64, u64, u64, u8) = self
            .redis
            .script(
                &scripts::STATE,
                &self.keys.script_keys(key),
                &[self.default_limit.to_string()],
            )
            .await?;
        Ok((limit, held, waiting, grace == 1))
    }

    pub(crate) fn known_epoch(&self) -> String {
        self.known_epoch
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub(crate) fn saw_epoch(&self, epoch: &str) {
        let mut known = self.known_epoch.lock().unwrap_or_else(|e| e.into_inner());
        if *known != epoch {
            let lost = !known.is_empty();
            *known = epoch.to_string();
            drop(known);
            if lost {
                self.redis.emit(RedisEvent::DataLost {
                    limit: self.name.clone(),
                    grace: self.options.lease_time(),
                });
            }
        }
    }

    pub(crate) fn lock_held(&self) -> std::sync::MutexGuard<'_, HashMap<String, Held>> {
        self.held.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn lock_waiters(&self) -> std::sync::MutexGuard<'_, HashMap<String, Arc<Notify>>> {
        self.waiters.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn forget_waiter(&self, token: &str) {
        self.lock_waiters().remove(token);
    }
}

pub(crate) fn ms(d: Duration) -> String {
    d.as_millis().to_string()
}

/// `d` give or take a fifth, so that many waiters' polls do not fall in step.
pub(crate) fn jitter(d: Duration) -> Duration {
    let mut b = [0u8; 1];
    let _ = getrandom::fill(&mut b);
    let factor = 0.8 + 0.4 * (b[0] as f64 / 255.0);
    d.mul_f64(factor)
}
