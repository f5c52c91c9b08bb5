//! [`Family`]: the client side of a concurrency limit (one key, or one per key): acquiring
//! with FIFO queueing and wake-ups, releasing, and what the renewer needs.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::Duration;

use tokio::sync::Notify;

use super::lanes::{self, AcquireReq, Answer, Batches, ReleaseReq};
use super::options::LimitOptions;
use super::permit::LimitPermit;
use super::{hub, renew};
use crate::connection::Redis;
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
    next_token: AtomicU64,
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
    /// Acquires and releases waiting for the next script (see `lanes`).
    pub(crate) batches: Batches,
    tasks: Once,
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
            batches: Batches::default(),
            tasks: Once::new(),
        })
    }

    /// Waits for a place under `key` (FIFO across every process), or with `wait` false only
    /// tries. The future may be dropped at any point: the token is then withdrawn.
    pub(crate) async fn acquire(
        self: &Arc<Self>,
        key: Option<&str>,
        wait: bool,
    ) -> Result<Option<LimitPermit>, Error> {
        self.start_tasks();
        let token = format!(
            "{}:{}",
            self.client,
            self.next_token.fetch_add(1, Ordering::Relaxed)
        );
        let mut guard = Withdraw {
            family: self.clone(),
            token: token.clone(),
            key: key.map(str::to_string),
            armed: true,
        };
        // The waiter is known to the hub before the script can queue it: a release may push
        // its wake-up token the moment the script returns, and a hub that popped it for an
        // unknown token would drop it, leaving the place idle until the next poll.
        let wake = wait.then(|| {
            let n = Arc::new(Notify::new());
            self.lock_waiters().insert(token.clone(), n.clone());
            n
        });
        let mut told_hub = false;
        loop {
            // With other acquires of this process under way, in one script with them.
            let (granted, epoch, now) = self.acquire_batched(key, &token, wait).await?;
            self.saw_epoch(&epoch);
            if granted {
                guard.armed = false;
                self.forget_waiter(&token);
                let grant = Grant {
                    token,
                    epoch,
                    at_ms: now,
                };
                return Ok(Some(LimitPermit::new(self.clone(), key, grant)));
            }
            let Some(wake) = &wake else {
                // Not queued by the script: nothing to withdraw.
                guard.armed = false;
                return Ok(None);
            };
            if !told_hub {
                told_hub = true;
                self.hub_wake.notify_one();
            }
            // A wake-up (kept by `Notify` if it came during the script), or the slow poll
            // that also keeps this waiter's place alive.
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(jitter(self.options.poll_time())) => {}
            }
        }
    }

    pub(crate) fn acquire_args(&self, token: &str, wait: bool) -> Vec<String> {
        let o = &self.options;
        vec![
            token.to_string(),
            ms(o.lease_time()),
            self.default_limit.to_string(),
            self.known_epoch(),
            random_id(),
            ms(o.lease_time()),
            self.keys.wake_prefix(),
            ms(o.alive()),
            ms(o.alive()),
            ms(o.idle()),
            if wait { "1" } else { "0" }.to_string(),
        ]
    }

    /// Gives back a place (or withdraws a waiter); true if a live place was given back. With
    /// other releases of this process under way, in one script with them.
    pub(crate) async fn release(
        self: &Arc<Self>,
        token: &str,
        key: Option<&str>,
    ) -> Result<bool, Error> {
        self.lock_held().remove(token);
        self.release_batched(key, token).await
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
                self.redis.emit(crate::RedisEvent::DataLost {
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

    fn forget_waiter(&self, token: &str) {
        self.lock_waiters().remove(token);
    }

    /// The renewer and the wake-up hub, started with the first acquire (inside a runtime).
    /// They hold the family weakly and end when it is dropped.
    fn start_tasks(self: &Arc<Self>) {
        self.tasks.call_once(|| {
            tokio::spawn(renew::run(Arc::downgrade(self)));
            tokio::spawn(hub::run(Arc::downgrade(self)));
        });
    }
}

/// Batching: the acquires and releases of this process go through `lanes`.
impl Family {
    /// One acquire of `token` under `key`, in the next batch.
    async fn acquire_batched(
        self: &Arc<Self>,
        key: Option<&str>,
        token: &str,
        wait: bool,
    ) -> Result<Answer, Error> {
        let (reply, answer) = tokio::sync::oneshot::channel();
        let req = AcquireReq {
            token: token.to_string(),
            wait,
            reply,
        };
        if self.batches.acquires.push(key, req) {
            tokio::spawn(self.clone().send_acquires(key.map(str::to_string)));
        }
        answer.await.unwrap_or_else(|_| Err(lanes::dropped()))
    }

    /// One release of `token` under `key`, in the next batch, after its acquire's reply.
    async fn release_batched(
        self: &Arc<Self>,
        key: Option<&str>,
        token: &str,
    ) -> Result<bool, Error> {
        self.batches.wait_sent(token).await;
        let (reply, answer) = tokio::sync::oneshot::channel();
        let req = ReleaseReq {
            token: token.to_string(),
            reply,
        };
        if self.batches.releases.push(key, req) {
            tokio::spawn(self.clone().send_releases(key.map(str::to_string)));
        }
        answer.await.unwrap_or_else(|_| Err(lanes::dropped()))
    }

    /// Sends the acquires of `key`, a batch per script, until none waits.
    async fn send_acquires(self: Arc<Self>, key: Option<String>) {
        while let Some(batch) = self.batches.acquires.next(&key) {
            self.batches.sending_now(&batch);
            let answers = self.acquire_script(key.as_deref(), &batch).await;
            self.batches.answered(&batch);
            match answers {
                Ok((granted, epoch, now)) => {
                    for (r, g) in batch.into_iter().zip(granted) {
                        let _ = r.reply.send(Ok((g, epoch.clone(), now)));
                    }
                }
                Err(e) => {
                    for r in batch {
                        let _ = r.reply.send(Err(e.clone()));
                    }
                }
            }
        }
    }

    async fn acquire_script(
        &self,
        key: Option<&str>,
        batch: &[AcquireReq],
    ) -> Result<(Vec<bool>, String, u64), Error> {
        let keys = self.keys.script_keys(key);
        if let [one] = batch {
            let args = self.acquire_args(&one.token, one.wait);
            let (granted, epoch, now, _ahead): (u8, String, u64, u64) =
                self.redis.script(&scripts::ACQUIRE, &keys, &args).await?;
            return Ok((vec![granted == 1], epoch, now));
        }
        let o = &self.options;
        let mut args = vec![
            ms(o.lease_time()),
            self.default_limit.to_string(),
            self.known_epoch(),
            random_id(),
            ms(o.lease_time()),
            self.keys.wake_prefix(),
            ms(o.alive()),
            ms(o.alive()),
            ms(o.idle()),
        ];
        for r in batch {
            args.push(r.token.clone());
            args.push(if r.wait { "1" } else { "0" }.to_string());
        }
        let (epoch, now, granted): (String, u64, Vec<u8>) = self
            .redis
            .script(&scripts::ACQUIRE_MANY, &keys, &args)
            .await?;
        Ok((granted.into_iter().map(|g| g == 1).collect(), epoch, now))
    }

    /// Sends the releases of `key`, a batch per script, until none waits.
    async fn send_releases(self: Arc<Self>, key: Option<String>) {
        while let Some(batch) = self.batches.releases.next(&key) {
            let keys = self.keys.script_keys(key.as_deref());
            let o = &self.options;
            let mut args = vec![
                self.default_limit.to_string(),
                self.keys.wake_prefix(),
                ms(o.alive()),
                ms(o.idle()),
            ];
            let answers: Result<Vec<u8>, Error> = if let [one] = batch.as_slice() {
                args.insert(0, one.token.clone());
                let released: Result<u8, Error> =
                    self.redis.script(&scripts::RELEASE, &keys, &args).await;
                released.map(|r| vec![r])
            } else {
                args.extend(batch.iter().map(|r| r.token.clone()));
                self.redis
                    .script(&scripts::RELEASE_MANY, &keys, &args)
                    .await
            };
            match answers {
                Ok(released) => {
                    for (r, one) in batch.into_iter().zip(released) {
                        let _ = r.reply.send(Ok(one == 1));
                    }
                }
                Err(e) => {
                    for r in batch {
                        let _ = r.reply.send(Err(e.clone()));
                    }
                }
            }
        }
    }
}

/// Withdraws a waiter whose acquire ended without a permit (dropped, or failed): it must not
/// keep a place in the queue, nor a place it was granted while the reply was lost.
struct Withdraw {
    family: Arc<Family>,
    token: String,
    key: Option<String>,
    armed: bool,
}

impl Drop for Withdraw {
    fn drop(&mut self) {
        if self.armed {
            // Not sent yet: it never reaches Redis. (Still released below: an earlier
            // round may have queued it.)
            let token = &self.token;
            let family = &self.family;
            family
                .batches
                .acquires
                .withdraw(self.key.as_deref(), |r| r.token == *token);
            self.family
                .release_later(std::mem::take(&mut self.token), self.key.take());
        }
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
