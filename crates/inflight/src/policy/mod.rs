//! Policies on top of the core streams: the [`Inflight`](builder::Inflight) builder and what it
//! is made of.

pub(crate) mod builder;
pub(crate) mod event;
pub(crate) mod gate;
pub(crate) mod halt;
pub(crate) mod handle;
pub(crate) mod input_pool;
pub(crate) mod keys;
pub(crate) mod outcome;
pub(crate) mod outcomes;
pub(crate) mod progress;
pub(crate) mod rate;
pub(crate) mod retry;
pub(crate) mod run_mode;
pub(crate) mod task;
