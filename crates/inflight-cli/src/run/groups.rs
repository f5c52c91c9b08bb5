//! The process groups of exec's running jobs, known to the whole process: Ctrl-Z stops them
//! and `fg` continues them (`signals`), and a guard process (`guard`) learns of each, so that
//! the jobs stop even when inflight is killed with SIGKILL.
//!
//! Why a guard process and not Linux's parent-death signal: `PR_SET_PDEATHSIG` must be set in
//! the child between fork and exec, which only an `unsafe` `pre_exec` hook can do, it reaches
//! only the job's own process (not what it started in its group), and no one is left to send
//! SIGKILL after the grace. The guard is inflight itself, started once per run in a process
//! group of its own (so Ctrl-C and a SIGKILL of inflight's group miss it), told on a pipe
//! "+PGID" when a job starts and "-PGID" when it has been reaped. When the pipe closes without
//! the jobs ended (inflight is gone, however it died), it sends SIGTERM to the groups left,
//! waits the `--term-grace` and sends SIGKILL, as a timeout does. It also holds the lock of the
//! log (its stdout is the log, which it never writes) until then, so that a `--resume` waits
//! for the jobs of a killed run to be gone before it runs their inputs again.
use std::fs::File;
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

use crate::run::guard;

struct Groups {
    running: Vec<i32>,
    /// The pipe to the guard, once started (and while it reads).
    guard: Option<ChildStdin>,
    /// The guard, to wait for at the end of a run.
    process: Option<Child>,
}

static GROUPS: Mutex<Groups> = Mutex::new(Groups {
    running: Vec::new(),
    guard: None,
    process: None,
});

fn groups() -> std::sync::MutexGuard<'static, Groups> {
    // A poisoned lock only means a panic elsewhere; the set is still whole.
    GROUPS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts the guard of this run's jobs: SIGTERM, `grace`, SIGKILL to the groups still there
/// when inflight is gone. `log` (a clone of the log's descriptor, locked) is held by the guard
/// until then.
pub fn start_guard(grace: Duration, log: Option<File>) -> std::io::Result<()> {
    let mut cmd = Command::new("/proc/self/exe");
    cmd.arg(guard::ARG)
        .arg(grace.as_millis().to_string())
        .stdin(Stdio::piped())
        .stdout(log.map_or_else(Stdio::null, Stdio::from))
        .stderr(Stdio::null())
        .process_group(0);
    let mut child = cmd.spawn()?;
    let mut g = groups();
    g.guard = child.stdin.take();
    g.process = Some(child);
    Ok(())
}

/// At the end of a run: closes the guard's pipe and waits for it to exit, so that the log's
/// lock is free when inflight exits (the jobs are over, so it has nothing to stop; were any
/// left, it would stop them first). After a SIGKILL of inflight the pipe closes all the same.
pub fn close_guard() {
    let process = {
        let mut g = groups();
        g.guard = None;
        g.process.take()
    };
    if let Some(mut process) = process {
        let _ = process.wait();
    }
}

/// A job's process group started.
pub fn add(pgid: i32) {
    let mut g = groups();
    g.running.push(pgid);
    tell(&mut g, b'+', pgid);
}

/// A job's process group leader was reaped: its group id may be reused, never signal it again.
pub fn remove(pgid: i32) {
    let mut g = groups();
    if let Some(at) = g.running.iter().position(|&p| p == pgid) {
        g.running.swap_remove(at);
    }
    tell(&mut g, b'-', pgid);
}

fn tell(g: &mut Groups, sign: u8, pgid: i32) {
    if let Some(pipe) = &mut g.guard {
        let line = format!("{}{pgid}\n", sign as char);
        // A guard that is gone protects nothing more; the run goes on without it.
        if pipe.write_all(line.as_bytes()).is_err() {
            g.guard = None;
        }
    }
}

/// Sends `signal` to every running job's process group.
pub fn signal_all(signal: Signal) {
    let g = groups();
    for &pgid in &g.running {
        // ESRCH (just ended) is harmless.
        let _ = killpg(Pid::from_raw(pgid), signal);
    }
}

/// Ctrl-Z: stops the jobs, then inflight itself (as the shell expects of a stopped job); when
/// continued (`fg`, `bg`), continues the jobs. The set is held meanwhile, so no job starts or
/// is forgotten between the two.
pub fn stop_all_and_self() {
    let g = groups();
    for &pgid in &g.running {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGSTOP);
    }
    let _ = nix::sys::signal::raise(Signal::SIGSTOP);
    for &pgid in &g.running {
        let _ = killpg(Pid::from_raw(pgid), Signal::SIGCONT);
    }
}
