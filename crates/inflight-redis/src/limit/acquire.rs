//! Acquiring a place under a limit: FIFO queueing across every process, wake-ups from the hub
//! (`hub`) and a slow poll, a waiter withdrawn if its acquire is dropped, and the renewer
//! (`renew`) and the hub started with the first acquire. Builds on [`Family`]'s state; the
//! handles (`global`, `per_key`) call [`acquire`].
use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::sync::Notify;

use super::family::{jitter, ms, Family, Grant};
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
    let keys = family.keys.script_keys(key);
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
        let args = acquire_args(family, &token, wait);
        let (granted, epoch, now, _ahead): (u8, String, u64, u64) =
            family.redis.script(&scripts::ACQUIRE, &keys, &args).await?;
        family.saw_epoch(&epoch);
        if granted == 1 {
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
    ]
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
            self.family
                .release_later(std::mem::take(&mut self.token), self.key.take());
        }
    }
}
