//! The first connection: waiting for the server, naming what is wrong when it is not an
//! outage, and checking the version and the kind of server.

use std::time::{Duration, Instant};

use redis::RedisError;

use super::redis::{Attempt, Redis};
use crate::diagnose::{probe, Peer};
use crate::endpoint::Mode;
use crate::error::{classify, one_line, Error, CLUSTER_HINT};
use crate::follow::{open, OpenError};
use crate::link::Conn;

/// The oldest server the scripts run on: XAUTOCLAIM and XPENDING's IDLE came in 6.2.
pub(super) const MIN_VERSION: (u32, u32) = (6, 2);

impl Redis {
    /// Makes the shared connection, waiting while the server is unreachable: a worker started
    /// before its Redis waits for it like during any outage. A failure that says nothing by
    /// itself (a reset, a reply that is not RESP) is looked at once more with a plain probe,
    /// so that TLS to a plain port, plain to a TLS port and a server that is not Redis each
    /// get their own one-line error instead of an endless wait.
    pub(super) async fn first_connection(&self) -> Result<(), Error> {
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
    pub(super) async fn diagnose(&self, e: &RedisError) -> Option<Error> {
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
    pub(super) async fn check_version(&self) -> Result<(), Error> {
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
