//! A queue's identity: the random id its first push made (see `lua/queue_common.lua`). Every
//! script call of a handle sends the id the handle knows, and the scripts refuse, before any
//! write, when it is gone: this module turns their refusals into [`Error`]s and says the first
//! one as a [`RedisEvent`], so that a worker stops taking inputs when its queue is deleted or
//! lost, and never makes its keys again.

use std::sync::atomic::Ordering;
use std::time::Duration;

use redis::{FromRedisValue, Script};

use super::inner::QueueInner;
use crate::connection::{Attempt, RedisEvent};
use crate::error::Error;

impl QueueInner {
    /// The id this handle knows ('' before its first step on an existing queue).
    pub(crate) fn known_id(&self) -> String {
        self.known.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Learns the id a script answered with.
    pub(crate) fn saw_id(&self, id: &str) {
        if !id.is_empty() {
            *self.known.lock().unwrap_or_else(|e| e.into_inner()) = id.to_string();
        }
    }

    /// Runs a queue script, waiting out outages; a refusal becomes its typed error.
    pub(crate) async fn script<T: FromRedisValue>(
        &self,
        script: &Script,
        keys: &[String],
        args: &[String],
    ) -> Result<T, Error> {
        self.redis
            .script(script, keys, args)
            .await
            .map_err(|e| self.typed(e))
    }

    /// Runs a queue script once (see `Redis::script_once`).
    pub(crate) async fn script_once<T: FromRedisValue>(
        &self,
        script: &Script,
        keys: &[String],
        args: &[String],
    ) -> Result<T, Attempt> {
        self.redis
            .script_once(script, keys, args)
            .await
            .map_err(|a| match a {
                Attempt::Failed(e) => Attempt::Failed(self.typed(e)),
                away => away,
            })
    }

    /// A script's refusal as its own error; the first deletion or loss is said once.
    pub(crate) fn typed(&self, e: Error) -> Error {
        let Error::Redis { reason, .. } = &e else {
            return e;
        };
        let queue = self.name.clone();
        let after = |marker: &str| reason.find(marker).map(|at| &reason[at + marker.len()..]);
        if after("INFLIGHT-MISSING").is_some() {
            return Error::NoQueue { queue };
        }
        if after("INFLIGHT-CLOSED").is_some() {
            return Error::QueueClosed { queue };
        }
        if let Some(rest) = after("INFLIGHT-NAME") {
            let mut numbers = rest
                .split_whitespace()
                .filter_map(|n| n.parse::<u64>().ok());
            let (seen, lease) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
            return Error::WorkerNameTaken {
                queue,
                worker: String::new(),
                last_seen: Duration::from_millis(seen),
                lease: Duration::from_millis(lease),
            };
        }
        let (error, event) = if after("INFLIGHT-DELETED").is_some() {
            (
                Error::QueueDeleted {
                    queue: queue.clone(),
                },
                RedisEvent::QueueDeleted { queue },
            )
        } else if after("INFLIGHT-LOST").is_some() {
            (
                Error::QueueLost {
                    queue: queue.clone(),
                },
                RedisEvent::QueueLost { queue },
            )
        } else {
            return e;
        };
        if !self.gone_said.swap(true, Ordering::AcqRel) {
            self.redis.emit(event);
        }
        error
    }
}

/// Whether an error says the queue is gone (deleted or lost): nothing more can be done with it.
pub(crate) fn is_gone(e: &Error) -> bool {
    matches!(e, Error::QueueDeleted { .. } | Error::QueueLost { .. })
}

/// Checks that the queue exists (and learns its id).
pub(crate) async fn exists(queue: &QueueInner) -> Result<(), Error> {
    let keys = [queue.keys.meta.clone(), queue.keys.deleted.clone()];
    let id: String = queue
        .script(&crate::scripts::EXISTS, &keys, &[queue.known_id()])
        .await?;
    queue.saw_id(&id);
    Ok(())
}
