//! `inflight limits`: read or change the shared limits of running processes. A change is
//! stored in Redis and followed by every process that uses the name, without a restart:
//! `--jobs` from each one's next acquire (waiters a raise lets in are woken at once),
//! `--rate` from the next start, `--per-host` from the next acquire of each host.
use std::io::Write;

use clap::{Args, Subcommand};
use inflight::Rate;
use inflight_redis::{GlobalLimit, GlobalPerKey, GlobalRate, Redis};

use crate::helpers::human::human;
use crate::helpers::parse;
use crate::helpers::say;
use crate::redis::options::{self, Connection};
use crate::redis::queue_cmd::connect;
use crate::run::tally::EXIT_USAGE;

/// `inflight limits ...`.
#[derive(Args, Debug)]
pub struct LimitsArgs {
    #[command(subcommand)]
    pub command: LimitsCommand,
}

#[derive(Subcommand, Debug)]
pub enum LimitsCommand {
    /// Change the shared limits called NAME (--name of the runs) for every process now.
    ///
    /// Lowering --jobs revokes nothing: running jobs finish, and no new one starts until the
    /// total is under the new limit.
    Set(SetArgs),
    /// Show the shared limits called NAME: what is stored, and the jobs held and waiting.
    Show(ShowArgs),
}

#[derive(Args, Debug)]
pub struct SetArgs {
    /// The limits' name (the runs' --name; `inflight` by default).
    #[arg(value_name = "NAME", value_parser = options::name)]
    pub name: String,

    /// The global concurrency limit (the runs' --global-jobs).
    #[arg(long, value_name = "N", value_parser = parse::limit)]
    pub jobs: Option<usize>,

    /// The global rate (the runs' --global-rate), e.g. 50/s.
    #[arg(long, value_name = "N/PERIOD", value_parser = parse::rate)]
    pub rate: Option<std::time::Duration>,

    /// The global per-host limit (fetch's --global-per-host).
    #[arg(long, value_name = "N", value_parser = parse::limit)]
    pub per_host: Option<usize>,

    /// Remove the stored limits: each process goes back to its own options.
    #[arg(long, conflicts_with_all = ["jobs", "rate", "per_host"])]
    pub clear: bool,

    #[command(flatten)]
    pub connection: Connection,
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// The limits' name.
    #[arg(value_name = "NAME", value_parser = options::name)]
    pub name: String,

    #[command(flatten)]
    pub connection: Connection,
}

/// The three shared limits of a name. The limits given here (1, 1/s) are never used: only
/// stored values are set or read.
fn limits(redis: &Redis, name: &str) -> (GlobalLimit, GlobalRate, GlobalPerKey) {
    (
        GlobalLimit::new(redis, name, 1),
        GlobalRate::new(redis, name, Rate::per_second(1)),
        GlobalPerKey::new(redis, name, 1),
    )
}

/// Runs a limits command; returns the exit status.
pub async fn main(args: LimitsArgs) -> i32 {
    let result = match args.command {
        LimitsCommand::Set(set) => self::set(set).await,
        LimitsCommand::Show(show) => self::show(show).await,
    };
    match result {
        Ok(()) => 0,
        Err(message) => {
            say::line(&format!("inflight: {message}"));
            EXIT_USAGE
        }
    }
}

async fn set(args: SetArgs) -> Result<(), String> {
    if !args.clear && args.jobs.is_none() && args.rate.is_none() && args.per_host.is_none() {
        return Err("limits set: give --jobs, --rate, --per-host or --clear".into());
    }
    let redis = connect(&args.connection).await;
    let (jobs, rate, per_host) = limits(&redis, &args.name);
    let err = |e: inflight_redis::Error| e.to_string();
    if args.clear {
        jobs.clear_limit().await.map_err(err)?;
        rate.clear_rate().await.map_err(err)?;
        per_host.clear_limit().await.map_err(err)?;
    }
    if let Some(n) = args.jobs {
        jobs.set_limit(n as u64).await.map_err(err)?;
    }
    if let Some(every) = args.rate {
        rate.set_rate(Rate::new(1, every)).await.map_err(err)?;
    }
    if let Some(n) = args.per_host {
        per_host.set_limit(n as u64).await.map_err(err)?;
    }
    print(&redis, &args.name).await
}

async fn show(args: ShowArgs) -> Result<(), String> {
    let redis = connect(&args.connection).await;
    print(&redis, &args.name).await
}

async fn print(redis: &Redis, name: &str) -> Result<(), String> {
    let (jobs, rate, per_host) = limits(redis, name);
    let err = |e: inflight_redis::Error| e.to_string();
    let own = "not set: each process uses its own option";
    let stored = jobs.stored_limit().await.map_err(err)?;
    let state = jobs.state().await.map_err(err)?;
    let jobs_line = match stored {
        Some(n) => format!("{n}"),
        None => format!("{own} (--global-jobs)"),
    };
    let rate_line = match rate.stored_rate().await.map_err(err)? {
        Some(r) => format!(
            "{:.3}/s (one start every {})",
            1.0 / r.interval().as_secs_f64(),
            human(r.interval())
        ),
        None => format!("{own} (--global-rate)"),
    };
    let host_line = match per_host.stored_limit().await.map_err(err)? {
        Some(n) => format!("{n}"),
        None => format!("{own} (--global-per-host)"),
    };
    let text = format!(
        "limits {name}\n\
         jobs      {jobs_line}\n\
         held      {} running now, {} waiting\n\
         rate      {rate_line}\n\
         per host  {host_line}",
        state.held, state.waiting
    );
    // A closed stdout is nothing to complain about for a one-shot print.
    let _ = writeln!(std::io::stdout().lock(), "{text}");
    Ok(())
}
