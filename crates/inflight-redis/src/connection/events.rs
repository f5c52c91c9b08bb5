//! What the connection tells the program: its events, and its health.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// What the connection tells the program about, through [`RedisBuilder::on_event`](crate::RedisBuilder::on_event).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RedisEvent {
    /// Redis stopped answering; every operation now waits for it (said once per outage).
    Down {
        /// The first error of the outage.
        error: String,
    },
    /// Redis answers again after an outage.
    Up {
        /// How long it was away.
        after: Duration,
    },
    /// A permit's lease ran out while it was still held (the holder stalled, or was cut off
    /// from Redis, for longer than the lease): its place may have gone to someone else.
    PermitLost {
        /// The limit's name (and key, for per-key limits).
        limit: String,
    },
    /// Redis lost a shared limit's data (it restarted without persistence, or was flushed):
    /// to never pass the limit, no new place is granted until the places held before may be
    /// known again, for up to one lease.
    DataLost {
        /// The limit's name (and key, for per-key limits).
        limit: String,
        /// The longest the hold-back lasts.
        grace: Duration,
    },
    /// The master moved: Sentinel promoted a replica, or a Cluster shard failed over. The
    /// connection follows it; shared limits hold back new grants for one lease (see the
    /// crate docs, "Failover").
    FailedOver {
        /// The new master's address (`HOST:PORT`).
        master: String,
    },
    /// A queue item's lease ran out while it still ran; another worker may run it too (its
    /// result is still recorded once).
    ItemLost {
        /// The queue's name.
        queue: String,
        /// The input's position.
        position: u64,
    },
    /// A queue this process used was deleted: its workers take nothing more.
    QueueDeleted {
        /// The queue's name.
        queue: String,
    },
    /// Redis lost the data of a queue this process used (it restarted without persistence,
    /// or was flushed): its workers take nothing more.
    QueueLost {
        /// The queue's name.
        queue: String,
    },
    /// A worker's queue does not exist (yet): it waits for a push (said once per worker).
    QueueMissing {
        /// The queue's name.
        queue: String,
    },
}

/// Whether Redis answers, as last seen; for a progress line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Health {
    /// The last operation got an answer.
    Up,
    /// Redis has not answered since `since`.
    Down {
        /// When the outage was first seen.
        since: Instant,
        /// The first error of the outage.
        error: String,
    },
}

pub(super) type EventFn = Arc<dyn Fn(&RedisEvent) + Send + Sync>;
