//! The run loop shared by `exec` and `fetch`: inputs in, jobs through the engine, outputs and
//! log records out, with `--resume`, `--halt`, Ctrl-C and the summary.
use std::future::Future;
use std::io::{self, IsTerminal, Write};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{Stream, StreamExt};
use tokio_util::sync::CancellationToken;

use crate::engine;
use crate::halt::{Halt, When};
use crate::log::{Done, Log, Record};
use crate::pacing::Pacer;
use crate::progress::Progress;
use crate::tally::Tally;

/// One input and its 1-based position.
pub struct Input {
    pub seq: u64,
    pub line: String,
}

/// What a finished job hands back: its record, and for exec its captured output.
pub struct Finished {
    pub record: Record,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// State shared by every job of a run.
pub struct Shared {
    /// Cancelled to stop starting jobs (first Ctrl-C, `--halt soon`, a fatal error).
    pub stop: CancellationToken,
    /// Cancelled to kill the running jobs (second Ctrl-C, `--halt now`).
    pub kill: CancellationToken,
    pub tally: Tally,
    pub pacer: Option<Pacer>,
    pub timeout: Option<Duration>,
    pub retries: u32,
    log: Option<Log>,
    halt: Option<Halt>,
    progress: Progress,
}

impl Shared {
    /// Called by a job before its first attempt: false if the run is stopping, in which case
    /// the job must not start (and leaves no record, so a resumed run will do it).
    pub fn begin(&self) -> bool {
        if self.stop.is_cancelled() {
            return false;
        }
        self.tally.started.fetch_add(1, Relaxed);
        true
    }

    /// Records a finished job: the log line first (so it is durable before anyone sees the
    /// job as done), then the counts, then the halt rule.
    fn finish(&self, record: &Record) {
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
        if let Some(halt) = self.halt {
            let (ok, failed) = (self.tally.ok.load(Relaxed), self.tally.failed.load(Relaxed));
            if halt.holds(ok, failed) && !self.stop.is_cancelled() {
                self.stop.cancel();
                match halt.when {
                    When::Soon => self.say(&format!(
                        "inflight: halt condition met; starting no more jobs, waiting for {} running",
                        self.tally.running()
                    )),
                    When::Now => {
                        self.say("inflight: halt condition met; killing running jobs");
                        self.kill.cancel();
                    }
                }
            }
        }
    }

    /// Prints a line on stderr without breaking the bar.
    pub fn say(&self, line: &str) {
        self.progress.suspend(|| eprintln!("{line}"));
    }
}

/// Settings of the run loop itself.
pub struct Settings {
    pub jobs: usize,
    pub keep_order: bool,
    pub timeout: Option<Duration>,
    pub retries: u32,
    pub rate: Option<Duration>,
    pub halt: Option<Halt>,
    pub log: Option<Log>,
    pub done: Option<Done>,
    pub progress: Progress,
}

/// Runs `job` on every input and returns the exit status.
pub async fn run<S, J, F>(inputs: S, settings: Settings, job: J) -> i32
where
    S: Stream<Item = io::Result<String>> + Send + Unpin + 'static,
    J: Fn(Input, Arc<Shared>) -> F + Send + Sync + 'static,
    F: Future<Output = Option<Finished>> + Send + 'static,
{
    let started = Instant::now();
    let shared = Arc::new(Shared {
        stop: CancellationToken::new(),
        kill: CancellationToken::new(),
        tally: Tally::default(),
        pacer: settings.rate.map(Pacer::new),
        timeout: settings.timeout,
        retries: settings.retries,
        log: settings.log,
        halt: settings.halt,
        progress: settings.progress,
    });
    listen_for_ctrl_c(shared.clone());

    let jobs = job_stream(inputs, settings.done, shared.clone(), job);
    let mut outputs = engine::run(jobs, settings.jobs, settings.keep_order);
    let stdout_tty = io::stdout().is_terminal();
    let mut stdout = io::stdout().lock();
    loop {
        let item = tokio::select! {
            biased;
            _ = shared.kill.cancelled() => break,
            item = outputs.next() => item,
        };
        let Some(item) = item else { break };
        // `None`: the job never started (stopping), or it panicked (reported by the hook).
        let Some(Some(finished)) = item else { continue };
        if let Err(e) = emit(&finished, &mut stdout, stdout_tty, &shared.progress) {
            if e.kind() != io::ErrorKind::BrokenPipe {
                shared.say(&format!("inflight: cannot write output: {e}"));
                shared.tally.fatal.store(true, Relaxed);
            }
            // Nobody reads our output any more: stop, and kill what runs, like `--halt now`.
            shared.stop.cancel();
            break;
        }
        let (ok, failed) = (
            shared.tally.ok.load(Relaxed),
            shared.tally.failed.load(Relaxed),
        );
        shared.progress.finished(ok, failed);
    }
    // Dropping the stream drops the jobs in flight, which kills their processes.
    drop(outputs);
    let killed = shared.tally.running();
    shared.progress.finish();
    let summary = shared
        .tally
        .summary(started.elapsed().as_secs_f64(), killed);
    if !shared.progress.quiet() {
        eprintln!("{summary}");
    }
    shared.tally.exit_status()
}

/// Writes a job's stdout, then its stderr, each as one block. On a terminal the bar is lifted
/// first, so output and bar never share a line.
fn emit(
    finished: &Finished,
    stdout: &mut impl Write,
    stdout_tty: bool,
    progress: &Progress,
) -> io::Result<()> {
    if !finished.stdout.is_empty() {
        let mut write = || {
            stdout
                .write_all(&finished.stdout)
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
            let _ = err.write_all(&finished.stderr).and_then(|()| err.flush());
        });
    }
    Ok(())
}

