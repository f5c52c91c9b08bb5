//! [`Link`]: how this process reaches the Redis a URL names, behind one connection type
//! ([`Conn`]) that limits and queues use unchanged: one server through redis-rs's
//! `ConnectionManager`, a Cluster through its cluster client (which follows MOVED and ASK
//! and re-reads the slots after a shard fails over), or the master that Sentinel names,
//! asked again after every failure so that a promoted replica is followed.

use std::time::Duration;

use redis::aio::{ConnectionLike, ConnectionManager};
use redis::cluster::ClusterClientBuilder;
use redis::cluster_async::ClusterConnection;
use redis::{
    Client, Cmd, ConnectionAddr, ConnectionInfo, IntoConnectionInfo, Pipeline, RedisConnectionInfo,
    RedisFuture, TlsCertificates, Value,
};

use crate::endpoint::{Endpoint, Mode};

/// A connection to a data node (or to a Cluster), cheap to clone.
#[derive(Clone)]
pub(crate) enum Conn {
    /// One server (or Sentinel's current master).
    Single(ConnectionManager),
    /// A Cluster.
    Cluster(ClusterConnection),
}

impl ConnectionLike for Conn {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Conn::Single(c) => c.req_packed_command(cmd),
            Conn::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Conn::Single(c) => c.req_packed_commands(pipeline, offset, count),
            Conn::Cluster(c) => c.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Conn::Single(c) => c.get_db(),
            Conn::Cluster(c) => c.get_db(),
        }
    }
}

/// A connection of its own for blocking commands (BLPOP, XREADGROUP BLOCK), made on first
/// use and made again when the master moved (a failover), so that a waiter follows it too.
pub(crate) struct Blocking {
    pub(crate) conn: Option<Conn>,
    /// The failover count when it was made.
    pub(crate) generation: u64,
    pub(crate) response_timeout: Duration,
}

/// What the URL and TLS files make: how to reach the data nodes.
pub(crate) struct Link {
    pub(crate) endpoint: Endpoint,
    /// The URL as given, for [`Mode::Single`] (redis-rs reads it).
    url: String,
    certs: Option<TlsCertificates>,
}

impl Link {
    pub(crate) fn new(endpoint: Endpoint, url: &str, certs: Option<TlsCertificates>) -> Link {
        Link {
            endpoint,
            url: url.to_string(),
            certs,
        }
    }

    /// The redis-rs client for one server: the URL's for [`Mode::Single`], else the node at
    /// `addr` with the URL's credentials and database.
    pub(crate) fn client(&self, addr: Option<&(String, u16)>) -> redis::RedisResult<Client> {
        let info: ConnectionInfo = match addr {
            None => self.url.as_str().into_connection_info()?,
            Some(node) => self.node_info(node, self.endpoint.tls)?,
        };
        match (
            &self.certs,
            matches!(info.addr(), ConnectionAddr::TcpTls { .. }),
        ) {
            (Some(certs), true) => Client::build_with_tls(info, certs.clone()),
            _ => Client::open(info),
        }
    }

    /// A data node's (or a sentinel's) connection settings.
    pub(crate) fn node_info(
        &self,
        (host, port): &(String, u16),
        tls: bool,
    ) -> redis::RedisResult<ConnectionInfo> {
        let addr = if tls {
            ConnectionAddr::TcpTls {
                host: host.clone(),
                port: *port,
                insecure: false,
                tls_params: None,
            }
        } else {
            ConnectionAddr::Tcp(host.clone(), *port)
        };
        let mut redis = RedisConnectionInfo::default().set_db(self.endpoint.db);
        if let Some(user) = &self.endpoint.user {
            redis = redis.set_username(user);
        }
        if let Some(pw) = &self.endpoint.password {
            redis = redis.set_password(pw);
        }
        Ok(addr.into_connection_info()?.set_redis_settings(redis))
    }

    /// A Cluster connection through the seeds, with one quick try inside the client (the
    /// retrying, its report and its timeout are ours).
    pub(crate) async fn cluster(&self, response_timeout: Duration) -> redis::RedisResult<Conn> {
        let seeds = self
            .endpoint
            .nodes
            .iter()
            .map(|n| self.node_info(n, self.endpoint.tls))
            .collect::<Result<Vec<_>, _>>()?;
        // No retries inside the client: a request cut off while a shard fails over comes back
        // to the crate, which looks for the promoted master before sending a grant again.
        let mut builder = ClusterClientBuilder::new(seeds)
            .retries(0)
            .min_retry_wait(50)
            .max_retry_wait(500)
            .connection_timeout(Duration::from_secs(2))
            .response_timeout(response_timeout);
        if let Some(user) = &self.endpoint.user {
            builder = builder.username(user);
        }
        if let Some(pw) = &self.endpoint.password {
            builder = builder.password(pw);
        }
        if self.endpoint.tls {
            builder = builder.tls(redis::TlsMode::Secure);
            if let Some(certs) = &self.certs {
                builder = builder.certs(certs.clone());
            }
        }
        let client = builder.build()?;
        Ok(Conn::Cluster(client.get_async_connection().await?))
    }

    /// The TLS files' contents, if any were given.
    pub(crate) fn certs(&self) -> Option<&TlsCertificates> {
        self.certs.as_ref()
    }

    /// The first data node's address (or the first sentinel's), for a probe.
    pub(crate) fn first_address(&self) -> Option<(String, u16)> {
        if self.endpoint.mode != Mode::Single {
            return self.endpoint.nodes.first().cloned();
        }
        let info = self.url.as_str().into_connection_info().ok()?;
        match info.addr() {
            ConnectionAddr::Tcp(host, port) => Some((host.clone(), *port)),
            ConnectionAddr::TcpTls { host, port, .. } => Some((host.clone(), *port)),
            _ => None,
        }
    }

    /// Whether the data nodes are spoken to over TLS.
    pub(crate) fn is_tls(&self) -> bool {
        self.endpoint.tls || self.url.to_ascii_lowercase().starts_with("rediss://")
    }

    /// Whether a failover can move the master under this process (Sentinel, Cluster).
    pub(crate) fn follows_failover(&self) -> bool {
        !matches!(self.endpoint.mode, Mode::Single)
    }
}

/// The reconnection settings of a `ConnectionManager`: one quick try inside the manager,
/// since the retrying (with its outage report and timeout) is ours.
pub(crate) fn manager_config(response_timeout: Duration) -> redis::aio::ConnectionManagerConfig {
    redis::aio::ConnectionManagerConfig::new()
        .set_number_of_retries(1)
        .set_min_delay(Duration::from_millis(50))
        .set_max_delay(Duration::from_millis(500))
        .set_connection_timeout(Some(Duration::from_secs(2)))
        .set_response_timeout(Some(response_timeout))
}
