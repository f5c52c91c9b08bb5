//! Signals that end a run. Jobs run in process groups of their own, so a terminal's Ctrl-C
//! does not reach them and a signal that killed `inflight` would leave them running under
//! PID 1, unrecorded, to be run again by `--resume`. So every such signal is caught:
//!
//! - SIGINT (Ctrl-C): the first stops starting jobs and waits for the running ones; the second
//!   kills them.
//! - SIGTERM, SIGHUP (terminal closed, ssh dropped), SIGQUIT, and SIGUSR1, SIGUSR2 and SIGALRM
//!   (whose default is to end the process too): kill the running jobs' process groups at once.
//!
//! Either way the log keeps every job that finished, and the exit status is 128 + the signal.
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use tokio::signal::unix::{signal, SignalKind};

use crate::run::job::Shared;

/// Installs the handlers for the run.
pub fn listen(shared: Arc<Shared>) {
    for (kind, name) in [
        (SignalKind::terminate(), "terminated"),
        (SignalKind::hangup(), "hung up"),
        (SignalKind::quit(), "quit"),
        (SignalKind::user_defined1(), "got SIGUSR1"),
        (SignalKind::user_defined2(), "got SIGUSR2"),
        (SignalKind::alarm(), "got SIGALRM"),
    ] {
        let Ok(mut stream) = signal(kind) else {
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            if stream.recv().await.is_some() {
                shared.tally.signal.store(kind.as_raw_value(), Relaxed);
                shared.stop.cancel();
                shared.say(&format!(
                    "inflight: {name}; killing {} running jobs",
                    shared.tally.running()
                ));
                shared.kill.cancel();
            }
        });
    }
    let Ok(mut int) = signal(SignalKind::interrupt()) else {
        return;
    };
    tokio::spawn(async move {
        if int.recv().await.is_none() {
            return;
        }
        shared
            .tally
            .signal
            .store(SignalKind::interrupt().as_raw_value(), Relaxed);
        shared.stop.cancel();
        shared.say(&format!(
            "inflight: interrupted; starting no more jobs, waiting for {} running (Ctrl-C again to kill them)",
            shared.tally.running()
        ));
        if int.recv().await.is_none() {
            return;
        }
        shared.say(&format!(
            "inflight: killing {} running jobs",
            shared.tally.running()
        ));
        shared.kill.cancel();
    });
}
