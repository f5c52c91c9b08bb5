//! The `inflight` command line tool: `exec` runs a command per input, `fetch` downloads URLs,
//! both with a bounded number in flight. See `inflight --help` and USAGE.md.
//!
//! # Map
//!
//! Imports run one way, down this list; no file imports a file that imports it back
//! (`scripts/check-import-loops.py` checks it), and `exec`, `fetch` and `redis` never import
//! each other.
//!
//! - this file: reads the command line and picks the runtime. `cli` declares the command line
//!   (clap), `usage` says its errors in one line, `extras` makes completions and man pages.
//! - [`commands`]: each command's start: `exec` and `fetch` build their job and run settings
//!   from the options (with what `startup` does for both) and hand them to the run loop.
//! - [`exec`] and [`fetch`]: what one command adds, each a [`run::job::Job`] (what to do with
//!   one input) and the pieces only it needs.
//! - [`redis`]: `--redis` (shared limits, `--queue`) and the `queue` and `limits` commands.
//! - [`run`]: the loop both commands share (inputs, the library's builder, output, log,
//!   signals, the exit status).
//! - [`metrics`]: a run's Prometheus series (`--metrics`) and the small HTTP server that the
//!   dashboard shares; imports only `helpers`.
//! - [`helpers`]: small things everyone uses (`say`, `parse`, `human`...), importing nothing.
//!
//! Where things go: an option both commands take is a field of `cli::Common`, read in
//! [`commands::startup::settings`] (or by the `run/` file that owns it); an option of one command goes in its
//! args (`cli::ExecArgs`, `fetch::crawl::CrawlArgs`) and is used in `exec/` or `fetch/`; a
//! Redis option goes in `redis::options`. A new fetch feature is a file in `fetch/` used by
//! `fetch::job`; a new command is a folder (or a file in `redis/` if it only speaks to Redis)
//! with its arguments beside its code, a variant of `cli::Command` and an arm in [`main`]
//! (`exec` and `fetch` start in `commands/`).
//! Something two folders share moves down: into `run/` if it is part of a run, else into
//! `helpers/`.
mod cli;
mod commands;
mod exec;
mod extras;
mod fetch;
mod helpers;
mod metrics;
mod redis;
mod run;
mod usage;

use std::time::Duration;

use clap::Parser;

use cli::{Cli, Command};
use commands::startup::fail;
use helpers::fdlimit;
use redis::{limits_cmd, queue_cmd};
use run::{guard, tally};

fn main() {
    // The guard of a run's jobs is inflight started again (see run::groups): before anything
    // else, and without the command line parser.
    let mut argv = std::env::args_os().skip(1);
    if argv.next().as_deref() == Some(std::ffi::OsStr::new(guard::ARG)) {
        guard::main(argv.next().as_deref().and_then(std::ffi::OsStr::to_str));
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => usage::exit(e),
    };
    let printed = match &cli.command {
        Command::Completions { shell } => Some(extras::completions(*shell)),
        Command::Man { dir } => Some(extras::man(dir.as_deref())),
        _ => None,
    };
    if let Some(result) = printed {
        match result {
            Ok(()) => std::process::exit(0),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                std::process::exit(tally::EXIT_BROKEN_PIPE)
            }
            Err(e) => match &cli.command {
                Command::Man { dir: Some(dir) } => fail(&format!(
                    "cannot write the man pages in {}: {e}",
                    dir.display()
                )),
                _ => fail(&format!("cannot write: {e}")),
            },
        }
    }
    fdlimit::raise();
    if let Err(e) = fdlimit::enough_to_start() {
        fail(&e);
    }
    let runtime = match runtime_for(&cli.command).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => fail(&format!("cannot start the async runtime: {e}")),
    };
    let status = runtime.block_on(async {
        match cli.command {
            Command::Exec(args) => commands::exec::main(*args).await,
            Command::Fetch(args) => commands::fetch::main(*args).await,
            Command::Queue(args) => queue_cmd::main(args).await,
            Command::Limits(args) => limits_cmd::main(args).await,
            Command::Dashboard(args) => redis::dashboard::main(args).await,
            Command::Completions { .. } | Command::Man { .. } => 0,
        }
    });
    // Reading stdin parks a thread in a read that cannot be cancelled; do not wait for it.
    runtime.shutdown_timeout(Duration::from_millis(50));
    std::process::exit(status);
}

/// exec: a thread per core, so jobs' output is read on every core. fetch: one thread by
/// default (`--threads`), which drives thousands of connections without handing work and
/// wake-ups between threads, as curl and aria2 do: on a small machine this halves the CPU time
/// per request.
fn runtime_for(command: &Command) -> tokio::runtime::Builder {
    match command {
        Command::Fetch(args) if args.crawl.threads == 1 => {
            tokio::runtime::Builder::new_current_thread()
        }
        Command::Fetch(args) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(args.crawl.threads);
            builder
        }
        _ => tokio::runtime::Builder::new_multi_thread(),
    }
}
