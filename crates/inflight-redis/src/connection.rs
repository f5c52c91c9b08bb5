//! [`Redis`]: one connection to a server shared by every limit and queue of a process, which
//! waits out outages instead of failing (never fail open) and reports them once.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::{Client, FromRedisValue, RedisError, Script};

use crate::error::{classify, is_transient, masked_url, one_line, Error};

/// What the connection tells the program about, through [`RedisBuilder::on_event`].
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

type EventFn = Arc<dyn Fn(&RedisEvent) + Send + Sync>;

/// How to connect: the outage timeout, the response timeout and the event callback.
///
/// ```no_run
/// # async fn f() -> Result<(), inflight_redis::Error> {
/// use std::time::Duration;
/// let redis = inflight_redis::Redis::builder("redis://127.0.0.1:6379")
///     .outage_timeout(Some(Duration::from_secs(60)))
///     .on_event(|event| eprintln!("inflight: {event:?}"))
///     .connect()
///     .await?;
/// # Ok(()) }
/// ```
#[must_use]
pub struct RedisBuilder {
    url: String,
    outage_timeout: Option<Duration>,
    response_timeout: Duration,
    on_event: Option<EventFn>,
}

impl fmt::Debug for RedisBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBuilder")
            .field("url", &masked_url(&self.url))
            .field("outage_timeout", &self.outage_timeout)
            .field("response_timeout", &self.response_timeout)
            .finish_non_exhaustive()
    }
}

impl RedisBuilder {
    /// How long one operation may wait for an unreachable Redis before it fails with
    /// [`Error::Unreachable`]; `None` (the default) waits for ever.
    ///
    /// ```
    /// let b = inflight_redis::Redis::builder("redis://127.0.0.1").outage_timeout(None);
    /// ```
    pub fn outage_timeout(mut self, timeout: Option<Duration>) -> RedisBuilder {
        self.outage_timeout = timeout;
        self
    }

    /// How long to wait for one reply before taking Redis as away (default 5 s).
    ///
    /// ```
    /// let b = inflight_redis::Redis::builder("redis://127.0.0.1")
    ///     .response_timeout(std::time::Duration::from_secs(2));
    /// ```
    pub fn response_timeout(mut self, timeout: Duration) -> RedisBuilder {
        self.response_timeout = timeout;
        self
    }

    /// Called with each [`RedisEvent`]: an outage (once), its end, a lost permit or item.
    /// Called from the task that saw it: keep it short.
    ///
    /// ```
    /// let b = inflight_redis::Redis::builder("redis://127.0.0.1").on_event(|e| eprintln!("{e:?}"));
    /// ```
    pub fn on_event(mut self, f: impl Fn(&RedisEvent) + Send + Sync + 'static) -> RedisBuilder {
        self.on_event = Some(Arc::new(f));
        self
    }

    /// Connects, checks the credentials and the server's version.
    ///
    /// A bad URL, refused credentials or a server older than 6.2 fail at once; an unreachable
    /// server is waited for like any outage (up to the outage timeout).
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), inflight_redis::Error> {
    /// let redis = inflight_redis::Redis::builder("redis://127.0.0.1:6379").connect().await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(self) -> Result<Redis, Error> {
        let url = masked_url(&self.url);
        let client = Client::open(self.url.as_str()).map_err(|e| Error::BadUrl {
            url: url.clone(),
            reason: one_line(&e.to_string()),
        })?;
        let inner = Arc::new(Inner {
            client,
            conn: std::sync::OnceLock::new(),
            url,
            outage_timeout: self.outage_timeout,
            response_timeout: self.response_timeout,
            on_event: self.on_event,
            health: Mutex::new(HealthState::default()),
            round_trips: std::sync::atomic::AtomicU64::new(0),
            background: Background::default(),
            failures: std::sync::atomic::AtomicU64::new(0),
        });
        let redis = Redis { inner };
        redis.first_connection().await?;
        redis.check_version().await?;
        Ok(redis)
    }
}

/// A connection to one Redis server, cheap to clone, shared by every limit and queue.
///
/// Every operation of this crate goes through it: while Redis is unreachable (down,
/// restarting, loading its data, network cut) operations wait and try again, the outage is
/// reported once through [`RedisBuilder::on_event`] and [`Redis::health`], and an outage
/// longer than [`RedisBuilder::outage_timeout`] becomes [`Error::Unreachable`]. Every
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
    inner: Arc<Inner>,
}

