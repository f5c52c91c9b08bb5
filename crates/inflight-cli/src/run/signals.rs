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
//!
//! SIGTSTP (Ctrl-Z) stops the jobs' groups and then inflight; SIGCONT continues them.
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use tokio::signal::unix::{signal, SignalKind};

use crate::run::groups;
use crate::run::job::Shared;

/// Installs the handlers for the run.
pub fn listen(shared: Arc<Shared>) {
    job_control();
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

/// Ctrl-Z (SIGTSTP): the jobs run in process groups of their own, which the terminal does not
/// stop; so stop them (SIGSTOP to each group), then inflight itself, and continue them when
/// inflight is continued (`fg`, `bg`: SIGCONT), as a shell's job control expects. A SIGCONT
/// after inflight was stopped some other way continues the jobs too.
fn job_control() {
    if let Ok(mut tstp) = signal(SignalKind::from_raw(nix::libc::SIGTSTP)) {
        tokio::spawn(async move {
            while tstp.recv().await.is_some() {
                groups::stop_all_and_self();
            }
        });
    }
    if let Ok(mut cont) = signal(SignalKind::from_raw(nix::libc::SIGCONT)) {
        tokio::spawn(async move {
            while cont.recv().await.is_some() {
                groups::signal_all(nix::sys::signal::Signal::SIGCONT);
            }
        });
    }
}
