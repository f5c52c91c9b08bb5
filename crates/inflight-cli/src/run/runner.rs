//! The run loop shared by `exec` and `fetch`: inputs in, jobs through the library's policy
//! builder ([`inflight::Inflight`]: the limit, `--rate`, `--timeout`, `--retries`, `--halt`,
//! `--per-host` and spawn mode), outputs and log records out, with `--resume`, Ctrl-C and the
//! summary.
use std::borrow::Cow;
use std::io::{self, Write};
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::stream::{FusedStream, Stream, StreamExt};
use futures::FutureExt;
use inflight::{Counted, ErrorPolicy, Failure, HaltMode, Inflight, Outcome, Outcomes, Rate, Retry};
use tokio_util::sync::CancellationToken;

use crate::exec::human;
use crate::feed::Feed;
use crate::halt::Halt;
use crate::input::RawLine;
use crate::jobs::AutoLimit;
use crate::keep_order::{Reorder, Window, Windowed};
use crate::log::{Done, Log, Record};
use crate::progress::Progress;
use crate::retry::{JobRetry, Retryable};
use crate::spool::Spool;
use crate::tally::Tally;
use crate::writer::Writer;
use crate::{say, signals};

/// With `-k`, how many finished jobs may wait for an earlier, slow one (or `-j`, if larger)
/// before no more are started. Their outputs are spooled (see `spool`), so the bound is on
/// jobs run ahead, not on memory.
pub const KEEP_ORDER_BUFFER: usize = 1024;

/// One input and its 1-based position.
pub struct Input {
    pub seq: u64,
    /// The input's bytes, exactly as read; only the head of a line over `--max-line`.
    pub line: Vec<u8>,
    /// The full length of a line over `--max-line`: it is not run.
    pub cut: Option<u64>,
    /// Set by the first attempt, which counts the job as started.
    begun: AtomicBool,
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
    log: Option<Log>,
    pub(crate) progress: Progress,
    /// Told of each input's end (`--queue`: acknowledgements).
    feed: Option<Arc<dyn Feed>>,
}

impl Shared {
    /// Called by a job before its first attempt: false if the run is stopping, in which case
    /// the job must not start (and leaves no record, so a resumed run will do it).
    fn begin(&self) -> bool {
        if self.stop.is_cancelled() {
            return false;
        }
        self.tally.started.fetch_add(1, Relaxed);
        true
    }

