//! [`QueueStatus`]: a queue's counters, read in one script.

use std::collections::HashMap;
use std::time::Duration;

use super::inner::QueueInner;
use crate::error::Error;
use crate::keys::GROUP;
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
    /// Inputs not yet taken by any worker.
    pub waiting: u64,
    /// Inputs taken and not finished (including a dead worker's, until claimed).
    pub in_flight: u64,
    /// Inputs finished with success.
    pub done: u64,
    /// Inputs finished with failure.
    pub failed: u64,
    /// Inputs given up after `max_deliveries` deliveries.
    pub dead: u64,
    /// Whether the queue is closed (no more inputs will come).
    pub closed: bool,
    /// Every worker seen, with what it holds and its last heartbeat.
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
}

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
        ];
        type Raw = (
            u64,
            HashMap<String, String>,
            u64,
            u64,
            Vec<(String, String)>,
            HashMap<String, u64>,
        );
        let (now, meta, entries, pending, consumers, heartbeats): Raw = queue
            .redis
            .script(&scripts::STATUS, &keys, &[GROUP.to_string()])
            .await?;
        let count = |k: &str| meta.get(k).and_then(|v| v.parse().ok()).unwrap_or(0u64);
        let holding: HashMap<String, u64> = consumers
            .into_iter()
            .map(|(name, n)| (name, n.parse().unwrap_or(0)))
            .collect();
        let mut names: Vec<&String> = heartbeats.keys().chain(holding.keys()).collect();
        names.sort();
        names.dedup();
        let workers = names
            .into_iter()
            .map(|name| WorkerStatus {
                name: name.clone(),
                in_flight: holding.get(name).copied().unwrap_or(0),
                last_seen: heartbeats
                    .get(name)
                    .map(|at| Duration::from_millis(now.saturating_sub(*at))),
            })
            .collect();
        Ok(QueueStatus {
            pushed: count("pushed"),
            waiting: entries.saturating_sub(pending),
            in_flight: pending,
            done: count("done"),
            failed: count("failed"),
            dead: count("dead"),
            closed: count("closed") == 1,
            workers,
        })
    }
}
