//! What both commands do to start a run from their options: the run settings (the log and
//! `--resume`, the progress), `--metrics`, the input lines, and a fatal error's one line.

use crate::cli::Common;
use crate::helpers::say;
use crate::run::input::RawLine;
use crate::run::tally::EXIT_USAGE;
use crate::run::{input, jobs, log, progress, runner};
use futures::stream::{BoxStream, StreamExt};
use std::path::Path;
use std::time::Duration;

/// A fatal error before any job ran: one line, exit status 255.
pub fn fail(message: &str) -> ! {
    say::line(&format!("inflight: {message}"));
    std::process::exit(EXIT_USAGE);
}

/// The input lines of stdin or a file, split and capped as the options say.
pub fn lines<R>(reader: R, common: &Common) -> BoxStream<'static, std::io::Result<RawLine>>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    let delim = if common.null { 0 } else { b'\n' };
    let max = usize::try_from(common.max_line).unwrap_or(usize::MAX);
    input::lines(reader, delim, max).boxed()
}

/// The run settings common to both commands; opens the log and reads it for `--resume`.
pub fn settings(
    common: &Common,
    jobs: jobs::Jobs,
    keep_order: bool,
    total: Option<u64>,
    per_host: Option<usize>,
    timeout: Option<Duration>,
    read: &[log::Source],
) -> runner::Settings {
    let (log, done) = match &common.log {
        Some(path) => open_log(path, common.resume, read),
        None => (None, None),
    };
    runner::Settings {
        jobs,
        keep_order,
        timeout,
        retries: common.retries,
        rate: common.rate,
        halt: common.halt(),
        per_host,
        log,
        done,
        progress: progress::Progress::new(common.bar, common.quiet, total),
        plug: None,
        feed: None,
        metrics: None,
    }
}

/// `--metrics ADDR`: the run's metrics, served from now on (a one-line error and status 255
/// if ADDR cannot be bound).
pub async fn serve_metrics(
    common: &Common,
    command: &'static str,
) -> Option<std::sync::Arc<crate::metrics::run::RunMetrics>> {
    let addr = common.metrics.as_deref()?;
    let redis = &common.redis;
    let worker = redis
        .worker
        .clone()
        .unwrap_or_else(crate::metrics::run::process_name);
    let m = crate::metrics::run::RunMetrics::new(command, &worker, redis.queue.as_deref());
    if let Err(e) = crate::metrics::serve(addr, m.clone()).await {
        fail(&e);
    }
    Some(m)
}

/// Opens (and locks) the log, refusing one that is also an input, and reads it for
/// `--resume` once no earlier run's jobs hold it.
pub fn open_log(
    path: &Path,
    resume: bool,
    read: &[log::Source],
) -> (Option<log::Log>, Option<log::Done>) {
    // Checked before the log is opened, which may write to it: records read back as inputs
    // would make the file grow for ever.
    if let Some(input) = log::is_an_input(path, read) {
        fail(&format!(
            "--log {} is also the input ({input}): every record would be read back as an input; log to another file",
            path.display()
        ));
    }
    let mut log = match log::Log::open(path) {
        Ok(log) => log,
        Err(e) => fail(&format!("cannot open log {}: {e}", path.display())),
    };
    if let Err(e) = log.lock(resume, path) {
        fail(&format!("cannot lock log {}: {e}", path.display()));
    }
    let done = if resume {
        match log::Done::read(path) {
            Ok(done) => {
                if done.bad_lines > 0 {
                    say::line(&format!(
                        "inflight: ignored {} unreadable line(s) in {} (torn by an earlier crash?)",
                        done.bad_lines,
                        path.display()
                    ));
                }
                Some(done)
            }
            Err(e) => fail(&format!("cannot read log {}: {e}", path.display())),
        }
    } else {
        None
    };
    (Some(log), done)
}