/// Numbers the inputs, drops the ones `--resume` says are done, ends at the first read error
/// or when the run is stopping, and turns each input into a spawned job that records itself.
fn job_stream<S, J, F>(
    inputs: S,
    done: Option<Done>,
    shared: Arc<Shared>,
    job: J,
) -> impl Stream<Item = impl Future<Output = Option<Option<Finished>>> + Send + 'static> + Send + 'static
where
    S: Stream<Item = io::Result<String>> + Send + Unpin + 'static,
    J: Fn(Input, Arc<Shared>) -> F + Send + Sync + 'static,
    F: Future<Output = Option<Finished>> + Send + 'static,
{
    let on_error = shared.clone();
    let on_skip = shared.clone();
    let stop = shared.stop.clone();
    inputs
        .scan((), move |(), line| {
            std::future::ready(match line {
                Ok(line) => Some(line),
                Err(e) => {
                    on_error.say(&format!("inflight: cannot read input: {e}"));
                    on_error.tally.fatal.store(true, Relaxed);
                    None
                }
            })
        })
        .zip(futures::stream::iter(1u64..))
        .filter(move |(line, _)| {
            let skip = done.as_ref().is_some_and(|d| d.contains(line));
            if skip {
                on_skip.tally.skipped.fetch_add(1, Relaxed);
            }
            std::future::ready(!skip)
        })
        .take_until(stop.cancelled_owned())
        .map(move |(line, seq)| {
            let shared = shared.clone();
            let work = job(Input { seq, line }, shared.clone());
            engine::spawn(async move {
                let finished = work.await?;
                shared.finish(&finished.record);
                Some(finished)
            })
        })
}

/// First Ctrl-C: start no more jobs and wait for the running ones. Second: kill them.
/// SIGTERM kills them at once: jobs run in their own process groups, so without this a
/// terminated `inflight` would leave them running.
fn listen_for_ctrl_c(shared: Arc<Shared>) {
    let on_term = shared.clone();
    tokio::spawn(async move {
        let Ok(mut term) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        else {
            return;
        };
        if term.recv().await.is_some() {
            on_term.tally.interrupted.store(true, Relaxed);
            on_term.stop.cancel();
            on_term.say(&format!(
                "inflight: terminated; killing {} running jobs",
                on_term.tally.running()
            ));
            on_term.kill.cancel();
        }
    });
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        shared.tally.interrupted.store(true, Relaxed);
        shared.stop.cancel();
        shared.say(&format!(
            "inflight: interrupted; starting no more jobs, waiting for {} running (Ctrl-C again to kill them)",
            shared.tally.running()
        ));
        if tokio::signal::ctrl_c().await.is_err() {
            return;
        }
        shared.say(&format!(
            "inflight: killing {} running jobs",
            shared.tally.running()
        ));
        shared.kill.cancel();
    });
}
