//! `inflight exec`: one process per input.
//!
//! `template` parses the command and its replacement strings (`{}`, `{#}`, `{%}`, inputs after
//! `:::`), `slots` hands out `{%}`, `process` spawns and stops one process group, and `job`
//! is the [`crate::run::job::Job`] that ties them to the run loop.
//!
//! Needs `run` (the `Job` trait, `Spool`, retries) and `helpers`; never `fetch` or `redis`.
pub(crate) mod job;
pub(crate) mod process;
pub(crate) mod slots;
pub(crate) mod template;
