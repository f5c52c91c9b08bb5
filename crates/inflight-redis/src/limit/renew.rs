//! The lease renewer: every third of a lease, extends the leases of the permits this process
//! holds, one script call per key; re-registers them after Redis lost its data; marks lost
//! the ones whose lease ran out meanwhile.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

use super::family::{ms, Family, Held};
use crate::connection::{Attempt, RedisEvent};
use crate::keys::random_id;
use crate::scripts;

/// Tokens per script call, so that a huge holder does not send one huge command.
const CHUNK: usize = 256;

pub(crate) async fn run(weak: Weak<Family>) {
    loop {
        let every = match weak.upgrade() {
            Some(f) => f.options.renew_every(),
            None => return,
        };
        tokio::time::sleep(every).await;
        // After a failure (an outage), try again soon rather than a third of a lease later:
        // a restarted Redis has the permits back within a moment of answering again.
        loop {
            let Some(family) = weak.upgrade() else { return };
            if renew_all(&family).await {
                break;
            }
            drop(family);
            tokio::time::sleep(every.min(Duration::from_millis(200))).await;
        }
    }
}

/// Renews every held permit; false if some call did not get through.
pub(crate) async fn renew_all(family: &Arc<Family>) -> bool {
    let Ok(generation) = family.after_failover().await else {
        return false;
    };
    let snapshot: Vec<(String, Held)> = family
        .lock_held()
        .iter()
        .map(|(t, h)| (t.clone(), h.clone()))
        .collect();
    let mut by_key: HashMap<Option<String>, Vec<(String, Held)>> = HashMap::new();
    for (token, held) in snapshot {
        by_key
            .entry(held.key.clone())
            .or_default()
            .push((token, held));
    }
    let mut all_through = true;
    for (key, permits) in by_key {
        for chunk in permits.chunks(CHUNK) {
            all_through &= renew_chunk(family, generation, key.as_deref(), chunk).await;
        }
    }
    all_through
}

async fn renew_chunk(
    family: &Arc<Family>,
    generation: u64,
    key: Option<&str>,
    permits: &[(String, Held)],
) -> bool {
    let o = &family.options;
    let mut args = vec![
        family.known_epoch(),
        random_id(),
        ms(o.lease_time()),
        ms(o.lease_time()),
        ms(o.idle()),
        family.default_limit.to_string(),
    ];
    for (token, held) in permits {
        args.push(token.clone());
        args.push(held.epoch.clone());
    }
    let keys = family.keys.script_keys(key);
    let answer: Result<(String, Vec<String>), Attempt> = family
        .redis
        .script_once_at(Some(generation), &scripts::RENEW, &keys, &args)
        .await;
    let Ok((epoch, lost)) = answer else {
        return false;
    };
    family.saw_epoch(&epoch);
    let mut gone = Vec::new();
    {
        let mut held = family.lock_held();
        for (token, _) in permits {
            if lost.contains(token) {
                if let Some(h) = held.remove(token) {
                    h.lost.store(true, Ordering::Release);
                    gone.push(token);
                }
            } else if let Some(h) = held.get_mut(token) {
                h.epoch = epoch.clone();
            }
        }
    }
    for _ in gone {
        family.redis.emit(RedisEvent::PermitLost {
            limit: match key {
                Some(k) => format!("{}/{k}", family.name),
                None => family.name.clone(),
            },
        });
    }
    true
}
