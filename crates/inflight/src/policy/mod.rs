//! Policies on top of the core streams: the [`Inflight`](builder::Inflight) builder, its runs,
//! and what they are made of.

pub(crate) mod attempt;
pub(crate) mod builder;
pub(crate) mod cells;
pub(crate) mod drop_if;
pub(crate) mod event;
pub(crate) mod gate;
pub(crate) mod gathering;
pub(crate) mod give_back;
pub(crate) mod halt;
pub(crate) mod handle;
pub(crate) mod input_pool;
pub(crate) mod keys;
pub(crate) mod outcome;
pub(crate) mod outcomes;
pub(crate) mod progress;
pub(crate) mod rate;
pub(crate) mod retry;
pub(crate) mod runs;
pub(crate) mod shared;
pub(crate) mod task;
