//! One run of a command for `exec`: spawned directly (no shell) in a process group of its own,
//! its stdout and stderr captured into [`Spool`]s, and on `--timeout` stopped as GNU parallel's
//! `--termseq` does: SIGTERM to the whole group, a grace period (`--term-grace`), then SIGKILL.
//! Whatever the job wrote before it stopped is kept.
use std::ffi::OsString;
use std::io;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::time::sleep;

use crate::helpers::fdlimit;
use crate::run::spool::Spool;

/// What a run of the command left.
pub struct Ran {
    /// `None` if the process could not be waited for after SIGKILL (it left the group).
    pub status: Option<ExitStatus>,
    pub stdout: Spool,
    pub stderr: Spool,
    /// Set when `--timeout` stopped it.
    pub timed_out: Option<Duration>,
}

/// Why a command did not run.
pub enum NotRun {
    /// It could not be started (not found, not executable, arguments too long).
    Start(String),
    /// Waiting for it failed.
    Lost(String),
}

/// How long the pipes are read after the job's process has exited, for what a process it
/// started in the background still writes; they hold at most a pipe's buffer of the job's own
/// output then, read in far less.
const AFTER_EXIT: Duration = Duration::from_millis(500);

/// How a run is stopped on `--timeout`.
#[derive(Clone, Copy, Debug)]
pub struct Stop {
    pub timeout: Option<Duration>,
    pub grace: Duration,
}

/// Runs `argv` to its end, or to `stop.timeout` and the TERM/grace/KILL sequence. Dropping the
/// future (`--halt now`, a second Ctrl-C, SIGTERM) kills the process group at once.
pub async fn run(argv: &[OsString], stop: Stop) -> Result<Ran, NotRun> {
    let Some((program, args)) = argv.split_first() else {
        return Err(NotRun::Start("empty command".into()));
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let mut child = loop {
        match cmd.spawn() {
            Ok(child) => break child,
            // Out of descriptors: other jobs will free some; start this one later.
            Err(e) if fdlimit::exhausted(&e) => fdlimit::wait().await,
            Err(e) => return Err(NotRun::Start(spawn_error(program, &e))),
        }
    };
    let mut group = GroupKiller(child.id().and_then(|id| i32::try_from(id).ok()));
    let (out_pipe, err_pipe) = (child.stdout.take(), child.stderr.take());
    let (mut stdout, mut stderr) = (Spool::default(), Spool::default());
    let mut timed_out = None;
    let status = {
        let work = async {
            let drains =
                async { tokio::join!(drain(out_pipe, &mut stdout), drain(err_pipe, &mut stderr)) };
            tokio::pin!(drains);
            let mut drained = false;
            let status = loop {
                tokio::select! {
                    status = child.wait() => break status,
                    _ = &mut drains, if !drained => drained = true,
                }
            };
            // The job has exited: what it wrote is in the pipes, read in an instant. Something
            // it left running in the background may hold them open for ever (`cmd &`,
            // `ssh -f`, a daemon): like GNU parallel, the job is over when its process is.
            if !drained {
                let _ = tokio::time::timeout(AFTER_EXIT, &mut drains).await;
            }
            status
        };
        tokio::pin!(work);
        match stop.timeout {
            None => Some((&mut work).await),
            Some(limit) => tokio::select! {
                status = &mut work => Some(status),
                _ = sleep(limit) => {
                    timed_out = Some(limit);
                    group.signal(Signal::SIGTERM);
                    tokio::select! {
                        status = &mut work => Some(status),
                        _ = sleep(stop.grace) => {
                            group.signal(Signal::SIGKILL);
                            // The pipes close when the group is dead; a process that left the
                            // group may hold them open, so do not wait for it forever.
                            tokio::select! {
                                status = &mut work => Some(status),
                                _ = sleep(stop.grace.max(Duration::from_secs(1))) => None,
                            }
                        }
                    }
                }
            },
        }
    };
    let status = match status {
        None => None,
        Some(Ok(status)) => {
            // The leader is reaped and the pipes are closed; its group id may be reused, so
            // never signal it again.
            group.0 = None;
            Some(status)
        }
        Some(Err(e)) => {
            return Err(NotRun::Lost(format!(
                "waiting for {}: {e}",
                program.to_string_lossy()
            )))
        }
    };
    Ok(Ran {
        status,
        stdout,
        stderr,
        timed_out,
    })
}

/// Reads a pipe to its end into `spool`. Most jobs print a line or nothing: a small buffer on
/// the stack serves them, and a large one is allocated only for a job that fills it. (A large
/// array on the stack would make every job's future, which is moved into its task, that large.)
async fn drain(pipe: Option<impl AsyncRead + Unpin>, spool: &mut Spool) {
    let Some(mut pipe) = pipe else { return };
    let mut small = [0u8; 256];
    let mut large = Vec::new();
    loop {
        let buf: &mut [u8] = if large.is_empty() {
            &mut small
        } else {
            &mut large
        };
        match pipe.read(buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let full = n == buf.len();
                // A spool that cannot be written (a full disk) says so in `cut`; reading goes
                // on, so the job is not killed by SIGPIPE for it.
                let _ = spool.push(&buf[..n]);
                if full && large.is_empty() {
                    large = vec![0u8; 64 * 1024];
                }
            }
        }
    }
}

/// Signals a job's process group; kills it when dropped (timeout, `--halt now`, a kill), so
/// that what the command started dies with it. Disarmed once the leader has been reaped.
struct GroupKiller(Option<i32>);

impl GroupKiller {
    fn signal(&self, signal: Signal) {
        if let Some(pgid) = self.0 {
            // ESRCH (already gone) is the common, harmless case.
            let _ = killpg(Pid::from_raw(pgid), signal);
        }
    }
}

impl Drop for GroupKiller {
    fn drop(&mut self) {
        self.signal(Signal::SIGKILL);
    }
}

fn spawn_error(program: &OsString, e: &io::Error) -> String {
    let program = program.to_string_lossy();
    match e.kind() {
        io::ErrorKind::NotFound => format!("command not found: {program}"),
        io::ErrorKind::PermissionDenied => format!("permission denied: {program}"),
        _ => format!("cannot run {program}: {e}"),
    }
}
