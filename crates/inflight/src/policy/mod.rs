//! Policies on top of the core streams: the [`Inflight`](builder::Inflight) builder, its runs,
//! and what they are made of.
//!
//! The top of the crate. A run is put together in `runs` from the builder's settings: the
//! `gate` admits inputs (the builder's limit, `throttle/`'s per-key limits), each input's
//! `task` makes its attempts (rate, shared limits, timeout, `retry`, `halt`), and `outcomes`,
//! `gathering` and `input_pool` hand the results back. It builds on `streams/` (the engine's
//! streams, `drive`), `primitives/` (input order) and `limits/` (the [`Limiter`](crate::Limiter)
//! and adaptive controller); nothing below imports it.

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
pub(crate) mod outcome;
pub(crate) mod outcomes;
pub(crate) mod progress;
pub(crate) mod retry;
pub(crate) mod runs;
pub(crate) mod task;
pub(crate) mod throttle;
