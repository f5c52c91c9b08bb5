//! The options of `exec` and `fetch` that reach past one process: `--redis`, the shared limits
//! (`--global-*`) and the work queue (`--queue`). Declared here, flattened into `Common`, so
//! that the rest of the command line stays as it was; and [`NameArgs`], the queue and Redis that
//! every `inflight queue` subcommand names.
use std::time::Duration;

use clap::Args;

use crate::helpers::parse;

/// Where Redis is, and how long an outage may last: shared by every command that uses it.
#[derive(Args, Debug, Clone, Default)]
pub struct Connection {
    /// The Redis server that processes and machines share limits and queues through:
    /// `redis://[:PASSWORD@]HOST[:PORT][/DB]` or `redis+unix:///PATH`. The password is masked
    /// in every message; give it in INFLIGHT_REDIS to keep it out of `ps` too.
    #[arg(
        long,
        help_heading = HEADING,
        value_name = "URL",
        env = "INFLIGHT_REDIS",
        hide_env_values = true
    )]
    pub redis: Option<String>,

    /// Give up after Redis has been unreachable this long: no more jobs start, running ones
    /// finish and are logged, and the exit status is 255 [default: wait for Redis for ever].
    #[arg(long, help_heading = HEADING, value_name = "DURATION", value_parser = parse::duration)]
    pub redis_timeout: Option<Duration>,
}

/// `--redis` and what uses it, for `exec` and `fetch`.
#[derive(Args, Debug, Clone, Default)]
pub struct RedisArgs {
    #[command(flatten)]
    pub connection: Connection,

    /// The name of the shared limits: processes that give the same NAME on the same Redis
    /// share them [default: the queue's name with --queue, else `inflight`].
    #[arg(long, help_heading = HEADING, value_name = "NAME", value_parser = name)]
    pub name: Option<String>,

    /// At most N jobs at once over every process that shares the limits (-j still caps
    /// this one).
    #[arg(long, help_heading = HEADING, value_name = "N", value_parser = parse::limit)]
    pub global_jobs: Option<usize>,

    /// At most this many attempt starts per period over every process, evenly spaced (same
    /// syntax as --rate: 50/s, 100/m).
    #[arg(long, help_heading = HEADING, value_name = "N/PERIOD", value_parser = parse::rate)]
    pub global_rate: Option<Duration>,

    /// Lease of the shared permits and of queue inputs: a process that dies loses them after
    /// this long; a live one renews them every third of it [default: 30s for permits, 60s
    /// for queue inputs].
    #[arg(long, help_heading = HEADING, value_name = "DURATION", value_parser = lease)]
    pub lease: Option<Duration>,

    /// Take the inputs from the queue NAME (see `inflight queue`) instead of stdin, as slots
    /// free up; each finished input's record goes to the queue's results with its
    /// acknowledgement. Exits when the queue is closed and every input is done.
    #[arg(long, help_heading = HEADING, value_name = "NAME", value_parser = name)]
    pub queue: Option<String>,

    /// With --queue: an input handed out this many times without a result (it killed its
    /// worker each time) goes to the dead letters.
    #[arg(long, help_heading = HEADING, value_name = "N", value_parser = parse::limit, default_value = "3")]
    pub max_deliveries: usize,

    /// With --queue: inputs taken per read from Redis. More saves round trips, but the extra
    /// inputs wait in this worker's hands instead of going to an idle one.
    #[arg(long, help_heading = HEADING, value_name = "N", value_parser = parse::limit, default_value = "1")]
    pub read_batch: usize,

    /// With --queue: this worker's name in the results and the status (unique among live
    /// workers) [default: host-pid-random].
    #[arg(long, help_heading = HEADING, value_name = "NAME", value_parser = name)]
    pub worker: Option<String>,
}

/// `fetch`'s own shared limit.
#[derive(Args, Debug, Clone, Default)]
pub struct FetchRedisArgs {
    /// At most N requests at once to one host (host:port, as --per-host) over every process
    /// that shares the limits.
    #[arg(long, help_heading = HEADING, value_name = "N", value_parser = parse::limit)]
    pub global_per_host: Option<usize>,
}

impl RedisArgs {
    /// The name of the shared limits.
    pub fn limits_name(&self) -> String {
        self.name
            .clone()
            .or_else(|| self.queue.clone())
            .unwrap_or_else(|| DEFAULT_NAME.to_string())
    }
}

/// The heading of these options in `--help`.
const HEADING: &str = "More than one machine (Redis)";

/// The shared limits' name when neither --name nor --queue gives one.
pub const DEFAULT_NAME: &str = "inflight";

/// A limit's or queue's name: it goes into Redis keys inside a hash tag (`{NAME}`), so it
/// holds no braces, spaces or control characters.
pub fn name(s: &str) -> Result<String, String> {
    if s.is_empty() || s.len() > 200 {
        return Err("must be 1 to 200 characters".into());
    }
    match s
        .chars()
        .find(|c| !(c.is_alphanumeric() || matches!(c, '-' | '_' | '.' | ':' | '/' | '@' | '+')))
    {
        Some(c) => Err(format!(
            "'{}' is not allowed in a name (letters, digits and - _ . : / @ +)",
            c.escape_default()
        )),
        None => Ok(s.to_string()),
    }
}

/// A lease: at least a second, so that renewals every third of it are not a flood.
pub fn lease(s: &str) -> Result<Duration, String> {
    let d = parse::duration(s)?;
    if d < Duration::from_secs(1) {
        return Err("a lease must be at least 1s".into());
    }
    Ok(d)
}

/// A queue and its Redis.
#[derive(Args, Debug)]
pub struct NameArgs {
    /// The queue's name.
    #[arg(value_name = "NAME", value_parser = name)]
    pub name: String,

    #[command(flatten)]
    pub connection: Connection,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name("crawl-2024.v1"), Ok("crawl-2024.v1".into()));
        assert!(name("").is_err());
        assert!(name("a}b").unwrap_err().contains("'}'"));
        assert!(name("a b").is_err());
        assert!(name(&"x".repeat(201)).is_err());
    }

    #[test]
    fn leases() {
        assert_eq!(lease("2s"), Ok(Duration::from_secs(2)));
        assert!(lease("500ms").is_err());
    }
}