    /// Records a finished job: the log line first (so it is durable before its output is
    /// written), then the counts.
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
        if let Some(feed) = &self.feed {
            feed.finished(record);
        }
    }

    /// A shared limit could not be had (Redis away past `--redis-timeout`): the input never
    /// started and leaves no record (so `--resume`, or another worker, does it); the run
    /// starts nothing more and ends with the status of an I/O error. Said once.
    fn unavailable(&self, message: &str) {
        if !self.tally.fatal.swap(true, Relaxed) {
            self.say(&format!(
                "inflight: {message}; starting no more jobs, waiting for {} running",
                self.tally.running()
            ));
        }
        self.stop.cancel();
    }

    fn unstarted(&self, seq: u64) {
        if let Some(feed) = &self.feed {
            feed.unstarted(seq);
        }
    }

    /// The library halted the run (`--halt`): say so once, and start nothing more.
    fn halted(&self, mode: HaltMode) {
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

/// Settings of the run.
pub struct Settings {
    pub jobs: crate::jobs::Jobs,
    pub keep_order: bool,
    pub timeout: Option<Duration>,
    pub retries: u32,
    /// `--rate`, as the spacing between starts.
    pub rate: Option<Duration>,
    pub halt: Option<Halt>,
    pub per_host: Option<usize>,
    pub log: Option<Log>,
    pub done: Option<Done>,
    pub progress: Progress,
    /// Adds shared limits (`--global-*`) to the run's builder.
    pub plug: Option<Box<dyn FnOnce(Inflight) -> Inflight + Send>>,
    /// Told of each input's end (`--queue`).
    pub feed: Option<Arc<dyn Feed>>,
}

/// Runs `job` on every input and returns the exit status.
pub async fn run<S, J>(inputs: S, settings: Settings, job: J) -> i32
where
    S: Stream<Item = io::Result<RawLine>> + Send + Unpin + 'static,
    J: Job,
{
    let started = Instant::now();
    let shared = Arc::new(Shared {
        stop: CancellationToken::new(),
        kill: CancellationToken::new(),
        tally: Tally::default(),
        log: settings.log,
        progress: settings.progress,
        feed: settings.feed,
    });
    signals::listen(shared.clone());
    let job = Arc::new(job);

    // Every attempt is spawned (`.spawned()`), so jobs progress on every core however busy the
    // output loop is; a timed-out or cancelled attempt is dropped, which kills exec's process
    // group (see exec.rs).
    let mut builder = Inflight::new(settings.jobs.limit()).retry_policy::<J::Error, _>(JobRetry {
        stop: shared.stop.clone(),
    });
    let auto = settings.jobs.is_auto().then(|| AutoLimit {
        handle: builder.handle(),
        max: settings.jobs.most(),
    });
    if let Some(auto) = &auto {
        // What the other side says means "too much" (fetch: 429, 503, refused or reset
        // connections); timeouts count too, by the library's own rule.
        builder = builder.drop_if::<J::Error, _>(|f| f.error().is_some_and(Retryable::overloaded));
        shared.progress.show_limit(auto.clone());
    }
    if let Some(interval) = settings.rate {
        builder = builder.rate(Rate::new(1, interval));
    }
    if let Some(limit) = settings.timeout {
        builder = builder.timeout(limit);
    }
    if settings.retries > 0 {
        builder = builder.retry(Retry::attempts(settings.retries.saturating_add(1)));
    }
    let mut halt_mode = HaltMode::Now;
    let mut halt_on_success = false;
    if let Some(halt) = settings.halt {
        halt_mode = halt.mode;
        halt_on_success = matches!(
            halt.policy,
            ErrorPolicy::HaltAfter {
                counted: Counted::Succeeded,
                ..
            } | ErrorPolicy::HaltAtShare {
                counted: Counted::Succeeded,
                ..
            }
        );
        builder = builder.errors(halt.policy).halt_mode(halt.mode);
    }
    if let Some(plug) = settings.plug {
        builder = plug(builder);
    }

    // With -k the jobs still run in completion order (so each record is logged as soon as its
    // job finishes); the output side puts the outputs back in order, and the window keeps the
    // input from running further ahead than -j running plus KEEP_ORDER_BUFFER waiting.
    let window = Arc::new(Window::default());
    let bound = if settings.keep_order {
        settings.jobs.most() + KEEP_ORDER_BUFFER.max(settings.jobs.most())
    } else {
        usize::MAX / 2
    };
    let inputs = Windowed::new(
        input_stream(inputs, settings.done, shared.clone(), job.clone()),
        bound,
        window.clone(),
    );
    // The task the library runs per attempt. `Ok(None)`: the run was stopping (Ctrl-C, a fatal
    // error) before the job's first attempt, so it never started and leaves no record. Only
    // inputs already pulled get here (with `--per-host`, the parked ones); the library counts
    // them as successes, which matters only to a `success=`/`done=` halt rule after a Ctrl-C.
    let task = {
        let (job, shared) = (job.clone(), shared.clone());
        move |input: &Input| {
            let go = input.begun.swap(true, Relaxed) || shared.begin();
            let attempt = go.then(|| job.attempt(input));
            async move {
                match attempt {
                    Some(attempt) => attempt.await.map(Some),
                    None => Ok(None),
                }
            }
        }
    };
    let out = Output {
        shared: shared.clone(),
        job: job.clone(),
        halt_mode,
        halt_on_success,
        order: settings.keep_order.then(|| Reorder::new(window)),
    };
    // A job holds its host's slot from its first attempt to its end, backoff included.
    let per_host = settings.per_host;
    macro_rules! drain {
        ($outcomes:expr) => {{
            let outcomes = $outcomes.spawned();
            match per_host {
                Some(limit) => {
                    out.drain(outcomes.per_key(limit, move |input| job.key(input)))
                        .await
                }
                None => out.drain(outcomes).await,
            }
        }};
    }
    drain!(builder.stream(inputs, task));
    let killed = shared.tally.running();
    if let Some(feed) = &shared.feed {
        feed.close().await;
        if feed.failed() {
            shared.tally.fatal.store(true, Relaxed);
        }
    }
    shared.progress.finish();
    let mut summary = shared
        .tally
        .summary(started.elapsed().as_secs_f64(), killed);
    if let Some(auto) = &auto {
        summary += &auto.settled();
    }
    if !shared.progress.quiet() {
        say::line(&summary);
    }
    shared.tally.exit_status()
}

/// The output side of a run.
struct Output<J> {
    shared: Arc<Shared>,
    job: Arc<J>,
    halt_mode: HaltMode,
    /// The halt rule counts successes (`success=N`): meeting it is a success.
    halt_on_success: bool,
    /// With `-k`: the finished jobs waiting for earlier ones.
    order: Option<Reorder<Finished>>,
}

impl<J: Job> Output<J> {
    /// Takes the outcomes as the library hands them back (in completion order), logs and
    /// counts each at once, and prints each (with `-k`, in input order, once the jobs before
    /// it are printed). Returns when the run is over, or at once on a kill: dropping the
    /// outcomes drops the attempts in flight, which kills their processes (the jobs that
    /// finished are in the log already; with `-k`, those waiting for an earlier one are not
    /// printed).
    async fn drain<S, Fut>(mut self, mut outcomes: Outcomes<S, Input, Fut>)
    where
        S: FusedStream<Item = Option<Outcome<Input, Option<J::Output>, J::Error>>> + Unpin,
        Fut: std::future::Future,
    {
        let shared = &*self.shared.clone();
        let writer = Writer::start(self.shared.clone());
        // A stop (the first Ctrl-C, a fatal error) reaches the run itself too: nothing more
        // starts, and a job waiting out a retry delay (a server's long Retry-After) ends now
        // with its last failure instead of trying again later.
        let stopper = outcomes.stop_handle();
        let stop = shared.stop.clone();
        let watcher = tokio::spawn(async move {
            stop.cancelled().await;
            stopper.stop();
        });
        let mut killed = false;
        // Made once: a `cancelled()` future made anew for each outcome registers with its
        // token each time (a lock per job).
        let kill = shared.kill.cancelled();
        let gone = writer.gone.clone().cancelled_owned();
        tokio::pin!(kill, gone);
        loop {
            let outcome = tokio::select! {
                biased;
                _ = &mut kill => {
                    killed = true;
                    break;
                }
                _ = &mut gone => break,
                outcome = outcomes.next() => outcome,
            };
            let Some(outcome) = outcome else {
                // The end: with -k, what waited for a job the run never started comes out.
                let rest = self.order.as_mut().map(Reorder::rest).unwrap_or_default();
                for finished in rest {
                    if !writer.print(finished, &shared.kill).await {
                        break;
                    }
                }
                break;
            };
            let position = outcome.index;
            let finished = self.settle(outcome);
            if outcomes.halted() {
                // A halt of the error policy, not one that a stop (Ctrl-C) made.
                let by_policy = !shared.stop.is_cancelled();
                shared.halted(self.halt_mode);
                if by_policy && self.halt_on_success {
                    shared.tally.halted_on_success.store(true, Relaxed);
                }
            }
            let ready = match &mut self.order {
                Some(order) => order.complete(position, finished),
                None => finished.into_iter().collect(),
            };
            let mut printing = true;
            for finished in ready {
                if !writer.print(finished, &shared.kill).await {
                    printing = false;
                    break;
                }
            }
            if !printing {
                break;
            }
            let (ok, failed) = (
                shared.tally.ok.load(Relaxed),
                shared.tally.failed.load(Relaxed),
            );
            shared.progress.finished(ok, failed);
        }
        let killed = killed || shared.kill.is_cancelled();
        if killed {
            // Jobs that ended just before the kill (a body already saved under its name) are
            // logged, so that --resume does not do them again; their output is not printed.
            while let Some(Some(outcome)) = outcomes.next().now_or_never() {
                self.settle(outcome);
            }
        }
        watcher.abort();
        writer.finish(!killed).await;
    }

    /// Logs and counts an outcome as it comes back; the finished job, if it ran.
    fn settle(&self, outcome: Outcome<Input, Option<J::Output>, J::Error>) -> Option<Finished> {
        let shared = &*self.shared;
        if matches!(outcome.result, Ok(None)) {
            shared.unstarted(outcome.input.seq); // never started
            None
        } else if let Err(Failure::Unavailable(message)) = &outcome.result {
            shared.unavailable(message);
            shared.unstarted(outcome.input.seq);
            None
        } else {
            let finished = self.job.finish(
                outcome.map_result(|result| result.map(|output| output.expect("checked above"))),
            );
            shared.finish(&finished.record);
            Some(finished)
        }
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

/// Numbers the inputs, drops the ones `--resume` says are done, and ends at the first read
/// error or when the run is stopping.
fn input_stream<S, J>(
    inputs: S,
    done: Option<Done>,
    shared: Arc<Shared>,
    job: Arc<J>,
) -> impl Stream<Item = Input> + Send + Unpin + 'static
where
    S: Stream<Item = io::Result<RawLine>> + Send + Unpin + 'static,
    J: Job,
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
            let skip = line.cut.is_none()
                && done
                    .as_ref()
                    .is_some_and(|d| d.contains(&job.logged(&line.bytes)));
            if skip {
                on_skip.tally.skipped.fetch_add(1, Relaxed);
            }
            std::future::ready(!skip)
        })
        .take_until(stop.cancelled_owned())
        .map(|(line, seq)| Input {
            seq: line.seq.unwrap_or(seq),
            line: line.bytes,
            cut: line.cut,
            begun: AtomicBool::new(false),
        })
        .boxed()
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
