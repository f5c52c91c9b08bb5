//! [`QueueStatus`]: a queue's counters, read in one script.

use std::collections::HashMap;
use std::time::Duration;

use super::inner::QueueInner;
use crate::error::Error;
use crate::keys::{GIVEN_BACK, GROUP};
use crate::scripts;

/// A queue's counters at one moment (from [`Queue::status`](crate::Queue::status)). Rate and
/// ETA come from two of these taken apart.
///
/// ```
/// let s = inflight_redis::QueueStatus::default();
/// assert_eq!(s.pushed, s.waiting + s.in_flight + s.done + s.failed + s.dead);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueueStatus {
    /// Inputs pushed so far.
    pub pushed: u64,
    /// Inputs not yet taken by any worker (given back ones included).
    pub waiting: u64,
    /// Inputs taken and not finished (including a dead worker's, until claimed; not those a
    /// stopping worker gave back).
    pub in_flight: u64,
    /// Inputs finished with success.
    pub done: u64,
    /// Inputs finished with failure.
    pub failed: u64,
    /// Inputs given up after `max_deliveries` deliveries.
    pub dead: u64,
    /// Whether the queue is closed (no more inputs will come).
    pub closed: bool,
    /// The workers seen lately, with what they hold and their last heartbeat: a worker that
    /// stopped cleanly leaves at once, one gone without a word (killed) is listed, not live,
    /// until [`FORGET_AFTER`] of its leases pass without a heartbeat (and it holds nothing).
    pub workers: Vec<WorkerStatus>,
}

/// One worker in a [`QueueStatus`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerStatus {
    /// Its name.
    pub name: String,
    /// Inputs it holds.
    pub in_flight: u64,
    /// Time since its last heartbeat (a take, an ack or a renewal), on Redis's clock.
    pub last_seen: Option<Duration>,
    /// Whether its last heartbeat came within its lease: a worker that is not live has died
    /// or stalled, and its inputs go to others.
    pub live: bool,
}

/// How many of its leases a worker that stopped without a word stays in the status (then it is
/// forgotten, unless it still holds inputs).
///
/// ```
/// assert_eq!(inflight_redis::FORGET_AFTER, 10);
/// ```
pub const FORGET_AFTER: u32 = 10;

impl QueueStatus {
    /// Whether the queue is closed and every input pushed has its result or died.
    ///
    /// ```
    /// let s = inflight_redis::QueueStatus { pushed: 2, done: 1, dead: 1, closed: true, ..Default::default() };
    /// assert!(s.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.closed && self.done + self.failed + self.dead >= self.pushed
    }

    pub(crate) async fn read(queue: &QueueInner) -> Result<QueueStatus, Error> {
        let keys = vec![
            queue.keys.inputs.clone(),
            queue.keys.meta.clone(),
            queue.keys.workers.clone(),
            queue.keys.owners.clone(),
            queue.keys.deleted.clone(),
        ];
        let args = [
            GROUP.to_string(),
            queue.known_id(),
            queue.options.lease.as_millis().to_string(),
            FORGET_AFTER.to_string(),
        ];
        type Raw = (
            u64,
            HashMap<String, String>,
            u64,
            u64,
            Vec<(String, String)>,
            Vec<(String, u64, u64)>,
        );
        let (now, meta, entries, pending, consumers, heartbeats): Raw =
            queue.script(&scripts::STATUS, &keys, &args).await?;
        if let Some(id) = meta.get("id") {
            queue.saw_id(id);
        }
        let count = |k: &str| meta.get(k).and_then(|v| v.parse().ok()).unwrap_or(0u64);
        let mut holding: HashMap<String, u64> = consumers
            .into_iter()
            .map(|(name, n)| (name, n.parse().unwrap_or(0)))
            .collect();
        // Given back: pending under no worker, waiting for the next take.
        let given_back = holding.remove(GIVEN_BACK).unwrap_or(0);
        let beats: HashMap<&String, (u64, u64)> = heartbeats
            .iter()
            .map(|(name, at, lease)| (name, (*at, *lease)))
            .collect();
        let mut names: Vec<&String> = beats.keys().copied().chain(holding.keys()).collect();
        names.sort();
        names.dedup();
        let workers = names
            .into_iter()
            .map(|name| {
                let seen = beats
                    .get(name)
                    .map(|(at, lease)| (now.saturating_sub(*at), *lease));
                WorkerStatus {
                    name: name.clone(),
                    in_flight: holding.get(name).copied().unwrap_or(0),
                    last_seen: seen.map(|(ago, _)| Duration::from_millis(ago)),
                    live: seen.is_some_and(|(ago, lease)| ago <= lease),
                }
            })
            .collect();
        let in_flight = pending.saturating_sub(given_back);
        Ok(QueueStatus {
            pushed: count("pushed"),
            waiting: entries.saturating_sub(in_flight),
            in_flight,
            done: count("done"),
            failed: count("failed"),
            dead: count("dead"),
            closed: count("closed") == 1,
            workers,
        })
    }
}
