//! [`Redis`]: one connection to a server shared by every limit and queue of a process, which
//! waits out outages instead of failing (never fail open) and reports them once.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use redis::aio::ConnectionManager;
use redis::{FromRedisValue, RedisError, Script};

use crate::diagnose::{probe, Peer};
use crate::endpoint::{Endpoint, Mode};
use crate::error::{classify, is_transient, masked_url, one_line, Error, CLUSTER_HINT};
use crate::follow::{look, open, Moved, OpenError, Seen};
use crate::link::{manager_config, Blocking, Conn, Link};
use crate::tls::TlsFiles;

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
    tls: TlsFiles,
}

impl fmt::Debug for RedisBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBuilder")
            .field("url", &masked_url(&self.url))
            .field("outage_timeout", &self.outage_timeout)
            .field("response_timeout", &self.response_timeout)
            .field("tls", &self.tls)
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

    /// The CA and client certificate for a `rediss://` URL (`rediss+sentinel://`,
    /// `rediss+cluster://`); without them, the system's roots and no client certificate.
    ///
    /// ```
    /// let b = inflight_redis::Redis::builder("rediss://redis.example.com:6380")
    ///     .tls(inflight_redis::TlsFiles::default().ca_file("ca.pem"));
    /// ```
    pub fn tls(mut self, files: TlsFiles) -> RedisBuilder {
        self.tls = files;
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
        let bad_url = |reason: String| Error::BadUrl {
            url: url.clone(),
            reason,
        };
        let endpoint = Endpoint::parse(&self.url).map_err(bad_url)?;
        let tls_url = endpoint.tls || self.url.to_ascii_lowercase().starts_with("rediss://");
        let certs = if self.tls.is_empty() {
            None
        } else if !tls_url {
            return Err(bad_url(
                "a CA or client certificate is given, but the URL is not TLS (rediss://)".into(),
            ));
        } else {
            Some(self.tls.load().map_err(|reason| Error::Tls {
                url: url.clone(),
                reason,
            })?)
        };
        let link = Link::new(endpoint, &self.url, certs);
        if link.endpoint.mode == Mode::Single {
            link.client(None)
                .map_err(|e| bad_url(one_line(&e.to_string())))?;
        }
        let inner = Arc::new(Inner {
            link,
            conn: Mutex::new(None),
            seen: Mutex::new(Seen::Single),
            looking: tokio::sync::Mutex::new(None),
            failovers: std::sync::atomic::AtomicU64::new(0),
            outages: std::sync::atomic::AtomicU64::new(0),
            looked: std::sync::atomic::AtomicU64::new(0),
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
    link: Link,
    /// The shared connection and the failover count it belongs to; replaced when Sentinel
    /// names another master. Kept together, so that an operation that must not reach a new
    /// master before acting on the failover (a grant) can tell.
    conn: Mutex<Option<(Conn, u64)>>,
    /// Where the master was last seen.
    seen: Mutex<Seen>,
    /// Held while looking for a moved master; when the last look was.
    looking: tokio::sync::Mutex<Option<Instant>>,
    /// Failovers seen: shared limits compare it with the count they last acted on.
    failovers: std::sync::atomic::AtomicU64,
    /// Outages seen, and the count up to which a look for a moved master followed them: on a
    /// Cluster, a grant after an outage looks first (the client may have followed a failover
    /// by itself).
    outages: std::sync::atomic::AtomicU64,
    looked: std::sync::atomic::AtomicU64,
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
            tls: TlsFiles::default(),
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
                    self.look_for_master(false).await;
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
        self.script_once_at(None, script, keys, args).await
    }

    /// Runs a script, waiting out outages, as long as the connection is still the one of
    /// failover count `generation`; `None` once it moved on (the caller acts on the failover,
    /// then sends it again: every script is idempotent).
    pub(crate) async fn script_at<T: FromRedisValue>(
        &self,
        generation: u64,
        script: &Script,
        keys: &[String],
        args: &[String],
    ) -> Result<Option<T>, Error> {
        let started = Instant::now();
        let mut backoff = Duration::from_millis(50);
        loop {
            self.look_after_outage().await;
            if self.failovers() != generation {
                return Ok(None);
            }
            match self
                .script_once_at(Some(generation), script, keys, args)
                .await
            {
                Ok(v) => return Ok(Some(v)),
                Err(Attempt::Failed(e)) => return Err(e),
                Err(Attempt::Away(reason)) => {
                    self.check_timeout(started, &reason)?;
                    self.look_for_master(false).await;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    /// On a Cluster, after an outage not yet looked at: looks whether a shard's master moved,
    /// so that a grant is not the first thing a promoted replica sees.
    async fn look_after_outage(&self) {
        use std::sync::atomic::Ordering;
        if self.inner.link.endpoint.mode != Mode::Cluster {
            return;
        }
        let outages = self.inner.outages.load(Ordering::Acquire);
        if self.inner.looked.load(Ordering::Acquire) != outages {
            self.look_for_master(true).await;
            self.inner.looked.store(outages, Ordering::Release);
        }
    }

    /// [`Redis::script_once`], refused (as away) if the connection no longer belongs to
    /// failover count `generation`.
    pub(crate) async fn script_once_at<T: FromRedisValue>(
        &self,
        generation: Option<u64>,
        script: &Script,
        keys: &[String],
        args: &[String],
    ) -> Result<T, Attempt> {
        let (mut conn, now) = self.conn_at();
        if generation.is_some_and(|g| g != now) {
            return Err(Attempt::Away("the master moved".into()));
        }
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

    /// Whether this is a Redis Cluster (`redis+cluster://`): a command over the whole
    /// keyspace must go to every master.
    pub(crate) fn is_cluster(&self) -> bool {
        self.inner.link.endpoint.mode == Mode::Cluster
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
                    self.look_for_master(false).await;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    /// A separate connection for a blocking command (BLPOP, XREADGROUP BLOCK), which would
    /// hold up every other command on the shared, multiplexed one. Made lazily: it connects
    /// on its first command, and reconnects by itself after an outage.
    pub(crate) fn blocking_connection(&self, block: Duration) -> Result<Blocking, Error> {
        Ok(Blocking {
            conn: None,
            generation: self.failovers(),
            response_timeout: block + self.inner.response_timeout,
        })
    }

    /// The blocking connection's own connection, made (again, after a failover) as needed.
    async fn blocking_conn(&self, blocking: &mut Blocking) -> Result<Conn, RedisError> {
        let generation = self.failovers();
        if blocking.generation != generation {
            blocking.conn = None;
            blocking.generation = generation;
        }
        if let Some(conn) = &blocking.conn {
            return Ok(conn.clone());
        }
        let link = &self.inner.link;
        let config = manager_config(blocking.response_timeout);
        let seen = self.lock_seen().clone();
        let conn = match &seen {
            Seen::Single => Conn::Single(ConnectionManager::new_lazy_with_config(
                link.client(None)?,
                config,
            )?),
            Seen::Master(host, port) => Conn::Single(ConnectionManager::new_lazy_with_config(
                link.client(Some(&(host.clone(), *port)))?,
                config,
            )?),
            Seen::Masters(_) => return self.blocking_cluster(blocking).await,
        };
        blocking.conn = Some(conn.clone());
        Ok(conn)
    }

    async fn blocking_cluster(&self, blocking: &mut Blocking) -> Result<Conn, RedisError> {
        let conn = self.inner.link.cluster(blocking.response_timeout).await?;
        blocking.conn = Some(conn.clone());
        Ok(conn)
    }

    /// Runs a blocking command on a connection from [`Redis::blocking_connection`], once. Its
    /// errors do not count as an outage: the shared connection's next operation says whether
    /// Redis is away, and a blocking connection's stale error must not report one after Redis
    /// came back.
    pub(crate) async fn blocking_cmd<T: FromRedisValue>(
        &self,
        blocking: &mut Blocking,
        cmd: &redis::Cmd,
    ) -> Result<T, Attempt> {
        self.count_trip();
        let result = match self.blocking_conn(blocking).await {
            Ok(mut conn) => cmd.query_async(&mut conn).await,
            Err(e) => Err(e),
        };
        result.map_err(|e| {
            if self.is_away(&e) {
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
            Err(e) if self.is_away(&e) => {
                self.count_failure();
                let reason = one_line(&e.to_string());
                self.mark_down(sent, &reason);
                Err(Attempt::Away(reason))
            }
            Err(e) => Err(Attempt::Failed(classify(&e, &self.inner.url))),
        }
    }

    /// Whether an error means "Redis is away for now". Behind Sentinel or a Cluster, a
    /// READONLY answer is one too: the node was demoted, and the master is to be found again;
    /// on a Cluster, so is a MOVED that its client did not follow in time.
    fn is_away(&self, e: &RedisError) -> bool {
        let follows = self.inner.link.follows_failover();
        is_transient(e)
            || (follows
                && matches!(
                    e.kind(),
                    redis::ErrorKind::Server(redis::ServerErrorKind::ReadOnly)
                ))
            // A Cluster's client follows MOVED and ASK itself; one that comes through (its
            // retries spent while a shard fails over) is tried again like an outage.
            || (self.inner.link.endpoint.mode == Mode::Cluster
                && matches!(e.code(), Some("MOVED" | "ASK")))
    }

    /// How many failovers this connection has followed.
    pub(crate) fn failovers(&self) -> u64 {
        self.inner
            .failovers
            .load(std::sync::atomic::Ordering::Acquire)
    }

    fn lock_seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.inner.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// After a failure behind Sentinel or a Cluster: looks whether the master moved, and if
    /// so follows it (Sentinel: a connection to the new master replaces the old one) and
    /// says so once. Looks at most every 200 ms unless `now` (after Redis came back).
    async fn look_for_master(&self, now: bool) {
        if !self.inner.link.follows_failover() {
            return;
        }
        let mut last = self.inner.looking.lock().await;
        if !now && last.is_some_and(|at| at.elapsed() < Duration::from_millis(200)) {
            return;
        }
        *last = Some(Instant::now());
        let seen = self.lock_seen().clone();
        let conn = self.conn();
        match look(&self.inner.link, &seen, &conn, self.inner.response_timeout).await {
            Moved::No => {}
            Moved::To(conn, seen, master) => {
                *self.lock_seen() = seen;
                {
                    // The count and the connection change together (see `Inner::conn`).
                    let mut shared = self.inner.conn.lock().unwrap_or_else(|e| e.into_inner());
                    let generation = self
                        .inner
                        .failovers
                        .fetch_add(1, std::sync::atomic::Ordering::AcqRel)
                        + 1;
                    if let Some((old, _)) = shared.take() {
                        *shared = Some((conn.unwrap_or(old), generation));
                    }
                }
                self.emit(RedisEvent::FailedOver { master });
            }
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
            self.inner
                .outages
                .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
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
            // A Cluster's client may have followed a failover by itself: look once more, so
            // that it is said and the shared limits act on it.
            if self.inner.link.follows_failover() {
                if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                    let redis = self.clone();
                    runtime.spawn(async move { redis.look_for_master(true).await });
                }
            }
            self.emit(RedisEvent::Up {
                after: since.elapsed(),
            });
        }
    }

    fn lock_health(&self) -> std::sync::MutexGuard<'_, HealthState> {
        self.inner.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn conn(&self) -> Conn {
        self.conn_at().0
    }

    /// The shared connection and the failover count it belongs to.
    fn conn_at(&self) -> (Conn, u64) {
        // Set by `first_connection` before any Redis is handed out.
        self.inner
            .conn
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .expect("connected before use")
    }

    /// Makes the shared connection, waiting while the server is unreachable: a worker started
    /// before its Redis waits for it like during any outage. A failure that says nothing by
    /// itself (a reset, a reply that is not RESP) is looked at once more with a plain probe,
    /// so that TLS to a plain port, plain to a TLS port and a server that is not Redis each
    /// get their own one-line error instead of an endless wait.
    async fn first_connection(&self) -> Result<(), Error> {
        let started = Instant::now();
        let url = &self.inner.url;
        loop {
            let sent = Instant::now();
            let e = match open(&self.inner.link, self.inner.response_timeout).await {
                Ok((conn, seen)) => {
                    *self.inner.conn.lock().unwrap_or_else(|e| e.into_inner()) = Some((conn, 0));
                    *self.lock_seen() = seen;
                    self.mark_up();
                    return Ok(());
                }
                Err(OpenError::Sentinel(reason)) => {
                    return Err(Error::Topology {
                        url: url.clone(),
                        reason,
                    })
                }
                Err(OpenError::SentinelAway(reason) | OpenError::NotMaster(reason)) => {
                    self.mark_down(sent, &reason);
                    self.check_timeout(started, &reason)?;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                    continue;
                }
                Err(OpenError::Redis(e)) => e,
            };
            if let Some(error) = self.diagnose(&e).await {
                return Err(error);
            }
            match self.settle::<()>(sent, Err(e)) {
                Ok(()) => unreachable!("settled an error"),
                Err(Attempt::Failed(e)) => return Err(e),
                Err(Attempt::Away(reason)) => {
                    self.check_timeout(started, &reason)?;
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
            }
        }
    }

    /// Names a first connection's failure when it is not an outage: a refused certificate,
    /// TLS against a plain port or the reverse, a server that is not Redis.
    async fn diagnose(&self, e: &RedisError) -> Option<Error> {
        let url = self.inner.url.clone();
        if let Some(reason) = crate::tls::certificate_problem(e) {
            return Some(Error::Tls { url, reason });
        }
        if e.is_connection_refusal() {
            return None; // not up yet: waited for
        }
        // A timeout too: a plain Redis waits for the end of a line that a TLS hello never
        // sends.
        let parse = e.kind() == redis::ErrorKind::Parse;
        if !(parse || e.is_io_error() || e.is_connection_dropped() || e.is_timeout()) {
            return None;
        }
        let (host, port) = self.inner.link.first_address()?;
        let tls = self.inner.link.is_tls();
        match probe(&host, port).await {
            Peer::PlainRedis if tls => Some(Error::Tls {
                url,
                reason: format!(
                    "{host}:{port} speaks plain Redis, not TLS (use redis:// for this port)"
                ),
            }),
            Peer::Tls if !tls => Some(Error::Tls {
                url,
                reason: format!("{host}:{port} expects TLS (use rediss:// for this port)"),
            }),
            Peer::Other(answered) => Some(Error::NotRedis { url, answered }),
            _ if parse => Some(Error::NotRedis {
                url,
                answered: one_line(&e.to_string()),
            }),
            _ => None,
        }
    }

    /// Checks the version, and that the server is what the URL says: a Cluster node behind
    /// `redis://` is told to use `redis+cluster://`, and a replica behind it to give the
    /// master, rather than failing later with MOVED or READONLY on some key.
    async fn check_version(&self) -> Result<(), Error> {
        let info: String = match self.conn() {
            // INFO goes to one node: every node of a Cluster runs the same version.
            Conn::Cluster(mut cluster) => {
                let routing = redis::cluster_routing::RoutingInfo::SingleNode(
                    redis::cluster_routing::SingleNodeRoutingInfo::Random,
                );
                let value = cluster
                    .route_command(redis::cmd("INFO"), routing)
                    .await
                    .map_err(|e| classify(&e, &self.inner.url))?;
                redis::from_redis_value(value).map_err(|e| classify(&e.into(), &self.inner.url))?
            }
            Conn::Single(_) => self.cmd(&redis::cmd("INFO")).await?,
        };
        let field = |name: &str| {
            info.lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
                .map(str::trim)
        };
        if self.inner.link.endpoint.mode == Mode::Single {
            let reason = if field("cluster_enabled") == Some("1") {
                Some(CLUSTER_HINT.to_string())
            } else if field("role") == Some("slave") {
                Some(
                    "this server is a read-only replica: give its master's address, or \
                     redis+sentinel://SENTINEL:PORT/MASTER_NAME to follow the master"
                        .to_string(),
                )
            } else {
                None
            };
            if let Some(reason) = reason {
                return Err(Error::Topology {
                    url: self.inner.url.clone(),
                    reason,
                });
            }
        }
        let version = field("redis_version").unwrap_or("unknown").to_string();
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
