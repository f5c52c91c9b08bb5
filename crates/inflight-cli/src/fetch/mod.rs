//! `inflight fetch`: one GET per URL, bodies saved safely under `-o DIR`.
//!
//! `job` is the [`crate::run::job::Job`]: one attempt, its status and record, `--print`
//! (`print`), and `decode` (`--compressed` for what the client does not decode). The request
//! side: `crawl` (the options), `client` (built from them, with `headers`, `proxy` and
//! `verify`, the TLS setup and certificate check), `tlserr` (a refused certificate in words).
//! The saving side:
//! `outdir` (`--layout`, where a body goes), `names`, `naming` (`--save-as`) and `free_name`
//! (its file name), `save` (written unseen, then linked), `body` (a body on its way), and
//! `partial` and `continuation` (unfinished downloads continued with a Range request).
//!
//! Needs `run` (the `Job` trait, the log record, retries) and `helpers`; never `exec` or
//! `redis`.
mod body;
pub(crate) mod client;
mod continuation;
pub(crate) mod crawl;
mod decode;
mod free_name;
mod headers;
pub(crate) mod job;
mod names;
mod naming;
pub(crate) mod outdir;
pub(crate) mod partial;
mod print;
mod proxy;
mod save;
mod tlserr;
mod verify;