struct Inner {
    client: Client,
    conn: std::sync::OnceLock<ConnectionManager>,
    url: String,
    outage_timeout: Option<Duration>,
    response_timeout: Duration,
    on_event: Option<EventFn>,
    health: Mutex<HealthState>,
    /// Commands and scripts sent, each one round trip (blocking ones included).
    round_trips: std::sync::atomic::AtomicU64,
    /// Releases and give-backs that drops started, for [`Redis::flush`].
    background: Background,
    /// Tries that found Redis away, on any connection: a command sent in one of them may
    /// have run without its reply arriving.
    failures: std::sync::atomic::AtomicU64,
}

/// Operations under way in the background, counted so that a program can wait for them
/// before it exits (a release cut off by the exit would keep a place until its lease ends).
#[derive(Default)]
struct Background {
    running: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

/// The outage being reported, and when an answer last came (so that an attempt that started
/// before that answer cannot report a new outage: its error is from the old one).
#[derive(Default)]
struct HealthState {
    down: Option<(Instant, String)>,
    last_answer: Option<Instant>,
}

impl fmt::Debug for Redis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Redis")
            .field("url", &self.inner.url)
            .finish_non_exhaustive()
    }
}

/// The oldest server the scripts run on: XAUTOCLAIM and XPENDING's IDLE came in 6.2.
const MIN_VERSION: (u32, u32) = (6, 2);

impl Redis {
    /// Connects with the defaults (wait for ever through outages, no event callback).
    ///
    /// ```no_run
    /// # async fn f() -> Result<(), inflight_redis::Error> {
    /// let redis = inflight_redis::Redis::connect("redis://127.0.0.1:6379/0").await?;
    /// # Ok(()) }
    /// ```
    pub async fn connect(url: &str) -> Result<Redis, Error> {
        Redis::builder(url).connect().await
    }

    /// A builder to set the outage timeout, the response timeout or the event callback.
    ///
    /// ```
    /// let builder = inflight_redis::Redis::builder("redis://127.0.0.1:6379");
    /// ```
    pub fn builder(url: &str) -> RedisBuilder {
        RedisBuilder {
            url: url.to_string(),
            outage_timeout: None,
            response_timeout: Duration::from_secs(5),
            on_event: None,
        }
    }

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

