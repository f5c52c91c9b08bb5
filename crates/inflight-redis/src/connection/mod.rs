//! [`Redis`]: one connection to a server shared by every limit and queue of a process, which
//! waits out outages instead of failing (never fail open) and reports them once.

mod blocking;
mod builder;
mod events;
mod failover;
mod first;
mod redis;
mod send;

pub use builder::RedisBuilder;
pub use events::{Health, RedisEvent};
pub(crate) use redis::Attempt;
pub use redis::Redis;
