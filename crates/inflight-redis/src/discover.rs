//! What a Redis holds: the queues and the shared limits on it, found by their keys (see the
//! `keys` module), for a dashboard that shows every one.

use crate::connection::Redis;
use crate::error::Error;
use crate::limit::overview::{self, LimitOverview};

impl Redis {
    /// The names of the queues on this Redis (every queue ever pushed to and not deleted),
    /// sorted. One SCAN over the keyspace: call it now and then, not for every reading.
    ///
    /// ```no_run
    /// # async fn f(redis: inflight_redis::Redis) -> Result<(), inflight_redis::Error> {
    /// for name in redis.queue_names().await? {
    ///     let status = inflight_redis::Queue::new(&redis, &name).status().await?;
    ///     println!("{name}: {} of {} done", status.done, status.pushed);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn queue_names(&self) -> Result<Vec<String>, Error> {
        self.names("inflight:queue:{", "}:meta").await
    }

    /// The global concurrency limits on this Redis (every one used since Redis last lost
    /// its data), sorted by name, each with its limit, holders and waiters.
    ///
    /// ```no_run
    /// # async fn f(redis: inflight_redis::Redis) -> Result<(), inflight_redis::Error> {
    /// for l in redis.shared_limits().await? {
    ///     println!("{}: {} held of {:?}, {} waiting", l.name, l.held, l.limit, l.waiting);
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn shared_limits(&self) -> Result<Vec<LimitOverview>, Error> {
        let mut limits = Vec::new();
        for name in self.shared_limit_names().await? {
            limits.push(self.shared_limit(&name).await?);
        }
        Ok(limits)
    }

    /// The names of the global concurrency limits on this Redis, sorted. One SCAN over the
    /// keyspace: call it now and then, and [`Redis::shared_limit`] for each reading.
    ///
    /// ```no_run
    /// # async fn f(redis: inflight_redis::Redis) -> Result<(), inflight_redis::Error> {
    /// let names = redis.shared_limit_names().await?;
    /// # Ok(()) }
    /// ```
    pub async fn shared_limit_names(&self) -> Result<Vec<String>, Error> {
        self.names("inflight:limit:{", "}:epoch").await
    }

    /// The global concurrency limit `name`: its limit, holders and waiters (three round
    /// trips; a name never used reads as no limit, nothing held).
    ///
    /// ```no_run
    /// # async fn f(redis: inflight_redis::Redis) -> Result<(), inflight_redis::Error> {
    /// let api = redis.shared_limit("api").await?;
    /// println!("{} of {:?} held", api.held, api.limit);
    /// # Ok(()) }
    /// ```
    pub async fn shared_limit(&self, name: &str) -> Result<LimitOverview, Error> {
        overview::read(self, name).await
    }

    /// The `NAME`s of the keys `{prefix}NAME{suffix}`, sorted.
    async fn names(&self, prefix: &str, suffix: &str) -> Result<Vec<String>, Error> {
        // In a glob only * ? [ ] and \ are special; names cannot hold them (the CLI allows
        // letters, digits and - _ . : / @ +), but the braces of the hash tag are literal.
        let pattern = format!("{}*{suffix}", glob_escape(prefix));
        let mut names = Vec::new();
        let name_of = |k: &String| {
            let name = k.strip_prefix(prefix)?.strip_suffix(suffix)?;
            (!name.is_empty()).then(|| name.to_string())
        };
        if self.is_cluster() {
            // SCAN walks one node; KEYS goes to every master and their answers are joined
            // (redis-rs routes it so). It blocks each shard for a pass over its keys, as one
            // SCAN round over all of them would take.
            let mut keys = redis::cmd("KEYS");
            keys.arg(&pattern);
            let keys: Vec<String> = self.cmd(&keys).await?;
            names.extend(keys.iter().filter_map(name_of));
            names.sort();
            names.dedup();
            return Ok(names);
        }
        let mut cursor = 0u64;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000);
            let (next, keys): (u64, Vec<String>) = self.cmd(&scan).await?;
            names.extend(keys.iter().filter_map(name_of));
            if next == 0 {
                break;
            }
            cursor = next;
        }
        names.sort();
        names.dedup();
        Ok(names)
    }
}

fn glob_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
