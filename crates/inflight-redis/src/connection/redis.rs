//! [`Redis`]: the handle and what it holds; the counters, the background operations and the
//! events.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::events::{EventFn, Health, RedisEvent};
use crate::endpoint::Mode;
use crate::error::Error;
use crate::follow::Seen;
use crate::link::{Conn, Link};

/// A connection to one Redis server, cheap to clone, shared by every limit and queue.
///
/// Every operation of this crate goes through it: while Redis is unreachable (down,
/// restarting, loading its data, network cut) operations wait and try again, the outage is
/// reported once through [`RedisBuilder::on_event`](crate::RedisBuilder::on_event) and [`Redis::health`], and an outage
/// longer than [`RedisBuilder::outage_timeout`](crate::RedisBuilder::outage_timeout) becomes [`Error::Unreachable`]. Every
/// operation is idempotent, so trying one again after a lost reply is safe.
///
/// ```no_run
/// # async fn f() -> Result<(), inflight_redis::Error> {
/// let redis = inflight_redis::Redis::connect("redis://127.0.0.1:6379").await?;
/// assert_eq!(redis.health(), inflight_redis::Health::Up);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Redis {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) link: Link,
    /// The shared connection and the failover count it belongs to; replaced when Sentinel
    /// names another master. Kept together, so that an operation that must not reach a new
    /// master before acting on the failover (a grant) can tell.
    pub(super) conn: Mutex<Option<(Conn, u64)>>,
    /// Where the master was last seen.
    pub(super) seen: Mutex<Seen>,
    /// Held while looking for a moved master; when the last look was.
    pub(super) looking: tokio::sync::Mutex<Option<Instant>>,
    /// Failovers seen: shared limits compare it with the count they last acted on.
    pub(super) failovers: std::sync::atomic::AtomicU64,
    /// Outages seen, and the count up to which a look for a moved master followed them: on a
    /// Cluster, a grant after an outage looks first (the client may have followed a failover
    /// by itself).
    pub(super) outages: std::sync::atomic::AtomicU64,
    pub(super) looked: std::sync::atomic::AtomicU64,
    pub(super) url: String,
    pub(super) outage_timeout: Option<Duration>,
    pub(super) response_timeout: Duration,
    pub(super) on_event: Option<EventFn>,
    pub(super) health: Mutex<HealthState>,
    /// Commands and scripts sent, each one round trip (blocking ones included).
    pub(super) round_trips: std::sync::atomic::AtomicU64,
    /// Releases and give-backs that drops started, for [`Redis::flush`].
    pub(super) background: Background,
    /// Tries that found Redis away, on any connection: a command sent in one of them may
    /// have run without its reply arriving.
    pub(super) failures: std::sync::atomic::AtomicU64,
}

/// Operations under way in the background, counted so that a program can wait for them
/// before it exits (a release cut off by the exit would keep a place until its lease ends).
#[derive(Default)]
pub(super) struct Background {
    pub(super) running: std::sync::atomic::AtomicUsize,
    pub(super) idle: tokio::sync::Notify,
}

/// The outage being reported, and when an answer last came (so that an attempt that started
/// before that answer cannot report a new outage: its error is from the old one).
#[derive(Default)]
pub(super) struct HealthState {
    pub(super) down: Option<(Instant, String)>,
    pub(super) last_answer: Option<Instant>,
}

impl fmt::Debug for Redis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redis")
            .field("url", &self.inner.url)
            .finish_non_exhaustive()
    }
}

impl Redis {
    /// The server's URL with its password masked.
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), inflight_redis::Error> {
    /// let redis = inflight_redis::Redis::connect("redis://:pw@127.0.0.1:6379").await?;
    /// assert_eq!(redis.url(), "redis://:***@127.0.0.1:6379");
    /// # Ok(()) }
    /// ```
    pub fn url(&self) -> &str {
        &self.inner.url
    }

    /// Whether Redis answered the last operation.
    ///
    /// ```no_run
    /// # async fn f(redis: inflight_redis::Redis) {
    /// if let inflight_redis::Health::Down { since, error } = redis.health() {
    ///     eprintln!("waiting for Redis for {:?}: {error}", since.elapsed());
    /// }
    /// # }
    /// ```
    pub fn health(&self) -> Health {
        match &self.lock_health().down {
            None => Health::Up,
            Some((since, error)) => Health::Down {
                since: *since,
                error: error.clone(),
            },
        }
    }

    /// How many commands and scripts this connection (and the blocking connections made from
    /// it) has sent so far, each one round trip; for measuring what a job costs.
    ///
    /// ```no_run
    /// # async fn f(redis: inflight_redis::Redis, limit: inflight_redis::GlobalLimit) -> Result<(), inflight_redis::Error> {
    /// let before = redis.round_trips();
    /// limit.acquire(None).await?.release().await?;
    /// println!("{} round trips", redis.round_trips() - before); // 2 without waiting
    /// # Ok(()) }
    /// ```
    pub fn round_trips(&self) -> u64 {
        self.inner
            .round_trips
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Waits until the releases and give-backs that drops started in the background are
    /// done, for at most `within`; true if they all are. Call it before the process exits, so
    /// that the places and inputs it held go to others at once rather than after a lease.
    ///
    /// ```no_run
    /// # async fn f(redis: inflight_redis::Redis, limit: inflight_redis::GlobalLimit) -> Result<(), inflight_redis::Error> {
    /// drop(limit.acquire(None).await?); // released in the background
    /// assert!(redis.flush(std::time::Duration::from_secs(5)).await);
    /// # Ok(()) }
    /// ```
    pub async fn flush(&self, within: Duration) -> bool {
        let background = &self.inner.background;
        let done = async {
            loop {
                let idle = background.idle.notified();
                if background
                    .running
                    .load(std::sync::atomic::Ordering::Acquire)
                    == 0
                {
                    return;
                }
                idle.await;
            }
        };
        tokio::time::timeout(within, done).await.is_ok()
    }

    /// Spawns `operation` on the current runtime (if any), counted for [`Redis::flush`].
    pub(crate) fn spawn_background(
        &self,
        operation: impl std::future::Future<Output = ()> + Send + 'static,
    ) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return; // no runtime left: the lease frees the place
        };
        let inner = self.inner.clone();
        inner
            .background
            .running
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        runtime.spawn(async move {
            operation.await;
            let background = &inner.background;
            if background
                .running
                .fetch_sub(1, std::sync::atomic::Ordering::AcqRel)
                == 1
            {
                background.idle.notify_waiters();
            }
        });
    }

    /// How many tries have found Redis away so far; a change across an operation means its
    /// command may have run without the reply arriving.
    pub(crate) fn failures(&self) -> u64 {
        self.inner
            .failures
            .load(std::sync::atomic::Ordering::Acquire)
    }

    pub(super) fn count_failure(&self) {
        self.inner
            .failures
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    pub(super) fn count_trip(&self) {
        self.inner
            .round_trips
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Says an event, if anyone listens.
    pub(crate) fn emit(&self, event: RedisEvent) {
        if let Some(f) = &self.inner.on_event {
            f(&event);
        }
    }

    /// Whether this is a Redis Cluster (`redis+cluster://`): a command over the whole
    /// keyspace must go to every master.
    pub(crate) fn is_cluster(&self) -> bool {
        self.inner.link.endpoint.mode == Mode::Cluster
    }
}

/// The outcome of one try that did not answer.
#[derive(Debug)]
pub(crate) enum Attempt {
    /// Redis is away (reported already); try again later.
    Away(String),
    /// A real error.
    Failed(Error),
}
