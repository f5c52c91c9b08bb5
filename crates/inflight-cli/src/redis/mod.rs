//! Everything that speaks to Redis: what `--redis` adds to a run, and the `queue` and
//! `limits` commands.
//!
//! `options` declares the options (flattened into `exec`'s and `fetch`'s, and the queue's
//! name for `inflight queue`); `shared_limits` connects and plugs `--global-*` into a run's
//! builder; `queue_source` makes a queue a run's inputs and its [`crate::run::feed::Feed`];
//! `setup` puts these into a run's [`crate::run::runner::Settings`] before it starts. The
//! commands: `queue_cmd` (dispatching to `queue_push` and `queue_status`, each with its own
//! arguments) and `limits_cmd`.
//!
//! Needs `run` (settings, inputs, feed, bar, counts) and `helpers`; never `exec` or `fetch`.
pub(crate) mod limits_cmd;
pub(crate) mod options;
pub(crate) mod queue_cmd;
mod queue_push;
mod queue_source;
mod queue_status;
pub(crate) mod setup;
mod shared_limits;
