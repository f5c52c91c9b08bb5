//! `inflight exec`: its sources and template, the guard of its jobs, and the run.

use super::startup::{fail, serve_metrics, settings};
use crate::cli::ExecArgs;
use crate::exec::{process, slots, sources, template};
use crate::helpers::{fdlimit, say};
use crate::redis::setup;
use crate::run::{groups, jobs, log, runner, spool};

/// Runs `inflight exec`; returns the exit status.
pub async fn main(args: ExecArgs) -> i32 {
    let (command, list) = match sources::split(args.command) {
        Ok(split) => split,
        Err(e) => fail(&e),
    };
    let sources = sources::Sources {
        list,
        link: args.link,
    };
    if args.link && sources.list.len() < 2 {
        fail("--link needs two input sources or more (::: or ::::)");
    }
    let template = match template::Template::parse(command, sources.count()) {
        Ok(template) => template,
        Err(e) => fail(&e),
    };
    if let Err(e) = spool::check_temp_dir() {
        fail(&e);
    }
    let jobs = args
        .common
        .jobs
        .unwrap_or_else(|| jobs::Jobs::Fixed(jobs::cpus()));
    let mut read: Vec<log::Source> = sources.files().map(log::Source::File).collect();
    // A queue worker reads the queue, not stdin.
    if sources.reads_stdin() && args.common.redis.queue.is_none() {
        read.push(log::Source::Stdin);
    }
    // exec applies --timeout itself (TERM, grace, KILL, output kept), not through the library.
    let mut settings = settings(
        &args.common,
        jobs,
        args.keep_order,
        sources.total(),
        None,
        None,
        &read,
    );
    // Jobs stop with inflight, even after a SIGKILL, and the log stays locked until they have.
    let lock = settings.log.as_ref().and_then(log::Log::share_lock);
    if let Err(e) = groups::start_guard(args.term_grace, lock) {
        // Its pipe and process are fewer descriptors than one job needs.
        if fdlimit::exhausted(&e) {
            fail(&fdlimit::too_few());
        }
        say::line(&format!(
            "inflight: cannot start the guard of the jobs ({e}); if inflight is killed, its jobs run on"
        ));
    }
    let job = crate::exec::job::Exec {
        slots: template.uses_slot.then(slots::Slots::default),
        template,
        stop: process::Stop {
            timeout: args.common.timeout,
            grace: args.term_grace,
        },
    };
    let queued = setup::prepare(
        &args.common.redis,
        args.common.resume,
        None,
        !sources.list.is_empty(),
        &mut settings,
    )
    .await;
    let queued = queued.unwrap_or_else(|e| fail(&e));
    // Once every option is known to be good: a run refused is not served.
    settings.metrics = serve_metrics(&args.common, "exec").await;
    let status = match queued {
        Some(queued) => runner::run(queued, settings, job).await,
        None => {
            let delim = if args.common.null { 0 } else { b'\n' };
            let max = usize::try_from(args.common.max_line).unwrap_or(usize::MAX);
            match sources.open(delim, max).await {
                Ok(inputs) => runner::run(inputs, settings, job).await,
                Err(e) => fail(&e),
            }
        }
    };
    groups::close_guard();
    status
}
