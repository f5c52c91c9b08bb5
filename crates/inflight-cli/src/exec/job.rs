//! `inflight exec`: one process per input (see `process` for how it runs and stops).
use std::os::unix::process::ExitStatusExt;

use futures::future::BoxFuture;
use inflight::{Failure, Outcome};

use crate::exec::process::{self, NotRun, Ran, Stop};
use crate::exec::slots::Slots;
use crate::exec::template::Template;
use crate::helpers::human::human;
use crate::helpers::shown;
use crate::run::job::{policy_failure, record_of, Finished, Input, Job};
use crate::run::retry::Retryable;
use crate::run::spool::Spool;

/// `exec`'s job: the command template, how a timed-out job is stopped, and the `{%}` slots.
pub struct Exec {
    pub template: Template,
    pub stop: Stop,
    /// Only when the template uses `{%}`.
    pub slots: Option<Slots>,
}

/// A failed attempt.
pub enum ExecError {
    /// The command ran and exited non-zero, or was killed by a signal.
    Exited(Ran),
    /// `--timeout` stopped it (what it wrote is kept).
    TimedOut(Ran),
    /// The command could not be started (not found, not executable, input too long): never
    /// retried.
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
    type Output = Ran;
    type Error = ExecError;

    fn attempt(&self, input: &Input) -> BoxFuture<'static, Result<Ran, ExecError>> {
        if let Some(message) = input.too_long() {
            return Box::pin(std::future::ready(Err(ExecError::NotStarted(message))));
        }
        let slot = self.slots.as_ref().map(Slots::take);
        let number = slot.as_ref().map_or(0, |s| s.number);
        let argv = self.template.render(&input.line, input.seq, number);
        let stop = self.stop;
        Box::pin(async move {
            let result = match process::run(&argv, stop).await {
                Ok(ran) if ran.timed_out.is_some() => Err(ExecError::TimedOut(ran)),
                Ok(ran) if ran.status.is_some_and(|s| s.success()) => Ok(ran),
                Ok(ran) => Err(ExecError::Exited(ran)),
                Err(NotRun::Start(message)) => Err(ExecError::NotStarted(message)),
                Err(NotRun::Lost(message)) => Err(ExecError::Lost(message)),
            };
            drop(slot); // held while the process ran
            result
        })
    }

    fn finish(&self, outcome: Outcome<Input, Ran, ExecError>) -> Finished {
        let mut record = record_of(&outcome);
        let (mut stdout, mut stderr) = (Spool::default(), Spool::default());
        match outcome.result {
            Ok(ran) | Err(Failure::Error(ExecError::Exited(ran))) => {
                let status = ran.status;
                record.ok = status.is_some_and(|s| s.success());
                record.status = status.and_then(|s| s.code()).map(i64::from);
                record.error = match status {
                    Some(s) if s.success() => None,
                    Some(s) => match s.signal() {
                        Some(sig) => Some(format!("killed by signal {sig}")),
                        None => Some(format!("exit status {}", s.code().unwrap_or(-1))),
                    },
                    None => Some("lost".into()),
                };
                (stdout, stderr) = (ran.stdout, ran.stderr);
            }
            Err(Failure::Error(ExecError::TimedOut(ran))) => {
                let limit = ran.timed_out.unwrap_or_default();
                let killed = !matches!(ran.status, Some(s) if s.signal() != Some(9));
                record.error = Some(if killed {
                    format!(
                        "timed out after {}; killed after the {} grace period",
                        human(limit),
                        human(self.stop.grace)
                    )
                } else {
                    format!("timed out after {}", human(limit))
                });
                (stdout, stderr) = (ran.stdout, ran.stderr);
            }
            Err(Failure::Error(ExecError::NotStarted(msg) | ExecError::Lost(msg))) => {
                record.error = Some(shown::cut(msg))
            }
            Err(failure) => record.error = policy_failure(&failure),
        }
        // Output that could not be kept (a full $TMPDIR) makes the job failed: its log record
        // must not say ok, or `--resume` would skip a job whose output was lost.
        for cut in [stdout.cut.take(), stderr.cut.take()].into_iter().flatten() {
            crate::helpers::say::line(&format!("inflight: job {}: {cut}", record.seq));
            if record.ok || record.error.is_none() {
                record.ok = false;
                record.error = Some(format!("output incomplete: {cut}"));
            }
        }
        // A plain non-zero exit speaks for itself on the job's stderr; other failures would be
        // silent without the log, so say them once.
        if let Some(error) = &record.error {
            if record.status.is_none() {
                let line = format!(
                    "inflight: job {} ({}): {error}\n",
                    record.seq,
                    shown::input(&outcome.input.line, outcome.input.cut)
                );
                let _ = stderr.push(line.as_bytes());
            }
        }
        Finished {
            record,
            stdout,
            stderr,
        }
    }
}
