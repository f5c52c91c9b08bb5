//! `--redis` and the shared limits of `exec` and `fetch`: the connection (whose outages are
//! said once, on stderr and on the bar) and `--global-jobs`, `--global-rate` and
//! `--global-per-host` plugged into the run's builder. The local `-j` still applies; the
//! global limits cap the sum over every process that gives the same `--name`.
use std::sync::Arc;
use std::time::Duration;

use inflight::{Inflight, Rate};
use inflight_redis::{GlobalLimit, GlobalPerKey, GlobalRate, LimitOptions, Redis, RedisEvent};

use crate::helpers::say;
use crate::redis::options::{Connection, RedisArgs};
use crate::run::progress::Progress;

/// Connects to `--redis`, checking the URL, the password and the server's version (each a
/// one-line error). An unreachable server is waited for (said once), up to `--redis-timeout`.
/// Outages and lost leases during the run are said on stderr and on the bar.
pub async fn connect(
    connection: &Connection,
    url: &str,
    progress: Progress,
    waiting: &'static str,
) -> Result<Redis, String> {
    let masked = inflight_redis::masked_url(url);
    let events = Events {
        url: masked,
        waiting,
        progress,
        lost_said: Default::default(),
    };
    Redis::builder(url)
        .outage_timeout(connection.redis_timeout)
        .on_event(move |event| events.said(event))
        .connect()
        .await
        .map_err(|e| e.to_string())
}

/// How a run says what Redis does.
struct Events {
    url: String,
    /// Who waits during an outage: "jobs wait", "push waits".
    waiting: &'static str,
    progress: Progress,
    /// A lost lease is said once per run: after a long outage there may be many.
    lost_said: std::sync::atomic::AtomicBool,
}

impl Events {
    fn said(&self, event: &RedisEvent) {
        let line = match event {
            RedisEvent::Down { error } => {
                self.progress.note("waiting for Redis");
                format!(
                    "inflight: Redis at {} is unreachable ({error}); {} for it",
                    self.url, self.waiting
                )
            }
            RedisEvent::Up { after } => {
                self.progress.note("");
                format!(
                    "inflight: Redis at {} is back after {:.1}s",
                    self.url,
                    after.as_secs_f64()
                )
            }
            RedisEvent::PermitLost { limit } => {
                if self
                    .lost_said
                    .swap(true, std::sync::atomic::Ordering::Relaxed)
                {
                    return;
                }
                format!(
                    "inflight: a permit of the shared limit {limit} ran out while its job ran \
                     (cut off from Redis for longer than --lease); the limit may be exceeded \
                     by such jobs until they end"
                )
            }
            RedisEvent::DataLost { limit, grace } => {
                format!(
                    "inflight: Redis lost the data of the shared limit {limit} (restarted \
                     without persistence?); no new job starts for up to {:.0}s (--lease), \
                     until the places held before are known to be free",
                    grace.as_secs_f64()
                )
            }
            RedisEvent::ItemLost { queue, position } => format!(
                "inflight: input {} of queue {queue} ran past its lease without a renewal; \
                 another worker may run it too (its result is recorded once)",
                position + 1
            ),
            _ => return,
        };
        self.progress.suspend(|| say::line(&line));
    }
}

/// What the run's builder gets from `--global-jobs`, `--global-rate` and `--global-per-host`.
pub struct Plugs {
    pub limit: Option<GlobalLimit>,
    pub rate: Option<GlobalRate>,
    pub per_key: Option<GlobalPerKey>,
}

impl Plugs {
    /// The shared limits the options ask for, named `--name`.
    pub fn new(redis: &Redis, args: &RedisArgs, global_per_host: Option<usize>) -> Plugs {
        let name = args.limits_name();
        let mut options = LimitOptions::default();
        if let Some(lease) = args.lease {
            options = options.lease(lease);
        }
        Plugs {
            limit: args
                .global_jobs
                .map(|n| GlobalLimit::with_options(redis, &name, n as u64, options)),
            rate: args
                .global_rate
                .map(|every| GlobalRate::new(redis, &name, Rate::new(1, every))),
            per_key: global_per_host
                .map(|n| GlobalPerKey::with_options(redis, &name, n as u64, options)),
        }
    }

    /// Whether any shared limit is asked for.
    pub fn any(&self) -> bool {
        self.limit.is_some() || self.rate.is_some() || self.per_key.is_some()
    }

    /// Adds them to a builder: a job holds its host's place and a place of the global limit
    /// from its start to its end; every attempt takes a start of the global rate.
    pub fn plug(self) -> Box<dyn FnOnce(Inflight) -> Inflight + Send> {
        Box::new(move |mut builder: Inflight| {
            if let Some(per_key) = self.per_key {
                builder = builder.shared_per_key(Arc::new(per_key));
            }
            if let Some(limit) = self.limit {
                builder = builder.shared_limit(limit);
            }
            if let Some(rate) = self.rate {
                builder = builder.shared_rate(rate);
            }
            builder
        })
    }
}

/// At the end of a run, how long to wait for the releases under way: a place not given back
/// is lost to the other processes until its lease runs out.
pub const FLUSH: Duration = Duration::from_secs(5);

/// The feed of a run with shared limits and no queue: nothing to do per input; at the end,
/// waits for the releases of the last permits (dropped, so released in the background).
pub struct Settle(pub Redis);

impl crate::run::feed::Feed for Settle {
    fn finished(&self, _record: &crate::run::log::Record) {}
    fn unstarted(&self, _seq: u64) {}
    fn close(&self) -> futures::future::BoxFuture<'static, ()> {
        let redis = self.0.clone();
        Box::pin(async move {
            redis.flush(FLUSH).await;
            say_trips(&redis);
        })
    }
}

/// With `INFLIGHT_REDIS_TRIPS` set (for measurements, see BENCHMARKS.md), says how many
/// commands and scripts the run sent to Redis, each one round trip.
pub fn say_trips(redis: &Redis) {
    if std::env::var_os("INFLIGHT_REDIS_TRIPS").is_some() {
        say::line(&format!(
            "inflight: {} Redis round trips",
            redis.round_trips()
        ));
    }
}

/// The default lease of queue inputs, when `--lease` does not say.
pub const QUEUE_LEASE: Duration = Duration::from_secs(60);
