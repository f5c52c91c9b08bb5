//! [`RedisBuilder`]: how to connect (the timeouts, the event callback, TLS files), and the
//! connecting.

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::events::EventFn;
use super::events::RedisEvent;
use super::redis::{Background, HealthState, Inner, Redis};
use crate::endpoint::{Endpoint, Mode};
use crate::error::{masked_url, one_line, Error};
use crate::follow::Seen;
use crate::link::Link;
use crate::tls::TlsFiles;

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
}
