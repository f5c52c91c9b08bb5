//! The run loop shared by `exec` and `fetch`: inputs in, jobs through the library's policy
//! builder ([`inflight::Inflight`]: the limit, `--rate`, `--timeout`, `--retries`, `--halt`,
//! `--per-host` and spawn mode), outputs and log records out, with `--resume`, Ctrl-C and the
//! summary.
use std::io;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::stream::{FusedStream, Stream, StreamExt};
use futures::FutureExt;
use inflight::{Counted, ErrorPolicy, Failure, HaltMode, Inflight, Outcome, Outcomes, Rate, Retry};
use tokio_util::sync::CancellationToken;

use crate::helpers::say;
use crate::run::feed::Feed;
use crate::run::halt::Halt;
use crate::run::input::RawLine;
use crate::run::job::{Finished, Input, Job, Shared};
use crate::run::jobs::{AutoLimit, Jobs};
use crate::run::keep_order::{Reorder, Window, Windowed};
use crate::run::log::{Done, Log};
use crate::run::progress::Progress;
use crate::run::retry::{JobRetry, Retryable};
use crate::run::signals;
use crate::run::tally::Tally;
use crate::run::writer::Writer;

/// With `-k`, how many finished jobs may wait for an earlier, slow one (or `-j`, if larger)
/// before no more are started. Their outputs are spooled (see `spool`), so the bound is on
/// jobs run ahead, not on memory.
pub const KEEP_ORDER_BUFFER: usize = 1024;

/// Settings of the run.
pub struct Settings {
    pub jobs: Jobs,
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
    // group (see exec/process.rs).
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
