//! [`QueueOverview`]: what a dashboard shows of a queue. Its counters are
//! [`QueueStatus`](crate::QueueStatus) as `queue status` reads them (so the two always agree);
//! beside them, each worker's tally and host, the latest failures and dead letters, read in
//! one more script from keys the acknowledgement keeps up (`tally`, `failures`), so that a
//! reading costs the same at the first result and at the millionth.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use redis::streams::StreamRangeReply;

use super::queue::Queue;
use super::results::{parse_dead, parse_result, DeadLetter, QueueResult};
use super::status::QueueStatus;
use crate::error::Error;
use crate::scripts;

/// A queue as a dashboard shows it, from [`Queue::overview`].
///
/// ```
/// let o = inflight_redis::QueueOverview::default();
/// assert!(o.workers.is_empty() && o.failures.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct QueueOverview {
    /// The counters, exactly as [`Queue::status`] reads them.
    pub status: QueueStatus,
    /// Every worker that holds inputs, sent a heartbeat, or recorded a result; by name.
    pub workers: Vec<WorkerOverview>,
    /// The latest failed results, newest first (at most the number asked for).
    pub failures: Vec<QueueResult>,
    /// The latest dead letters, newest first (at most the number asked for).
    pub dead_letters: Vec<DeadLetter>,
}

/// One worker in a [`QueueOverview`].
///
/// ```
/// let w = inflight_redis::WorkerOverview { name: "w1".into(), ..Default::default() };
/// assert!(!w.active && w.host.is_none());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerOverview {
    /// Its name.
    pub name: String,
    /// The host it said it runs on, if it did.
    pub host: Option<String>,
    /// Whether it is in the queue's status now (holds inputs or has a heartbeat); a worker
    /// that finished and left is only in the tally.
    pub active: bool,
    /// Inputs it holds.
    pub in_flight: u64,
    /// Results it recorded as done.
    pub done: u64,
    /// Results it recorded as failed.
    pub failed: u64,
    /// Time since its last heartbeat, on Redis's clock.
    pub last_seen: Option<Duration>,
}

impl Queue {
    /// The status, each worker's tally and host, and the latest `failures` failed results
    /// and `dead` dead letters: two round trips, whatever the queue's size.
    ///
    /// ```no_run
    /// # async fn f(queue: inflight_redis::Queue) -> Result<(), inflight_redis::Error> {
    /// let o = queue.overview(10, 10).await?;
    /// for w in &o.workers {
    ///     println!("{} on {:?}: {} done, {} failed", w.name, w.host, w.done, w.failed);
    /// }
    /// for r in &o.failures {
    ///     println!("input {} failed: {}", r.position, r.record);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn overview(&self, failures: usize, dead: usize) -> Result<QueueOverview, Error> {
        let status = self.status().await?;
        let keys = &self.inner.keys;
        let keys = [
            keys.tally.clone(),
            keys.hosts.clone(),
            keys.failures.clone(),
            keys.dead.clone(),
        ];
        // COUNT 0 would mean "all" to some servers: ask for at least one, then cut.
        let args = [failures.max(1).to_string(), dead.max(1).to_string()];
        type Raw = (
            HashMap<String, u64>,
            HashMap<String, String>,
            StreamRangeReply,
            StreamRangeReply,
        );
        let (tally, hosts, failed, dead_letters): Raw = self
            .inner
            .redis
            .script(&scripts::OVERVIEW, &keys, &args)
            .await?;
        let mut failed: Vec<QueueResult> = failed.ids.iter().filter_map(parse_result).collect();
        failed.truncate(failures);
        let mut dead_letters: Vec<DeadLetter> =
            dead_letters.ids.iter().filter_map(parse_dead).collect();
        dead_letters.truncate(dead);
        Ok(QueueOverview {
            workers: workers(&status, &tally, &hosts),
            status,
            failures: failed,
            dead_letters,
        })
    }
}

/// The status's workers and the tally's, joined by name.
fn workers(
    status: &QueueStatus,
    tally: &HashMap<String, u64>,
    hosts: &HashMap<String, String>,
) -> Vec<WorkerOverview> {
    let mut by_name: BTreeMap<&str, WorkerOverview> = BTreeMap::new();
    for w in &status.workers {
        let o = by_name.entry(&w.name).or_default();
        o.active = true;
        o.in_flight = w.in_flight;
        o.last_seen = w.last_seen;
    }
    for (field, n) in tally {
        let (name, failed) = if let Some(name) = field.strip_prefix("done:") {
            (name, false)
        } else if let Some(name) = field.strip_prefix("failed:") {
            (name, true)
        } else {
            continue;
        };
        let o = by_name.entry(name).or_default();
        if failed {
            o.failed = *n;
        } else {
            o.done = *n;
        }
    }
    by_name
        .into_iter()
        .map(|(name, mut o)| {
            o.name = name.to_string();
            o.host = hosts.get(name).cloned();
            o
        })
        .collect()
}
