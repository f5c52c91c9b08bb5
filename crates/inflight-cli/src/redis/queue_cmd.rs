//! `inflight queue`: push inputs to a work queue on Redis, and read its status, results and
//! dead letters. The workers are `inflight exec --queue NAME` and `inflight fetch --queue
//! NAME` (see `queue_source`).
use clap::{Args, Subcommand};
use inflight_redis::{Queue, QueueOptions, Redis};

use crate::helpers::say;
use crate::redis::options::{Connection, NameArgs};
use crate::redis::queue_push::{self, PushArgs};
use crate::redis::queue_status::{self, StatusArgs};
use crate::redis::shared_limits;
use crate::run::progress::Progress;
use crate::run::tally::EXIT_USAGE;

/// `inflight queue ...`.
#[derive(Args, Debug)]
pub struct QueueArgs {
    #[command(subcommand)]
    pub command: QueueCommand,
}

#[derive(Subcommand, Debug)]
pub enum QueueCommand {
    /// Add the lines of FILE (or stdin) to the queue, read lazily, waiting while the queue
    /// holds --max-pending inputs not yet taken; then close the queue (no more inputs: the
    /// workers exit once every input is done) unless --keep-open.
    ///
    /// Killed and run again with the same input, push goes on after the last input it added:
    /// none twice, none missing. Blank lines are skipped; inputs must be UTF-8 text.
    Push(PushArgs),
    /// Show pushed, waiting, in flight (per worker, with its last heartbeat), done, failed
    /// and dead-lettered inputs, the rate and the ETA.
    Status(StatusArgs),
    /// Print each finished input's record, as JSON lines (the --log record plus `worker`):
    /// every input once, even one that ran twice.
    Results(ResultsArgs),
    /// Print the dead letters (inputs given up after --max-deliveries), as JSON lines.
    Dead(NameArgs),
    /// Close the queue without pushing: no more inputs will come, and the workers exit once
    /// every input is done (for a queue pushed with --keep-open).
    Close(NameArgs),
    /// Delete the queue: its inputs, results, dead letters and counters.
    Delete(NameArgs),
}

#[derive(Args, Debug)]
pub struct ResultsArgs {
    #[command(flatten)]
    pub queue: NameArgs,

    /// Keep printing results as they come, until the queue is closed and finished.
    #[arg(short = 'f', long)]
    pub follow: bool,
}

/// Runs a queue command; returns the exit status.
pub async fn main(args: QueueArgs) -> i32 {
    let result = match args.command {
        QueueCommand::Push(push) => {
            let redis = connect(&push.queue.connection).await;
            let queue = Queue::with_options(&redis, &push.queue.name, push_options(&push));
            let pushed = queue_push::push(queue, &push).await;
            shared_limits::say_trips(&redis);
            pushed
        }
        QueueCommand::Status(status) => {
            let queue = open(&status.queue, QueueOptions::default()).await;
            queue_status::show(queue, &status).await
        }
        QueueCommand::Results(results) => {
            let queue = open(&results.queue, QueueOptions::default()).await;
            queue_status::results(queue, results.follow).await
        }
        QueueCommand::Dead(name) => {
            let queue = open(&name, QueueOptions::default()).await;
            queue_status::dead(queue).await
        }
        QueueCommand::Close(name) => {
            let queue = open(&name, QueueOptions::default()).await;
            queue.close().await.map(|()| 0).map_err(|e| e.to_string())
        }
        QueueCommand::Delete(name) => {
            let queue = open(&name, QueueOptions::default()).await;
            queue.delete().await.map(|()| 0).map_err(|e| e.to_string())
        }
    };
    match result {
        Ok(status) => status,
        Err(message) => {
            say::line(&format!("inflight: {message}"));
            EXIT_USAGE
        }
    }
}

fn push_options(push: &PushArgs) -> QueueOptions {
    QueueOptions::default()
        .max_pending(push.max_pending as u64)
        .push_batch(push.batch)
}

/// Connects (a one-line error and status 255 if Redis refuses) and opens the queue.
async fn open(args: &NameArgs, options: QueueOptions) -> Queue {
    let redis = connect(&args.connection).await;
    Queue::with_options(&redis, &args.name, options)
}

/// Connects to `--redis` for a command that is not a run (no bar).
pub async fn connect(connection: &Connection) -> Redis {
    let Some(url) = &connection.redis else {
        say::line("inflight: no Redis server: give --redis URL (or set INFLIGHT_REDIS)");
        std::process::exit(EXIT_USAGE);
    };
    match shared_limits::connect(connection, url, Progress::new(false, true, None), "waiting").await
    {
        Ok(redis) => redis,
        Err(e) => {
            say::line(&format!("inflight: {e}"));
            std::process::exit(EXIT_USAGE);
        }
    }
}
