//! The wake-up hub: one blocking connection per process and limit family, popping the tokens
//! that releases push to this client's wake list, and waking the local waiter of each. So a
//! waiter learns of a free place within a round trip, and no waiter polls Redis in a loop.

use std::sync::Weak;

use crate::link::Blocking;

use super::family::Family;
use crate::connection::Attempt;

/// Wake-up tokens taken at once after the first.
const DRAIN: usize = 256;

pub(crate) async fn run(weak: Weak<Family>) {
    let mut conn: Option<Blocking> = None;
    loop {
        let Some(family) = weak.upgrade() else { return };
        let poll = family.options.poll_time();
        if family.lock_waiters().is_empty() {
            // Nothing to listen for: sleep until a waiter shows up (or a poll passes, so a
            // dropped family ends this task).
            let _ = tokio::time::timeout(poll, family.hub_wake.notified()).await;
            continue;
        }
        let list = format!("{}{}", family.keys.wake_prefix(), family.client);
        let redis = family.redis.clone();
        drop(family);
        let c = match &mut conn {
            Some(c) => c,
            None => match redis.blocking_connection(poll) {
                Ok(c) => conn.insert(c),
                Err(_) => {
                    tokio::time::sleep(poll).await;
                    continue;
                }
            },
        };
        let mut cmd = redis::cmd("BLPOP");
        cmd.arg(&list).arg(poll.as_secs_f64());
        let popped: Result<Option<(String, String)>, Attempt> = redis.blocking_cmd(c, &cmd).await;
        match popped {
            Ok(Some((_, token))) => {
                // A release that opened several places pushed several tokens: take the rest
                // at once, so that their waiters ask together (one acquire script for them
                // all) instead of one BLPOP and one script each.
                let mut lpop = redis::cmd("LPOP");
                lpop.arg(&list).arg(DRAIN);
                let more: Result<Option<Vec<String>>, Attempt> = redis.blocking_cmd(c, &lpop).await;
                if let Some(family) = weak.upgrade() {
                    let waiters = family.lock_waiters();
                    let tokens =
                        std::iter::once(token).chain(more.ok().flatten().unwrap_or_default());
                    for token in tokens {
                        if let Some(waiter) = waiters.get(&token) {
                            waiter.notify_one();
                        }
                    }
                }
            }
            Ok(None) => {}
            // Away or failing: the waiters' own polls carry on meanwhile.
            Err(_) => tokio::time::sleep(poll).await,
        }
    }
}
