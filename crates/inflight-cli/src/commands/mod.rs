//! Each command's start: `exec` and `fetch` build their job and run settings from the options,
//! with what `startup` does for both (the settings, the log and `--resume`, `--metrics`, the
//! input lines, a fatal error's one line), and hand them to the run loop.
//!
//! Above `exec/`, `fetch/` and `redis/` (which never import each other): this is where a
//! command puts them together.
pub(crate) mod exec;
pub(crate) mod fetch;
pub(crate) mod startup;
