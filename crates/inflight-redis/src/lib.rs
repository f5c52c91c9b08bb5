//! Shared limits and a work queue on Redis, so that many `inflight` processes on many machines
//! work as one run.
//!
//! - [`GlobalLimit`]: at most `limit` jobs at once across every process (permits with owner
//!   tokens and renewed leases, FIFO waiters woken by BLPOP, a live limit).
//! - [`GlobalRate`]: GCRA on one key, the promise of [`inflight::Rate`] summed over processes.
//! - [`GlobalPerKey`]: the concurrency limit per key (per host), keys made and deleted lazily.
//! - [`Queue`]: inputs in a Redis Stream, workers in a consumer group, results written in the
//!   same atomic step as the acknowledgement, exactly one result per input.
//!
//! Everything goes through one [`Redis`] connection, which waits out outages (never fail
//! open), reports them once, and turns bad URLs, refused passwords and servers older than 6.2
//! into one-line [`Error`]s. Every step is one Lua script on Redis's own clock (`TIME`), sent
//! as EVALSHA with a fallback to loading it after a restart; every step is idempotent, so it
//! is safe to send again after a lost reply. The key layout is in the `keys` module's source
//! (`src/keys.rs`).
//!
//! # Why redis-rs
//!
//! The client is [`redis`] (redis-rs) with tokio and its `ConnectionManager`, not `fred`:
//! - **Maturity**: it is the ecosystem's most used Redis client, maintained under the
//!   redis-rs organisation with Redis Inc.'s involvement; `fred` is good but has one main
//!   maintainer.
//! - **Reconnects**: `ConnectionManager` is a multiplexed connection that reconnects by
//!   itself after an I/O error and is cheap to clone; a failed command comes back as an error
//!   at once instead of being queued silently, which is what lets this crate decide for
//!   itself (wait, report once, time out) rather than have a client retry behind its back.
//! - **Scripts**: `redis::Script` sends EVALSHA and, on NOSCRIPT (a restarted server), loads
//!   the script and sends it again: exactly the fallback wanted, with no code of ours.
//! - **Blocking commands**: BLPOP and XREADGROUP BLOCK would hold up a multiplexed connection,
//!   so they run on separate lazily made connections (one per waiting process and limit, one
//!   per queue worker) with a response timeout longer than the block.
//!
//! # Example
//!
//! ```no_run
//! # async fn f() -> Result<(), inflight_redis::Error> {
//! use inflight_redis::{GlobalLimit, GlobalRate, Redis};
//! let redis = Redis::connect("redis://127.0.0.1:6379").await?;
//! let jobs = GlobalLimit::new(&redis, "api", 20);
//! let rate = GlobalRate::new(&redis, "api", inflight::Rate::per_second(50));
//! let permit = jobs.acquire().await?; // at most 20 at once over every process
//! rate.acquire().await?; // at most 50 starts a second over every process
//! // run the job, then:
//! drop(permit);
//! # Ok(()) }
//! ```

mod connection;
mod error;
mod keys;
mod limit;
mod queue;
mod rate;
mod scripts;
mod stream;

pub use connection::{Health, Redis, RedisBuilder, RedisEvent};
pub use error::{masked_url, Error};
pub use limit::global::{GlobalLimit, LimitState};
pub use limit::options::LimitOptions;
pub use limit::per_key::GlobalPerKey;
pub use limit::permit::LimitPermit;
pub use queue::item::{Acked, QueueItem};
pub use queue::options::QueueOptions;
pub use queue::push::PushReport;
pub use queue::queue::Queue;
pub use queue::results::{DeadLetter, QueueResult, Results};
pub use queue::status::{QueueStatus, WorkerStatus};
pub use queue::worker::Items;
pub use rate::{GlobalRate, RateGrant};
