//! Jobs' output written on a thread of its own. A reader of stdout that is slow or stopped
//! (`--print path | slow-consumer`) blocks that thread only, not the runtime: on `fetch`'s one
//! runtime thread a blocked write stalled every request in flight until their timeouts expired.
//! The channel is bounded, so a slow reader still holds the run back (no more outcomes are
//! taken, so no more jobs start), and every record is logged before its output is queued.
//!
//! A job with no output (most `fetch` jobs) never crosses to the thread.
use std::io::{self, IsTerminal};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::run::{emit, Finished, Shared};

/// Outputs queued at most before the run waits for the reader.
const QUEUED: usize = 64;

pub struct Writer {
    tx: Option<mpsc::Sender<Finished>>,
    thread: Option<JoinHandle<()>>,
    /// Cancelled when output can no longer be written: the run stops.
    pub gone: CancellationToken,
}

impl Writer {
    pub fn start(shared: Arc<Shared>) -> Writer {
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
                let Err(e) = emit(finished, &mut stdout, stdout_tty, &shared.progress) else {
                    continue;
                };
                if e.kind() == io::ErrorKind::BrokenPipe {
                    // Like a program killed by SIGPIPE: quietly, with status 141.
                    shared.tally.broken_pipe.store(true, Relaxed);
                } else {
                    shared.say(&format!("inflight: cannot write output: {e}"));
                    shared.tally.fatal.store(true, Relaxed);
                }
                // Nobody reads our output any more: stop, and kill what runs, like
                // `--halt now`.
                shared.stop.cancel();
                told.cancel();
            }
        });
        Writer {
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