    fn count_failure(&self) {
        self.inner
            .failures
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    fn count_trip(&self) {
        self.inner
            .round_trips
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Runs a script, waiting out outages.
    pub(crate) async fn script<T: FromRedisValue>(
        &self,
        script: &Script,
        keys: &[String],
        args: &[String],
    ) -> Result<T, Error> {
        let started = Instant::now();
        let mut backoff = Duration::from_millis(50);
        loop {
            match self.script_once(script, keys, args).await {
                Ok(v) => return Ok(v),
                Err(Attempt::Failed(e)) => return Err(e),
                Err(Attempt::Away(reason)) => {
                    self.check_timeout(started, &reason)?;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    /// Runs a script once; an outage is reported and handed back for the caller to retry on
    /// its own schedule (the renewers do, so that they never block on an outage).
    pub(crate) async fn script_once<T: FromRedisValue>(
        &self,
        script: &Script,
        keys: &[String],
        args: &[String],
    ) -> Result<T, Attempt> {
        let mut conn = self.conn();
        let mut invocation = script.prepare_invoke();
        for key in keys {
            invocation.key(key);
        }
        for arg in args {
            invocation.arg(arg);
        }
        let sent = Instant::now();
        self.count_trip();
        let result = invocation.invoke_async(&mut conn).await;
        self.settle(sent, result)
    }

    /// Runs a command, waiting out outages.
    pub(crate) async fn cmd<T: FromRedisValue>(&self, cmd: &redis::Cmd) -> Result<T, Error> {
        let started = Instant::now();
        let mut backoff = Duration::from_millis(50);
        loop {
            let mut conn = self.conn();
            let sent = Instant::now();
            self.count_trip();
            match self.settle(sent, cmd.query_async(&mut conn).await) {
                Ok(v) => return Ok(v),
                Err(Attempt::Failed(e)) => return Err(e),
                Err(Attempt::Away(reason)) => {
                    self.check_timeout(started, &reason)?;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    /// A separate connection for a blocking command (BLPOP, XREADGROUP BLOCK), which would
    /// hold up every other command on the shared, multiplexed one. Made lazily: it connects
    /// on its first command, and reconnects by itself after an outage.
    pub(crate) fn blocking_connection(&self, block: Duration) -> Result<ConnectionManager, Error> {
        ConnectionManager::new_lazy_with_config(
            self.inner.client.clone(),
            manager_config(block + self.inner.response_timeout),
        )
        .map_err(|e| classify(&e, &self.inner.url))
    }

    /// Runs a blocking command on a connection from [`Redis::blocking_connection`], once. Its
    /// errors do not count as an outage: the shared connection's next operation says whether
    /// Redis is away, and a blocking connection's stale error must not report one after Redis
    /// came back.
    pub(crate) async fn blocking_cmd<T: FromRedisValue>(
        &self,
        conn: &mut ConnectionManager,
        cmd: &redis::Cmd,
    ) -> Result<T, Attempt> {
        self.count_trip();
        cmd.query_async(conn).await.map_err(|e| {
            if is_transient(&e) {
                self.count_failure();
                Attempt::Away(one_line(&e.to_string()))
            } else {
                Attempt::Failed(classify(&e, &self.inner.url))
            }
        })
    }

    /// Says an event, if anyone listens.
    pub(crate) fn emit(&self, event: RedisEvent) {
        if let Some(f) = &self.inner.on_event {
            f(&event);
        }
    }

    /// Sorts a result into an answer, an outage (reported) or a failure.
    fn settle<T>(&self, sent: Instant, result: Result<T, RedisError>) -> Result<T, Attempt> {
        match result {
            Ok(v) => {
                self.mark_up();
                Ok(v)
            }
            Err(e) if is_transient(&e) => {
                self.count_failure();
                let reason = one_line(&e.to_string());
                self.mark_down(sent, &reason);
                Err(Attempt::Away(reason))
            }
            Err(e) => Err(Attempt::Failed(classify(&e, &self.inner.url))),
        }
    }

    fn check_timeout(&self, started: Instant, reason: &str) -> Result<(), Error> {
        match self.inner.outage_timeout {
            Some(limit) if started.elapsed() >= limit => Err(Error::Unreachable {
                url: self.inner.url.clone(),
                waited: started.elapsed(),
                reason: reason.to_string(),
            }),
            _ => Ok(()),
        }
    }

    fn mark_down(&self, sent: Instant, reason: &str) {
        let first = {
            let mut health = self.lock_health();
            let stale = health.last_answer.is_some_and(|at| at > sent);
            if health.down.is_none() && !stale {
                health.down = Some((Instant::now(), reason.to_string()));
                true
            } else {
                false
            }
        };
        if first {
            self.emit(RedisEvent::Down {
                error: reason.to_string(),
            });
        }
    }

    fn mark_up(&self) {
        let was = {
            let mut health = self.lock_health();
            health.last_answer = Some(Instant::now());
            health.down.take()
        };
        if let Some((since, _)) = was {
            self.emit(RedisEvent::Up {
                after: since.elapsed(),
            });
        }
    }

    fn lock_health(&self) -> std::sync::MutexGuard<'_, HealthState> {
        self.inner.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn conn(&self) -> ConnectionManager {
        // Set once by `first_connection` before any Redis is handed out.
        self.inner.conn.get().expect("connected before use").clone()
    }

    /// Makes the shared connection, waiting while the server is unreachable: a worker started
    /// before its Redis waits for it like during any outage.
    async fn first_connection(&self) -> Result<(), Error> {
        let started = Instant::now();
        loop {
            let sent = Instant::now();
            let made = ConnectionManager::new_with_config(
                self.inner.client.clone(),
                manager_config(self.inner.response_timeout),
            )
            .await;
            match self.settle(sent, made) {
                Ok(conn) => {
                    let _ = self.inner.conn.set(conn);
                    return Ok(());
                }
                Err(Attempt::Failed(e)) => return Err(e),
                Err(Attempt::Away(reason)) => {
                    self.check_timeout(started, &reason)?;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
    }

    async fn check_version(&self) -> Result<(), Error> {
        let info: String = self.cmd(redis::cmd("INFO").arg("server")).await?;
        let version = info
            .lines()
            .find_map(|l| l.strip_prefix("redis_version:"))
            .unwrap_or("unknown")
            .trim()
            .to_string();
        if version_at_least(&version, MIN_VERSION) {
            Ok(())
        } else {
            Err(Error::TooOld {
                url: self.inner.url.clone(),
                version,
            })
        }
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

/// The reconnection settings: one quick try inside the manager, since the retrying (with its
/// outage report and timeout) is ours.
fn manager_config(response_timeout: Duration) -> redis::aio::ConnectionManagerConfig {
    redis::aio::ConnectionManagerConfig::new()
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500))
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(response_timeout))
}

/// Whether `version` ("7.0.15") is at least `min`.
pub(crate) fn version_at_least(version: &str, min: (u32, u32)) -> bool {
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let major = parts.next().unwrap_or(0);
    let minor = parts.next().unwrap_or(0);
    (major, minor) >= min
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert!(version_at_least("7.0.15", MIN_VERSION));
        assert!(version_at_least("6.2.0", MIN_VERSION));
        assert!(!version_at_least("6.0.16", MIN_VERSION));
        assert!(!version_at_least("5.0.7", MIN_VERSION));
        assert!(!version_at_least("unknown", MIN_VERSION));
    }
}
