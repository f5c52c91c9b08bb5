//! `inflight exec`: one process per input, spawned directly (no shell), in its own process
//! group so a timeout or a kill takes its children too.
use std::io;
use std::process::{Output, Stdio};
use std::time::Duration;

use futures::future::BoxFuture;
use inflight::{Failure, Outcome};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::process::Command;

use crate::log::Record;
use crate::retry::Retryable;
use crate::run::{policy_failure, record_of, Finished, Input, Job};
use crate::template::Template;

/// `exec`'s job: the command template.
pub struct Exec {
    pub template: Template,
}

/// A failed attempt (a timeout is the library's [`Failure::TimedOut`]).
pub enum ExecError {
    /// The command ran and exited non-zero, or was killed by a signal.
    Exited(Output),
    /// The command could not be started (not found, not executable): never retried.
    NotStarted(String),
    /// Waiting for the process failed; the process group is killed.
    Lost(String),
}

impl Retryable for ExecError {
    fn retryable(&self) -> bool {
        !matches!(self, ExecError::NotStarted(_))
    }
}

impl Job for Exec {
    type Output = Output;
    type Error = ExecError;

    fn attempt(&self, input: &Input) -> BoxFuture<'static, Result<Output, ExecError>> {
        let argv = self.template.render(&input.line, input.seq);
        Box::pin(attempt(argv))
    }

    fn finish(&self, outcome: Outcome<Input, Output, ExecError>) -> Finished {
        let mut record = record_of(&outcome);
        let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
        let mut exited = |out: Output, record: &mut Record| {
            use std::os::unix::process::ExitStatusExt;
            record.ok = out.status.success();
            record.status = out.status.code().map(i64::from);
            if let Some(sig) = out.status.signal() {
                record.error = Some(format!("killed by signal {sig}"));
            } else if !record.ok {
                record.error = Some(format!("exit status {}", out.status.code().unwrap_or(-1)));
            }
            stdout = out.stdout;
            stderr = out.stderr;
        };
        match outcome.result {
            Ok(out) | Err(Failure::Error(ExecError::Exited(out))) => exited(out, &mut record),
            Err(Failure::Error(ExecError::NotStarted(msg) | ExecError::Lost(msg))) => {
                record.error = Some(msg)
            }
            Err(failure) => record.error = policy_failure(&failure),
        }
        // A plain non-zero exit speaks for itself on the job's stderr; other failures would be
        // silent without the log, so say them once.
        if let Some(error) = &record.error {
            if record.status.is_none() {
                let line = format!(
                    "inflight: job {} ({:?}): {error}\n",
                    record.seq, record.input
                );
                stderr.extend_from_slice(line.as_bytes());
            }
        }
        Finished {
            record,
            stdout,
            stderr,
        }
    }
}

/// One run of the command. On a timeout (the library's `--timeout`), `--halt now` or a kill,
/// the library drops this future (in spawn mode: aborts its task, which drops it), and the
/// drop kills the process group: `kill_on_drop` for the leader, [`GroupKiller`] for what it
/// started.
async fn attempt(argv: Vec<String>) -> Result<Output, ExecError> {
    let Some((program, args)) = argv.split_first() else {
        return Err(ExecError::NotStarted("empty command".into()));
    };
    let mut cmd = Command::new(program);
    cmd.args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    let child = match cmd.spawn() {
        Ok(child) => child,
        Err(e) => return Err(ExecError::NotStarted(spawn_error(program, &e))),
    };
    let mut group = GroupKiller(child.id().and_then(|id| i32::try_from(id).ok()));
    match child.wait_with_output().await {
        Ok(out) => {
            // The leader is reaped; its group id may be reused, so never signal it again.
            group.0 = None;
            if out.status.success() {
                Ok(out)
            } else {
                Err(ExecError::Exited(out))
            }
        }
        Err(e) => Err(ExecError::Lost(format!("waiting for {program}: {e}"))),
    }
}

/// Kills a job's process group when dropped (timeout, `--halt now`, second Ctrl-C), so that
/// what the command started dies with it. Disarmed once the leader has been reaped.
struct GroupKiller(Option<i32>);

impl Drop for GroupKiller {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            // ESRCH (already gone) is the common, harmless case.
            let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
        }
    }
}

fn spawn_error(program: &str, e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::NotFound => format!("command not found: {program}"),
        io::ErrorKind::PermissionDenied => format!("permission denied: {program}"),
        _ => format!("cannot run {program}: {e}"),
    }
}

/// `500ms`, `10s`, `1.5s`.
pub fn human(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 1000 {
        format!("{ms}ms")
    } else if ms.is_multiple_of(1000) {
        format!("{}s", ms / 1000)
    } else {
        format!("{}s", d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_durations() {
        assert_eq!(human(Duration::from_millis(500)), "500ms");
        assert_eq!(human(Duration::from_secs(10)), "10s");
        assert_eq!(human(Duration::from_millis(1500)), "1.5s");
    }
}
