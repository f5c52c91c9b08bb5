//! The run loop both commands share: inputs in, jobs through the library's policy builder,
//! outputs and log records out.
//!
//! At the bottom, `job` holds what every other file here and every command builds on: the
//! [`job::Job`] trait that `exec` and `fetch` implement, the [`job::Input`] an attempt gets,
//! the [`job::Finished`] record and output it hands back, and the run's [`job::Shared`] state.
//! On it: `runner` (the loop and its [`runner::Settings`]), `writer` (output on a thread of
//! its own), `signals` (Ctrl-C, TERM), `keep_order` (`-k`), and the pieces of the options
//! each owns: `input` (lines), `jobs` (`-j`), `halt`, `retry`, `log` (`--log`, `--resume`),
//! `progress` (the bar), `spool` (captured output), `feed` (a source told of each input's end)
//! and `tally` (counts and the exit status).
//!
//! Needs only `helpers` and the library: nothing here knows `exec`, `fetch` or Redis, which
//! plug into [`runner::Settings`] (`plug`, `feed`) instead.
pub(crate) mod feed;
pub(crate) mod halt;
pub(crate) mod input;
pub(crate) mod job;
pub(crate) mod jobs;
mod keep_order;
pub(crate) mod log;
pub(crate) mod progress;
pub(crate) mod retry;
pub(crate) mod runner;
mod signals;
pub(crate) mod spool;
pub(crate) mod tally;
mod writer;
