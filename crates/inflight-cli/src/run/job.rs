//! What a job is and what it shares with the run: the [`Job`] trait each command implements,
//! the [`Input`] it gets and the [`Finished`] record and output it hands back, the [`Shared`]
//! state of a run (stop and kill tokens, counts, log, bar) and [`emit`], which writes a
//! finished job's output. At the bottom of `run/`: the loop (`runner`), the writer and the
//! signal handlers build on it, and it imports none of them.
use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use futures::future::BoxFuture;
use inflight::{Failure, HaltMode, Outcome};
use tokio_util::sync::CancellationToken;

use crate::helpers::human::human;
use crate::helpers::say;
use crate::run::feed::Feed;
use crate::run::log::{Log, Record};
use crate::run::progress::Progress;
use crate::run::retry::Retryable;
use crate::run::spool::Spool;
use crate::run::tally::Tally;

/// One input and its 1-based position.
pub struct Input {
    pub seq: u64,
    /// The input's bytes, exactly as read; only the head of a line over `--max-line`.
    pub line: Vec<u8>,
    /// The full length of a line over `--max-line`: it is not run.
    pub cut: Option<u64>,
    /// Set by the first attempt, which counts the job as started.
    pub(super) begun: AtomicBool,
}

impl Input {
    /// The error of a line over `--max-line`, which no job runs.
    pub fn too_long(&self) -> Option<String> {
        self.cut.map(|len| {
            format!("input of {len} bytes is longer than --max-line; not run (raise --max-line)")
        })
    }
}

/// What a finished job hands back: its record, and for exec its captured output.
pub struct Finished {
    pub record: Record,
    pub stdout: Spool,
    pub stderr: Spool,
}

/// What a command does with one input: `exec` runs a process, `fetch` a GET. The library
/// decides when attempts start, how long they may take and whether they are retried.
pub trait Job: Send + Sync + 'static {
    /// A successful attempt.
    type Output: Send + 'static;
    /// A failed attempt.
    type Error: Retryable + Send + 'static;
    /// Starts one attempt (boxed: the future must not borrow the input, and one small box
    /// is nothing next to a process or a request).
    fn attempt(&self, input: &Input) -> BoxFuture<'static, Result<Self::Output, Self::Error>>;
    /// The record and output of a finished job.
    fn finish(&self, outcome: Outcome<Input, Self::Output, Self::Error>) -> Finished;
    /// The key of `--per-host`.
    fn key(&self, _input: &Input) -> String {
        String::new()
    }
    /// The input as the log holds it (fetch masks passwords); `--resume` compares this.
    fn logged<'a>(&self, line: &'a [u8]) -> Cow<'a, [u8]> {
        Cow::Borrowed(line)
    }
}

/// The error line of a failure the library reports (a timeout or a panic), or `None` for the
/// job's own error.
pub fn policy_failure<E>(failure: &Failure<E>) -> Option<String> {
    match failure {
        Failure::Error(_) => None,
        Failure::TimedOut(limit) => Some(format!("timed out after {}", human(*limit))),
        Failure::Panicked(message) => Some(format!("panicked: {message}")),
        Failure::Unavailable(message) => Some(format!("shared limit unavailable: {message}")),
        _ => Some("failed without an error of its own".to_owned()),
    }
}

/// State shared by the run loop, the jobs and the signal handlers.
pub struct Shared {
    /// Cancelled to stop starting jobs (first Ctrl-C, `--halt`, a fatal error).
    pub stop: CancellationToken,
    /// Cancelled to kill the running jobs (second Ctrl-C, SIGTERM).
    pub kill: CancellationToken,
    pub tally: Tally,
    pub(super) log: Option<Log>,
    pub(crate) progress: Progress,
    /// Told of each input's end (`--queue`: acknowledgements).
    pub(super) feed: Option<Arc<dyn Feed>>,
}

impl Shared {
    /// Called by a job before its first attempt: false if the run is stopping, in which case
    /// the job must not start (and leaves no record, so a resumed run will do it).
    pub(super) fn begin(&self) -> bool {
        if self.stop.is_cancelled() {
            return false;
        }
        self.tally.started.fetch_add(1, Relaxed);
        true
    }

    /// Records a finished job: the log line first (so it is durable before its output is
    /// written), then the counts.
    pub(super) fn finish(&self, record: &Record) {
        if let Some(log) = &self.log {
            if let Err(e) = log.append(record) {
                if !self.tally.fatal.swap(true, Relaxed) {
                    self.say(&format!("inflight: cannot write the log: {e}; stopping"));
                }
                self.stop.cancel();
            }
        }
        let counter = if record.ok {
            &self.tally.ok
        } else {
            &self.tally.failed
        };
        counter.fetch_add(1, Relaxed);
        if let Some(feed) = &self.feed {
            feed.finished(record);
        }
    }

    /// A shared limit could not be had (Redis away past `--redis-timeout`): the input never
    /// started and leaves no record (so `--resume`, or another worker, does it); the run
    /// starts nothing more and ends with the status of an I/O error. Said once.
    pub(super) fn unavailable(&self, message: &str) {
        if !self.tally.fatal.swap(true, Relaxed) {
            self.say(&format!(
                "inflight: {message}; starting no more jobs, waiting for {} running",
                self.tally.running()
            ));
        }
        self.stop.cancel();
    }

    pub(super) fn unstarted(&self, seq: u64) {
        if let Some(feed) = &self.feed {
            feed.unstarted(seq);
        }
    }

    /// The library halted the run (`--halt`): say so once, and start nothing more.
    pub(super) fn halted(&self, mode: HaltMode) {
        if self.stop.is_cancelled() {
            return; // already stopping (Ctrl-C, a fatal error): that was said
        }
        self.stop.cancel();
        match mode {
            HaltMode::Soon => self.say(&format!(
                "inflight: halt condition met; starting no more jobs, waiting for {} running",
                self.tally.running()
            )),
            _ => self.say("inflight: halt condition met; killing running jobs"),
        }
    }

    /// Prints a line on stderr without breaking the bar (and without failing if stderr is
    /// gone).
    pub fn say(&self, line: &str) {
        self.progress.suspend(|| say::line(line));
    }
}

/// Writes a job's stdout, then its stderr, each as one block. On a terminal the bar is lifted
/// first, so output and bar never share a line.
pub(crate) fn emit(
    mut finished: Finished,
    stdout: &mut impl Write,
    stdout_tty: bool,
    progress: &Progress,
) -> io::Result<()> {
    if !finished.stdout.is_empty() {
        let mut write = || {
            finished
                .stdout
                .write_to(stdout)
                .and_then(|()| stdout.flush())
        };
        if stdout_tty {
            progress.suspend(write)?;
        } else {
            write()?;
        }
    }
    if !finished.stderr.is_empty() {
        progress.suspend(|| {
            let mut err = io::stderr().lock();
            // Nothing sensible remains to be done if stderr itself is gone.
            let _ = finished
                .stderr
                .write_to(&mut err)
                .and_then(|()| err.flush());
        });
    }
    Ok(())
}

/// The log record of an outcome with the fields every job fills the same way (input, position,
/// attempts, time); each job adds its status, error and the rest.
pub fn record_of<T, E>(outcome: &Outcome<Input, T, E>) -> Record {
    let mut record = Record {
        seq: outcome.input.seq,
        // A line over --max-line is rejected before any attempt.
        attempts: if outcome.input.cut.is_some() {
            0
        } else {
            outcome.attempts
        },
        ms: outcome.elapsed.as_millis() as u64,
        ..Record::default()
    };
    record.set_input(&outcome.input.line);
    record
}
