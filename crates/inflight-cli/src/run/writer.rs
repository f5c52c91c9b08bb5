//! Jobs' output written on a thread of its own. A reader of stdout that is slow or stopped
//! (`--print path | slow-consumer`) blocks that thread only, not the runtime: on `fetch`'s one
//! runtime thread a blocked write stalled every request in flight until their timeouts expired.
//! The channel is bounded, so a slow reader still holds the run back (no more outcomes are
//! taken, so no more jobs start), and every record is logged before its output is queued.
//!
//! A job with no output (most `fetch` jobs) never crosses to the thread. On a runtime with
//! more than one thread (`exec`, `fetch --threads N`) output is written where the job
//! finished, as before: a blocked write holds one worker while the others go on, and the
//! hand-off to a thread would cost each job a wake-up (+13 % instructions for `exec -- echo`).
use std::io::{self, IsTerminal};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::run::job::{emit, Finished, Shared};

/// Outputs queued at most before the run waits for the reader.
const QUEUED: usize = 64;

pub struct Writer {
    /// Set when output is written here, not on the thread (with whether stdout is a
    /// terminal).
    inline: Option<(Arc<Shared>, bool)>,
    tx: Option<mpsc::Sender<Finished>>,
    thread: Option<JoinHandle<()>>,
    /// Cancelled when output can no longer be written: the run stops.
    pub gone: CancellationToken,
}

impl Writer {
    pub fn start(shared: Arc<Shared>) -> Writer {
        let flavor = tokio::runtime::Handle::current().runtime_flavor();
        if flavor != tokio::runtime::RuntimeFlavor::CurrentThread {
            return Writer {
                inline: Some((shared, io::stdout().is_terminal())),
                tx: None,
                thread: None,
                gone: CancellationToken::new(),
            };
        }
        let (tx, mut rx) = mpsc::channel::<Finished>(QUEUED);
        let gone = CancellationToken::new();
        let told = gone.clone();
        let thread = std::thread::spawn(move || {
            let stdout_tty = io::stdout().is_terminal();
            let mut stdout = io::stdout().lock();
            while let Some(finished) = rx.blocking_recv() {
                if told.is_cancelled() {
                    continue;
                }
                if let Err(e) = emit(finished, &mut stdout, stdout_tty, &shared.progress) {
                    failed(&shared, &e);
                    told.cancel();
                }
            }
        });
        Writer {
            inline: None,
            tx: Some(tx),
            thread: Some(thread),
            gone,
        }
    }

    /// Queues a finished job's output, waiting while the queue is full, unless `kill` comes
    /// first. False once output can no longer be written, or on the kill.
    pub async fn print(&self, finished: Finished, kill: &CancellationToken) -> bool {
        if self.gone.is_cancelled() || kill.is_cancelled() {
            return false;
        }
        if finished.stdout.is_empty() && finished.stderr.is_empty() {
            return true;
        }
        if let Some((shared, stdout_tty)) = &self.inline {
            let written = emit(
                finished,
                &mut io::stdout().lock(),
                *stdout_tty,
                &shared.progress,
            );
            if let Err(e) = written {
                failed(shared, &e);
                self.gone.cancel();
                return false;
            }
            return true;
        }
        let Some(tx) = &self.tx else { return false };
        tokio::select! {
            biased;
            _ = kill.cancelled() => false,
            _ = self.gone.cancelled() => false,
            sent = tx.send(finished) => sent.is_ok() && !self.gone.is_cancelled(),
        }
    }

    /// Waits until everything queued is written (or, with `wait` false, leaves the thread to
    /// it: a killed run does not wait for a slow reader).
    pub async fn finish(mut self, wait: bool) {
        drop(self.tx.take());
        if let (true, Some(thread)) = (wait, self.thread.take()) {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
    }
}

/// Output can no longer be written: says why (a closed pipe quietly, like a program killed by
/// SIGPIPE, with status 141), and stops the run, which kills what runs, like `--halt now`.
fn failed(shared: &Shared, e: &io::Error) {
    if e.kind() == io::ErrorKind::BrokenPipe {
        shared.tally.broken_pipe.store(true, Relaxed);
    } else {
        shared.say(&format!("inflight: cannot write output: {e}"));
        shared.tally.fatal.store(true, Relaxed);
    }
    shared.stop.cancel();
}
