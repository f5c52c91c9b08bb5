//! Acquiring a place under a limit: FIFO queueing across every process, wake-ups from the hub
//! (`hub`) and a slow poll, a waiter withdrawn if its acquire is dropped, and the renewer
//! (`renew`) and the hub started with the first acquire. Builds on [`Family`]'s state; the
//! handles (`global`, `per_key`) call [`acquire`].
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::Notify;

use super::family::{jitter, ms, Family, Grant};
use super::lanes::{self, AcquireReq, Answer};
use super::permit::LimitPermit;
use super::{hub, renew};
use crate::error::Error;
use crate::keys::random_id;
use crate::scripts;

/// Waits for a place under `key` (FIFO across every process), or with `wait` false only
/// tries. The future may be dropped at any point: the token is then withdrawn.
pub(crate) async fn acquire(
    family: &Arc<Family>,
    key: Option<&str>,
    wait: bool,
) -> Result<Option<LimitPermit>, Error> {
    start_tasks(family);
    let token = format!(
        "{}:{}",
        family.client,
        family.next_token.fetch_add(1, Ordering::Relaxed)
    );
    let mut guard = Withdraw {
        family: family.clone(),
        token: token.clone(),
        key: key.map(str::to_string),
        armed: true,
    };
    // The waiter is known to the hub before the script can queue it: a release may push
    // its wake-up token the moment the script returns, and a hub that popped it for an
    // unknown token would drop it, leaving the place idle until the next poll.
    let wake = wait.then(|| {
        let n = Arc::new(Notify::new());
        family.lock_waiters().insert(token.clone(), n.clone());
        n
    });
    let mut told_hub = false;
    loop {
        // With other acquires of this process under way, in one script with them.
        let (granted, epoch, now) = acquire_batched(family, key, &token, wait).await?;
        family.saw_epoch(&epoch);
        if granted {
            guard.armed = false;
            family.forget_waiter(&token);
            let grant = Grant {
                token,
                epoch,
                at_ms: now,
            };
            return Ok(Some(LimitPermit::new(family.clone(), key, grant)));
        }
        let Some(wake) = &wake else {
            // Not queued by the script: nothing to withdraw.
            guard.armed = false;
            return Ok(None);
        };
        if !told_hub {
            told_hub = true;
            family.hub_wake.notify_one();
        }
        // A wake-up (kept by `Notify` if it came during the script), or the slow poll
        // that also keeps this waiter's place alive.
        tokio::select! {
            _ = wake.notified() => {}
            _ = tokio::time::sleep(jitter(family.options.poll_time())) => {}
        }
    }
}

fn acquire_args(family: &Family, token: &str, wait: bool) -> Vec<String> {
    let o = &family.options;
    vec![
        token.to_string(),
        ms(o.lease_time()),
        family.default_limit.to_string(),
        family.known_epoch(),
        random_id(),
        ms(o.lease_time()),
        family.keys.wake_prefix(),
        ms(o.alive()),
        ms(o.alive()),
        ms(o.idle()),
        if wait { "1" } else { "0" }.to_string(),
        // The first acquire of this process says the limit it was made with (ARGV 12).
        declared_limit(family),
    ]
}

/// The limit this process was made with, on its first acquire (single or batched) only, for
/// the dashboard to show while no limit is stored; else ''.
fn declared_limit(family: &Family) -> String {
    if family.declared.swap(true, Ordering::Relaxed) {
        String::new()
    } else {
        family.default_limit.to_string()
    }
}

/// One acquire of `token` under `key`, in the next batch (see `lanes`).
async fn acquire_batched(
    family: &Arc<Family>,
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
    if family.batches.acquires.push(key, req) {
        tokio::spawn(send_acquires(family.clone(), key.map(str::to_string)));
    }
    answer.await.unwrap_or_else(|_| Err(lanes::dropped()))
}

/// Sends the acquires of `key`, a batch per script, until none waits.
async fn send_acquires(family: Arc<Family>, key: Option<String>) {
    while let Some(batch) = family.batches.acquires.next(&key) {
        family.batches.sending_now(&batch);
        // A failover between acting on it and sending: act on the new one, then send again.
        let answers = loop {
            match acquire_script(&family, key.as_deref(), &batch).await {
                Ok(Some(answers)) => break Ok(answers),
                Ok(None) => continue,
                Err(e) => break Err(e),
            }
        };
        family.batches.answered(&batch);
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

/// One script for a batch: the one-token script for one, else `sem_acquire_many`. `None`: the
/// connection followed another failover before the script went out (not sent).
async fn acquire_script(
    family: &Family,
    key: Option<&str>,
    batch: &[AcquireReq],
) -> Result<Option<(Vec<bool>, String, u64)>, Error> {
    let keys = family.keys.script_keys(key);
    // Not sent to a new master before acting on the failover: its grace comes first.
    let generation = family.after_failover().await?;
    if let [one] = batch {
        let args = acquire_args(family, &one.token, one.wait);
        let answer: Option<(u8, String, u64, u64)> = family
            .redis
            .script_at(generation, &scripts::ACQUIRE, &keys, &args)
            .await?;
        return Ok(answer.map(|(granted, epoch, now, _ahead)| (vec![granted == 1], epoch, now)));
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
        declared_limit(family),
    ];
    for r in batch {
        args.push(r.token.clone());
        args.push(if r.wait { "1" } else { "0" }.to_string());
    }
    let answer: Option<(String, u64, Vec<u8>)> = family
        .redis
        .script_at(generation, &scripts::ACQUIRE_MANY, &keys, &args)
        .await?;
    Ok(answer
        .map(|(epoch, now, granted)| (granted.into_iter().map(|g| g == 1).collect(), epoch, now)))
}

/// The renewer and the wake-up hub, started with the first acquire (inside a runtime).
/// They hold the family weakly and end when it is dropped.
fn start_tasks(family: &Arc<Family>) {
    family.tasks.call_once(|| {
        tokio::spawn(renew::run(Arc::downgrade(family)));
        tokio::spawn(hub::run(Arc::downgrade(family)));
    });
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
            self.family
                .batches
                .acquires
                .withdraw(self.key.as_deref(), |r| r.token == *token);
            self.family
                .release_later(std::mem::take(&mut self.token), self.key.take());
        }
    }
}
