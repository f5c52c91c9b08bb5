//! Acquires and releases of one process, sent in batches: while a script of a key is under
//! way, the acquires (and, apart, the releases) that come meanwhile wait, and go together in
//! the next script. One job alone goes at once, in the one-token script; jobs that come
//! together (a process with several waiting, or many finishing) share a round trip and a
//! script's fixed cost. Each token is handled by the script exactly as on its own, in the
//! order they came, so the limit and the queue's order hold as for single calls.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::{oneshot, Notify};

use super::family::{ms, Family};
use crate::error::Error;
use crate::keys::random_id;
use crate::scripts;

/// Tokens per script, so that a huge batch does not make one huge command.
const MAX: usize = 256;

/// A grant's answer: granted, the epoch, Redis's clock (ms).
pub(crate) type Answer = (bool, String, u64);

struct AcquireReq {
    token: String,
    wait: bool,
    reply: oneshot::Sender<Result<Answer, Error>>,
}

struct ReleaseReq {
    token: String,
    reply: oneshot::Sender<Result<bool, Error>>,
}

/// The requests of one key waiting for the next script, and whether a script runs.
struct Lane<T> {
    waiting: Vec<T>,
    running: bool,
}

impl<T> Default for Lane<T> {
    fn default() -> Self {
        Lane {
            waiting: Vec::new(),
            running: false,
        }
    }
}

/// The batches of one family.
#[derive(Default)]
pub(crate) struct Batches {
    acquires: Mutex<HashMap<Option<String>, Lane<AcquireReq>>>,
    releases: Mutex<HashMap<Option<String>, Lane<ReleaseReq>>>,
    /// Tokens whose acquire script is under way: a release of one waits for its reply, so
    /// that it reaches Redis after the grant it may undo.
    sending: Mutex<HashSet<String>>,
    sent: Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One acquire of `token` under `key`, in the next batch.
pub(crate) async fn acquire(
    family: &Arc<Family>,
    key: Option<&str>,
    token: &str,
    wait: bool,
) -> Result<Answer, Error> {
    let (reply, answer) = oneshot::channel();
    let req = AcquireReq {
        token: token.to_string(),
        wait,
        reply,
    };
    let start = {
        let mut lanes = lock(&family.batches.acquires);
        let lane = lanes.entry(key.map(str::to_string)).or_default();
        lane.waiting.push(req);
        !std::mem::replace(&mut lane.running, true)
    };
    if start {
        tokio::spawn(drive_acquires(family.clone(), key.map(str::to_string)));
    }
    answer.await.unwrap_or_else(|_| Err(dropped()))
}

/// One release of `token` under `key`, in the next batch; true if a live place was given back.
pub(crate) async fn release(family: &Arc<Family>, key: Option<&str>, token: &str) -> Result<bool, Error> {
    sent(family, token).await;
    let (reply, answer) = oneshot::channel();
    let req = ReleaseReq {
        token: token.to_string(),
        reply,
    };
    let start = {
        let mut lanes = lock(&family.batches.releases);
        let lane = lanes.entry(key.map(str::to_string)).or_default();
        lane.waiting.push(req);
        !std::mem::replace(&mut lane.running, true)
    };
    if start {
        tokio::spawn(drive_releases(family.clone(), key.map(str::to_string)));
    }
    answer.await.unwrap_or_else(|_| Err(dropped()))
}

/// Takes back an acquire that has not been sent yet (its caller gave up); true if it was
/// still waiting.
pub(crate) fn withdraw_unsent(family: &Family, key: Option<&str>, token: &str) -> bool {
    let mut lanes = lock(&family.batches.acquires);
    let Some(lane) = lanes.get_mut(&key.map(str::to_string)) else {
        return false;
    };
    let before = lane.waiting.len();
    lane.waiting.retain(|r| r.token != token);
    lane.waiting.len() != before
}

/// Waits until no acquire script of `token` is under way.
async fn sent(family: &Family, token: &str) {
    loop {
        let notified = family.batches.sent.notified();
        if !lock(&family.batches.sending).contains(token) {
            return;
        }
        notified.await;
    }
}

fn dropped() -> Error {
    Error::Invalid("a shared limit's batch was dropped (the runtime is shutting down)".into())
}

/// Takes the next batch of a lane, or marks it idle and returns `None`.
fn next_batch<T>(lanes: &Mutex<HashMap<Option<String>, Lane<T>>>, key: &Option<String>) -> Option<Vec<T>> {
    let mut lanes = lock(lanes);
    let lane = lanes.get_mut(key)?;
    if lane.waiting.is_empty() {
        lanes.remove(key);
        return None;
    }
    let n = lane.waiting.len().min(MAX);
    Some(lane.waiting.drain(..n).collect())
}

async fn drive_acquires(family: Arc<Family>, key: Option<String>) {
    while let Some(batch) = next_batch(&family.batches.acquires, &key) {
        lock(&family.batches.sending).extend(batch.iter().map(|r| r.token.clone()));
        let answers = acquire_script(&family, key.as_deref(), &batch).await;
        {
            let mut sending = lock(&family.batches.sending);
            for r in &batch {
                sending.remove(&r.token);
            }
        }
        family.batches.sent.notify_waiters();
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
    family: &Family,
    key: Option<&str>,
    batch: &[AcquireReq],
) -> Result<(Vec<bool>, String, u64), Error> {
    let keys = family.keys.script_keys(key);
    if let [one] = batch {
        let args = family.acquire_args(&one.token, one.wait);
        let (granted, epoch, now, _ahead): (u8, String, u64, u64) =
            family.redis.script(&scripts::ACQUIRE, &keys, &args).await?;
        return Ok((vec![granted == 1], epoch, now));
    }
    let o = &family.options;
    let mut args = vec![
        ms(o.lease_time()),
        family.default_limit.to_string(),
        family.known_epoch(),
        random_id(),
        ms(o.lease_time()),
        family.keys.wake_prefix(),
        ms(o.alive()),
        ms(o.alive()),
        ms(o.idle()),
    ];
    for r in batch {
        args.push(r.token.clone());
        args.push(if r.wait { "1" } else { "0" }.to_string());
    }
    let (epoch, now, granted): (String, u64, Vec<u8>) =
        family.redis.script(&scripts::ACQUIRE_MANY, &keys, &args).await?;
    Ok((granted.into_iter().map(|g| g == 1).collect(), epoch, now))
}

async fn drive_releases(family: Arc<Family>, key: Option<String>) {
    while let Some(batch) = next_batch(&family.batches.releases, &key) {
        let keys = family.keys.script_keys(key.as_deref());
        let o = &family.options;
        let mut args = vec![
            family.default_limit.to_string(),
            family.keys.wake_prefix(),
            ms(o.alive()),
            ms(o.idle()),
        ];
        let answers: Result<Vec<u8>, Error> = if let [one] = batch.as_slice() {
            args.insert(0, one.token.clone());
            let released: Result<u8, Error> =
                family.redis.script(&scripts::RELEASE, &keys, &args).await;
            released.map(|r| vec![r])
        } else {
            args.extend(batch.iter().map(|r| r.token.clone()));
            family.redis.script(&scripts::RELEASE_MANY, &keys, &args).await
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
