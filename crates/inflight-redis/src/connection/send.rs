//! Sending: scripts and commands on the shared connection, waiting out outages, and what a
//! failed try means (an outage reported once, or an error).

use std::time::{Duration, Instant};

use redis::{FromRedisValue, RedisError, Script};

use super::events::RedisEvent;
use super::redis::{Attempt, HealthState, Redis};
use crate::endpoint::Mode;
use crate::error::{classify, is_transient, one_line, Error};
use crate::link::Conn;

impl Redis {
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

    /// Sorts a result into an answer, an outage (reported) or a failure.
    pub(super) fn settle<T>(
        &self,
        sent: Instant,
        result: Result<T, RedisError>,
    ) -> Result<T, Attempt> {
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
    pub(super) fn is_away(&self, e: &RedisError) -> bool {
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

    pub(super) fn check_timeout(&self, started: Instant, reason: &str) -> Result<(), Error> {
        match self.inner.outage_timeout {
            Some(limit) if started.elapsed() >= limit => Err(Error::Unreachable {
                url: self.inner.url.clone(),
                waited: started.elapsed(),
                reason: reason.to_string(),
            }),
            _ => Ok(()),
        }
    }

    pub(super) fn mark_down(&self, sent: Instant, reason: &str) {
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

    pub(super) fn mark_up(&self) {
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

    pub(super) fn lock_health(&self) -> std::sync::MutexGuard<'_, HealthState> {
        self.inner.health.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(super) fn conn(&self) -> Conn {
        self.conn_at().0
    }

    /// The shared connection and the failover count it belongs to.
    pub(super) fn conn_at(&self) -> (Conn, u64) {
        // Set by `first_connection` before any Redis is handed out.
        self.inner
            .conn
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .expect("connected before use")
    }
}
