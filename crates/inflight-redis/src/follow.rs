//! Opening the shared connection for each layout, and noticing a failover: for Sentinel,
//! the sentinels name another master (then a connection to it replaces the old one); for a
//! Cluster, a node that was not a master serves slots now (the cluster client follows it by
//! itself; this only tells). Knows nothing of [`crate::Redis`]: it is handed the [`Link`]
//! and what was seen last, and says what it finds.

use std::collections::BTreeMap;
use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::RedisError;

use crate::endpoint::Mode;
use crate::link::{manager_config, Conn, Link};
use crate::sentinel::{find_master, Found};

/// Where the data lives, as last seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum Seen {
    /// One server, whatever it is.
    #[default]
    Single,
    /// Sentinel's master, at this address.
    Master(String, u16),
    /// A Cluster's serving masters: node id → address.
    Masters(BTreeMap<String, String>),
}

/// Why opening failed.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// From redis-rs, to be sorted by the caller (transient or not).
    Redis(RedisError),
    /// The sentinels refused for good (unknown master name, not a sentinel, ...).
    Sentinel(String),
    /// No sentinel answered.
    SentinelAway(String),
    /// The sentinels' master is no master (yet): ask again.
    NotMaster(String),
}

impl From<RedisError> for OpenError {
    fn from(e: RedisError) -> Self {
        OpenError::Redis(e)
    }
}

/// Opens the shared connection and says where it went.
pub(crate) async fn open(
    link: &Link,
    response_timeout: Duration,
) -> Result<(Conn, Seen), OpenError> {
    match &link.endpoint.mode {
        Mode::Single => {
            let client = link.client(None)?;
            let conn = ConnectionManager::new_with_config(client, manager_config(response_timeout))
                .await?;
            Ok((Conn::Single(conn), Seen::Single))
        }
        Mode::Sentinel { .. } => {
            let (host, port) =
                match find_master(link, response_timeout.min(Duration::from_secs(2))).await {
                    Found::Master(h, p) => (h, p),
                    Found::Refused(why) => return Err(OpenError::Sentinel(why)),
                    Found::Away(why) => return Err(OpenError::SentinelAway(why)),
                };
            let conn = master(link, &host, port, response_timeout).await?;
            Ok((conn, Seen::Master(host, port)))
        }
        Mode::Cluster => {
            let conn = link.cluster(response_timeout).await?;
            let masters = masters(&conn).await?;
            Ok((conn, Seen::Masters(masters)))
        }
    }
}

/// A connection to Sentinel's master, checked to be one (a just-demoted or not yet promoted
/// node says `slave`).
pub(crate) async fn master(
    link: &Link,
    host: &str,
    port: u16,
    response_timeout: Duration,
) -> Result<Conn, OpenError> {
    let client = link.client(Some(&(host.to_string(), port)))?;
    let mut conn =
        ConnectionManager::new_with_config(client, manager_config(response_timeout)).await?;
    let role: Vec<redis::Value> = redis::cmd("ROLE").query_async(&mut conn).await?;
    match role.first() {
        Some(redis::Value::BulkString(r)) if r == b"master" => Ok(Conn::Single(conn)),
        _ => Err(OpenError::NotMaster(format!(
            "{host}:{port} is not a master yet"
        ))),
    }
}

/// A Cluster's serving masters (flag `master`, not `fail`), from `CLUSTER NODES` on any node.
pub(crate) async fn masters(conn: &Conn) -> Result<BTreeMap<String, String>, RedisError> {
    let Conn::Cluster(cluster) = conn else {
        return Ok(BTreeMap::new());
    };
    let mut cluster = cluster.clone();
    let value = cluster
        .route_command(
            redis::cmd("CLUSTER").arg("NODES").clone(),
            RoutingInfo::SingleNode(SingleNodeRoutingInfo::Random),
        )
        .await?;
    let text: String = redis::from_redis_value(value)?;
    Ok(parse_masters(&text))
}

/// The serving masters in `CLUSTER NODES` output.
pub(crate) fn parse_masters(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let id = fields.next()?;
            let addr = fields.next()?;
            let flags = fields.next()?;
            let flags: Vec<&str> = flags.split(',').collect();
            let serving = flags.contains(&"master") && !flags.iter().any(|f| f.starts_with("fail"));
            let addr = addr.split('@').next().unwrap_or(addr);
            serving.then(|| (id.to_string(), addr.to_string()))
        })
        .collect()
}

/// What a look after a failure found.
pub(crate) enum Moved {
    /// Nothing new.
    No,
    /// Another master: a new connection for Sentinel (`Some`), or the Cluster's own (`None`);
    /// the new layout; the new master's address.
    To(Option<Conn>, Seen, String),
}

/// Looks whether the master moved since `seen`.
pub(crate) async fn look(
    link: &Link,
    seen: &Seen,
    conn: &Conn,
    response_timeout: Duration,
) -> Moved {
    match seen {
        Seen::Single => Moved::No,
        Seen::Master(old_host, old_port) => {
            let Found::Master(host, port) = find_master(link, Duration::from_secs(1)).await else {
                return Moved::No;
            };
            if (&host, port) == (old_host, *old_port) {
                return Moved::No;
            }
            match master(link, &host, port, response_timeout).await {
                Ok(conn) => {
                    let at = format!("{host}:{port}");
                    Moved::To(Some(conn), Seen::Master(host, port), at)
                }
                Err(_) => Moved::No,
            }
        }
        Seen::Masters(old) => {
            let Ok(now) = masters(conn).await else {
                return Moved::No;
            };
            if now == *old || now.is_empty() {
                return Moved::No;
            }
            match now.iter().find(|(id, _)| !old.contains_key(*id)) {
                Some((_, addr)) => {
                    let addr = addr.clone();
                    Moved::To(None, Seen::Masters(now), addr)
                }
                // A master is gone (failed) and none new serves yet: keep the old view, so
                // that its successor is seen as new when it comes.
                None => Moved::No,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_nodes() {
        let text = "\
a1 127.0.0.1:7000@17000 myself,master - 0 0 1 connected 0-5460
b2 127.0.0.1:7001@17001 master,fail - 0 0 2 disconnected
c3 127.0.0.1:7002@17002 slave a1 0 0 1 connected
d4 127.0.0.1:7003@17003 master - 0 0 3 connected 5461-16383
";
        let m = parse_masters(text);
        assert_eq!(m.len(), 2);
        assert_eq!(m["a1"], "127.0.0.1:7000");
        assert_eq!(m["d4"], "127.0.0.1:7003");
    }
}
