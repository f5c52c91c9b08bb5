//! `inflight exec`: one process per input, spawned directly (no shell), in its own process
//! group so a timeout or a kill takes its children too.
use std::io;
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::process::Command;

use crate::log::Record;
use crate::retry;
use crate::run::{Finished, Input, Shared};
use crate::template::Template;

/// The result of one attempt.
enum Attempt {
    Exited(Output),
    /// The command could not be started (not found, not executable): never retried.
    NotStarted(String),
    /// Waiting for the process failed; the process group is killed.
    Lost(String),
    TimedOut(Duration),
}

/// Runs one input to completion, with retries; `None` if the run stopped before it started.
pub async fn job(input: Input, shared: Arc<Shared>, template: Arc<Template>) -> Option<Finished> {
    let argv = template.render(&input.line, input.seq);
    let mut attempts = 0;
    let mut began = Instant::now();
    loop {
        if let Some(pacer) = &shared.pacer {
            pacer.wait().await;
        }
        if attempts == 0 {
            if !shared.begin() {
                return None;
            }
            began = Instant::now();
        }
        attempts += 1;
        let outcome = attempt(&argv, shared.timeout).await;
        let retryable = match &outcome {
            Attempt::Exited(out) => !out.status.success(),
            Attempt::NotStarted(_) => false,
            Attempt::Lost(_) | Attempt::TimedOut(_) => true,
        };
        // A stopping run (Ctrl-C, --halt) finishes what runs but starts no new attempts.
        if retryable && attempts <= shared.retries && !shared.stop.is_cancelled() {
            tokio::time::sleep(retry::backoff(attempts)).await;
            continue;
        }
        return Some(finish(input, outcome, attempts, began.elapsed()));
    }
}

fn finish(input: Input, outcome: Attempt, attempts: u32, took: Duration) -> Finished {
    let mut record = Record {
        input: input.line,
        seq: input.seq,
        attempts,
        ms: took.as_millis() as u64,
        ..Record::default()
    };
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    match outcome {
        Attempt::Exited(out) => {
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
        }
        Attempt::NotStarted(msg) | Attempt::Lost(msg) => record.error = Some(msg),
        Attempt::TimedOut(limit) => {
            record.error = Some(format!("timed out after {}", human(limit)))
        }
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

/// One run of the command, killed (with its process group) on timeout or when dropped.
async fn attempt(argv: &[String], timeout: Option<Duration>) -> Attempt {
    let Some((program, args)) = argv.split_first() else {
        return Attempt::NotStarted("empty command".into());
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
        Err(e) => return Attempt::NotStarted(spawn_error(program, &e)),
    };
    let mut group = GroupKiller(child.id().and_then(|id| i32::try_from(id).ok()));
    let output = child.wait_with_output();
    let result = match timeout {
        Some(limit) => match tokio::time::timeout(limit, output).await {
            Ok(result) => result,
            Err(_) => return Attempt::TimedOut(limit),
        },
        None => output.await,
    };
    match result {
        Ok(out) => {
            // The leader is reaped; its group id may be reused, so never signal it again.
            group.0 = None;
            Attempt::Exited(out)
        }
        Err(e) => Attempt::Lost(format!("waiting for {program}: {e}")),
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
    } else if ms % 1000 == 0 {
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
