//! The separate connection of a blocking command (XREAD BLOCK, BLPOP).

use std::time::Duration;

use redis::aio::ConnectionManager;
use redis::{FromRedisValue, RedisError};

use super::redis::{Attempt, Redis};
use crate::error::{classify, one_line, Error};
use crate::follow::Seen;
use crate::link::{manager_config, Blocking, Conn};

impl Redis {
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
    pub(super) async fn blocking_conn(&self, blocking: &mut Blocking) -> Result<Conn, RedisError> {
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

    pub(super) async fn blocking_cluster(
        &self,
        blocking: &mut Blocking,
    ) -> Result<Conn, RedisError> {
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
}
