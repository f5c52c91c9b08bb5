//! [`GlobalRate`]: a GCRA start rate shared by every process, changeable live.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use inflight::Rate;

use crate::connection::Redis;
use crate::error::Error;
use crate::keys::rate_keys;
use crate::scripts;

/// At most `burst + t / interval` starts in any window of length `t`, summed over every
/// process that uses the same name: the promise of the local [`inflight::Rate`], on one Redis
/// key, on Redis's clock.
///
/// Each start takes one round trip: the script reserves the next start time (at most
/// `horizon`, default 1 s, ahead) and the caller sleeps until it; a caller further back asks
/// again when its turn comes within the horizon. Within a process, callers ask one at a time,
/// in arrival order. A caller dropped while it sleeps leaves its start unused (the rate is
/// under-used, never exceeded). A live change ([`GlobalRate::set_rate`]) applies to every
/// start reserved after it, so within one horizon.
///
/// ```no_run
/// # async fn f() -> Result<(), inflight_redis::Error> {
/// use inflight::Rate;
/// use inflight_redis::{GlobalRate, Redis};
/// let redis = Redis::connect("redis://127.0.0.1:6379").await?;
/// let rate = GlobalRate::new(&redis, "api", Rate::per_second(50).burst(5));
/// rate.acquire(None).await?; // now start the job
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct GlobalRate {
    inner: Arc<Inner>,
}

struct Inner {
    redis: Redis,
    name: String,
    keys: Vec<String>,
    default: Rate,
    horizon: Duration,
    /// One local caller at a time asks Redis: local arrival order, and no herd of retries.
    turn: tokio::sync::Mutex<()>,
}

/// A start granted by [`GlobalRate::acquire`]; nothing is held.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateGrant {
    /// The start time Redis reserved, in microseconds since the Unix epoch on its clock.
    pub start_us: u64,
}

impl GlobalRate {
    /// The rate `name`; `rate` applies until a live rate is stored with [`GlobalRate::set_rate`].
    ///
    /// ```no_run
    /// # fn f(redis: inflight_redis::Redis) {
    /// let rate = inflight_redis::GlobalRate::new(&redis, "api", inflight::Rate::per_second(20));
    /// # }
    /// ```
    pub fn new(redis: &Redis, name: &str, rate: Rate) -> GlobalRate {
        GlobalRate::with_horizon(redis, name, rate, Duration::from_secs(1))
    }

    /// With another reservation horizon: how far ahead a start may be reserved. Longer means
    /// fewer round trips for callers far back; shorter means a live change and a cancelled
    /// caller's unused start matter less.
    ///
    /// ```no_run
    /// # fn f(redis: inflight_redis::Redis) {
    /// use std::time::Duration;
    /// let rate = inflight_redis::GlobalRate::with_horizon(
    ///     &redis, "api", inflight::Rate::per_second(20), Duration::from_millis(200));
    /// # }
    /// ```
    pub fn with_horizon(redis: &Redis, name: &str, rate: Rate, horizon: Duration) -> GlobalRate {
        GlobalRate {
            inner: Arc::new(Inner {
                redis: redis.clone(),
                name: name.to_string(),
                keys: rate_keys(name),
                default: rate,
                horizon,
                turn: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Waits until a start is allowed, and takes it. `key` is ignored (one rate for all keys;
    /// the same signature as the limits').
    ///
    /// ```no_run
    /// # async fn f(rate: inflight_redis::GlobalRate) -> Result<(), inflight_redis::Error> {
    /// let grant = rate.acquire(None).await?;
    /// # Ok(()) }
    /// ```
    pub async fn acquire(&self, key: Option<&str>) -> Result<RateGrant, Error> {
        let _ = key;
        let inner = &self.inner;
        let args = vec![
            micros(inner.default.interval()).to_string(),
            inner.default.burst_size().to_string(),
            micros(inner.horizon).to_string(),
        ];
        let (wait_us, start_us) = {
            let _turn = inner.turn.lock().await;
            loop {
                let (reserved, wait_us, start_us): (u8, u64, u64) = inner
                    .redis
                    .script(&scripts::RATE, &inner.keys, &args)
                    .await?;
                if reserved == 1 {
                    break (wait_us, start_us);
                }
                // Still beyond the horizon: sleep holding the turn, so the callers behind
                // this one do not ask in vain meanwhile.
                tokio::time::sleep(Duration::from_micros(wait_us)).await;
            }
        };
        if wait_us > 0 {
            tokio::time::sleep(Duration::from_micros(wait_us)).await;
        }
        Ok(RateGrant { start_us })
    }

    /// Stores a live rate that every process follows from its next start.
    ///
    /// ```no_run
    /// # async fn f(rate: inflight_redis::GlobalRate) -> Result<(), inflight_redis::Error> {
    /// rate.set_rate(inflight::Rate::per_second(100).burst(10)).await?;
    /// # Ok(()) }
    /// ```
    pub async fn set_rate(&self, rate: Rate) -> Result<(), Error> {
        let mut cmd = redis::cmd("HSET");
        cmd.arg(&self.inner.keys[1])
            .arg("interval_us")
            .arg(micros(rate.interval()))
            .arg("burst")
            .arg(rate.burst_size());
        let _: i64 = self.inner.redis.cmd(&cmd).await?;
        Ok(())
    }

    /// Removes the stored rate: each process goes back to the rate it was made with.
    ///
    /// ```no_run
    /// # async fn f(rate: inflight_redis::GlobalRate) -> Result<(), inflight_redis::Error> {
    /// rate.clear_rate().await?;
    /// # Ok(()) }
    /// ```
    pub async fn clear_rate(&self) -> Result<(), Error> {
        let mut cmd = redis::cmd("DEL");
        cmd.arg(&self.inner.keys[1]);
        let _: i64 = self.inner.redis.cmd(&cmd).await?;
        Ok(())
    }

    /// The live rate stored with [`GlobalRate::set_rate`], if any (`None`: every process uses
    /// the rate it was made with).
    ///
    /// ```no_run
    /// # async fn f(rate: inflight_redis::GlobalRate) -> Result<(), inflight_redis::Error> {
    /// let stored: Option<inflight::Rate> = rate.stored_rate().await?;
    /// # Ok(()) }
    /// ```
    pub async fn stored_rate(&self) -> Result<Option<Rate>, Error> {
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(&self.inner.keys[1]).arg("interval_us").arg("burst");
        let (interval, burst): (Option<u64>, Option<u32>) = self.inner.redis.cmd(&cmd).await?;
        Ok(match (interval, burst) {
            (Some(i), Some(b)) if i > 0 && b > 0 => {
                Some(Rate::new(1, Duration::from_micros(i)).burst(b))
            }
            _ => None,
        })
    }

    /// The rate in force: the stored one, else this process's.
    ///
    /// ```no_run
    /// # async fn f(rate: inflight_redis::GlobalRate) -> Result<(), inflight_redis::Error> {
    /// println!("{:?} apart", rate.rate().await?.interval());
    /// # Ok(()) }
    /// ```
    pub async fn rate(&self) -> Result<Rate, Error> {
        Ok(self.stored_rate().await?.unwrap_or(self.inner.default))
    }
}

impl fmt::Debug for GlobalRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GlobalRate")
            .field("name", &self.inner.name)
            .field("default", &self.inner.default)
            .field("horizon", &self.inner.horizon)
            .finish()
    }
}

fn micros(d: Duration) -> u64 {
    d.as_micros().max(1) as u64
}
