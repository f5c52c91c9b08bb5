//! Shared limits and a work queue on Redis, so that many `inflight` processes on many machines
//! work as one run.
//!
//! - [`GlobalLimit`]: at most `limit` jobs at once across every process (permits with owner
//!   tokens and renewed leases, FIFO waiters woken by BLPOP, a live limit).
//! - [`GlobalRate`]: GCRA on one key, the promise of [`inflight::Rate`] summed over processes.
//! - [`GlobalPerKey`]: the concurrency limit per key (per host), keys made and deleted lazily.
//! - [`Queue`]: inputs in a Redis Stream, workers in a consumer group, results written in the
//!   same atomic step as the acknowledgement, exactly one result per input.
//! - What a dashboard shows: [`Redis::queue_names`], [`Queue::overview`] (status, workers with
//!   their tallies and hosts, the latest failures and dead letters), [`Redis::shared_limits`].
//!
//! Everything goes through one [`Redis`] connection, which waits out outages (never fail
//! open), reports them once, and turns bad URLs, refused credentials, refused certificates,
//! servers that are not Redis and servers older than 6.2 into one-line [`Error`]s.
//!
//! # The servers a URL names
//!
//! | URL | what |
//! | --- | --- |
//! | `redis://[USER[:PASSWORD]@]HOST[:PORT][/DB]` | one server; `USER` is an ACL user |
//! | `rediss://...` | the same over TLS (rustls; [`TlsFiles`] for a CA and a client certificate, else the system's roots) |
//! | `redis+unix:///PATH[?db=N&pass=PW]` | one server on a Unix socket |
//! | `redis+sentinel://[USER[:PASSWORD]@]HOST:PORT[,HOST:PORT...]/MASTER_NAME[/DB]` | the master the sentinels name, followed when they promote another (`rediss+sentinel://`: TLS to the sentinels and the data nodes) |
//! | `redis+cluster://[USER[:PASSWORD]@]HOST:PORT[,HOST:PORT...]` | a Redis Cluster; the nodes listed are seeds (`rediss+cluster://`: TLS) |
//!
//! A `redis://` URL that reaches a Cluster node fails at once, saying to use
//! `redis+cluster://`; one that reaches a replica says to give the master or a sentinel. On
//! a Cluster every key of a limit or a queue shares its hash tag (`{NAME}`), so each lives
//! whole on one shard and its scripts stay atomic; different names spread over the shards. Every step is one Lua script on Redis's own clock (`TIME`), sent
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
//! # What is promised, and how
//!
//! - **Limit never exceeded by live holders**: a grant is one script that counts the live
//!   leases (`holders`, a sorted set of token → lease end on Redis's clock) against the limit.
//! - **Dead holders**: a holder renews its leases every third of a lease; a dead one's leases
//!   run out, and the next script purges them, so capacity comes back within one lease (plus
//!   the next waiter's poll, 1 s by default).
//! - **Someone else's permit**: release and renewal name their own random token; they can
//!   neither free nor extend another's. Releasing twice, late or with a forged token is a
//!   no-op that says `false`.
//! - **A holder that stalls past its lease** (a pause, a cut-off longer than the lease): its
//!   place goes to a waiter; when it comes back its renewal finds the place gone, the permit
//!   says [`LimitPermit::is_lost`] and a [`RedisEvent::PermitLost`] is reported. The job is not
//!   stopped, so the limit is exceeded by that one job until it ends. If no one waits and there
//!   is room, the renewal takes the place back instead. Choose a lease well above the pauses
//!   and outages you expect (the default is 30 s).
//! - **Fairness**: every waiter has an arrival number in Redis; a place is granted only when
//!   every waiter ahead could be granted too. Waiters that stop asking (a dead process) leave
//!   the queue after three polls.
//! - **No busy polling**: a release pushes the next waiters' tokens onto their client's wake
//!   list; each process blocks on its own list with BLPOP on a separate connection. Waiters
//!   also ask again once a poll, the fallback for a dead holder or a lost wake-up.
//! - **Outages** never fail open: operations wait and retry, the outage is reported once
//!   ([`RedisEvent::Down`], then [`RedisEvent::Up`]), and an outage timeout turns a long one
//!   into [`Error::Unreachable`]. Scripts are idempotent (a grant is keyed by its token, an ack
//!   by the input's done bit), so a retry after a lost reply does no harm.
//! - **Restart that lost the data** (no persistence): each limit keeps a random *epoch* key.
//!   A process that knew the epoch and finds it gone has seen the loss; it sets a grace period
//!   of one lease during which nothing is granted, and every holder's next renewal (retried
//!   every 200 ms during the outage) re-registers its permits. So the limit holds, unless a
//!   process that never used the limit before the loss asks first: it cannot tell a fresh
//!   Redis from an emptied one, and may be granted up to the limit next to the running
//!   holders (at most twice the limit, until those holders finish). A restart with
//!   `appendonly yes` keeps everything, and a live limit set before a loss is lost with it.
//! - **Failover** (Sentinel promotes the replica after the master died, or a Cluster shard
//!   fails over): the connection finds the new master (asking the sentinels again after
//!   each failure; the Cluster client re-reads the slots) and every operation goes on there,
//!   said once as [`RedisEvent::FailedOver`] between [`RedisEvent::Down`] and
//!   [`RedisEvent::Up`]. Replication is asynchronous, so the new master may lack the last
//!   grants of the old one. A process that followed a failover starts a new epoch for each
//!   limit it uses before its next grant or renewal (once over every process: the first one
//!   to come does it), with a grace period of one lease in which nothing is granted, as after
//!   a data loss: every live holder renews within a third of a lease and re-registers its
//!   places, so the limit holds. No grant of this process reaches a new master before that
//!   (a grant carries the failover count it was prepared under). It costs nothing per job
//!   (no extra round trip, no `WAIT`); a failover costs new starts one lease.
//!   On a Cluster, the client's own retries are off and a grant after an outage first looks
//!   for a promoted master (`CLUSTER NODES`), so the first grant a promoted replica sees
//!   comes after the new epoch.
//!   The bends: a process that connected only after the failover and asks before any process
//!   that saw it cannot know, as after a data loss; on a Cluster, a node whose gossip has not
//!   yet heard of the promotion may answer that look, letting one grant through before the
//!   grace; and a queue input pushed, or a result written, in the
//!   last moment before the master died may be missing from the new master (an input's
//!   acknowledgement lost with it is run again and gets its one result; a lost push is not
//!   there at all: push again, a rerun skips what is in).
//! - **Rate**: GCRA with reservations (see [`GlobalRate`]): the start times Redis hands out
//!   keep `burst + t / interval` for any window `t`; starts seen by the processes can come
//!   later than reserved (scheduling), never earlier.
//! - **Queue**: execution at least once, results exactly once. An input's result and its
//!   acknowledgement are one script; a bitmap keeps one bit per input position, set by the
//!   first result (or the dead letter), and a later finisher of the same input only
//!   acknowledges (its ack says [`Acked::Duplicate`]). Push is keyed by position: a rerun
//!   skips what is in. Acknowledged inputs are deleted from the inputs stream, so Redis holds
//!   at most `max_pending` untaken inputs plus those in flight, plus the results and one bit
//!   per input. With persistence off, a restart loses the queue: run it with `appendonly yes`.
//!   A take whose reply an outage cut off (Redis ran it, the worker never heard) leaves inputs
//!   pending for that worker that it does not know of; after any outage a worker looks for
//!   such inputs in Redis and takes them up itself, so they do not wait a lease for another.
//!   A stopping worker gives back everything it holds at once ([`Queue::give_back_worker`]),
//!   and [`Redis::flush`] waits for the releases that drops left in the background.
//! - **A queue that goes away**: the first push gives a queue a random id, which every handle
//!   learns from its first step and every script checks before it writes. A queue deleted
//!   ([`Queue::delete`]) or lost with Redis's data (a restart without persistence, FLUSHALL)
//!   then fails every step of the handles that knew it with [`Error::QueueDeleted`] or
//!   [`Error::QueueLost`] (said once as a [`RedisEvent`]), and no late write of theirs makes
//!   its keys again; a delete leaves the deleted id in a marker key for an hour, which tells
//!   the two apart. A queue that does not exist is [`Error::NoQueue`] to readers and
//!   [`Queue::close`], and a worker waits for it ([`RedisEvent::QueueMissing`]).
//! - **Worker names**: a handle owns the names its streams use; a stream whose name another
//!   handle's live worker uses (a heartbeat within its lease) ends with
//!   [`Error::WorkerNameTaken`]. Given-back inputs wait under no worker, so the status counts
//!   them as waiting; workers gone without a word leave the status after [`FORGET_AFTER`]
//!   leases.
//!
//! # Example
//!
//! ```no_run
//! # async fn f() -> Result<(), inflight_redis::Error> {
//! use inflight_redis::{GlobalLimit, GlobalRate, Redis};
//! let redis = Redis::connect("redis://127.0.0.1:6379").await?;
//! let jobs = GlobalLimit::new(&redis, "api", 20);
//! let rate = GlobalRate::new(&redis, "api", inflight::Rate::per_second(50));
//! let permit = jobs.acquire(None).await?; // at most 20 at once over every process
//! rate.acquire(None).await?; // at most 50 starts a second over every process
//! // run the job, then:
//! drop(permit);
//! # Ok(()) }
//! ```

mod connection;
mod diagnose;
mod discover;
mod endpoint;
mod error;
mod follow;
mod keys;
mod limit;
mod link;
mod queue;
mod rate;
mod scripts;
mod sentinel;
mod shared;
mod stream;
mod tls;

pub use connection::{Health, Redis, RedisBuilder, RedisEvent};
pub use error::{masked_url, Error};
pub use limit::global::{GlobalLimit, LimitState};
pub use limit::options::LimitOptions;
pub use limit::overview::LimitOverview;
pub use limit::per_key::GlobalPerKey;
pub use limit::permit::LimitPermit;
pub use queue::item::{Acked, QueueItem};
pub use queue::options::{QueueOptions, MAX_TAKE};
pub use queue::overview::{QueueOverview, WorkerOverview};
pub use queue::push::{PushReport, LINGER};
pub use queue::queue::Queue;
pub use queue::results::{DeadLetter, QueueResult, Results};
pub use queue::status::{QueueStatus, WorkerStatus, FORGET_AFTER};
pub use queue::worker::Items;
pub use rate::{GlobalRate, RateGrant};
pub use tls::TlsFiles;
