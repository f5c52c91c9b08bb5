//! What `--redis` adds to a run of `exec` or `fetch`, set up before any job starts: the
//! shared limits on the run's builder and, with `--queue`, the inputs and the results.
use std::io;

use futures::stream::BoxStream;

use crate::redis::options::RedisArgs;
use crate::redis::queue_source;
use crate::redis::shared_limits;
use crate::run::input::RawLine;
use crate::run::runner::Settings;

/// Checks the Redis options against the rest, connects and fills `settings`; returns the
/// queue's inputs with `--queue`. `own_inputs`: the command was given inputs of its own
/// (`:::` or a FILE); `resume`: the run's `--resume`. An error is one line for the usage-error
/// exit.
pub async fn prepare(
    args: &RedisArgs,
    resume: bool,
    global_per_host: Option<usize>,
    own_inputs: bool,
    settings: &mut Settings,
) -> Result<Option<BoxStream<'static, io::Result<RawLine>>>, String> {
    let needs = [
        (args.global_jobs.is_some(), "--global-jobs"),
        (args.global_rate.is_some(), "--global-rate"),
        (global_per_host.is_some(), "--global-per-host"),
        (args.queue.is_some(), "--queue"),
    ];
    let needed = needs.iter().find(|(given, _)| *given);
    if needed.is_none() {
        // An option that only qualifies shared limits or a queue would otherwise be ignored
        // without a word: most likely a mistake (say, --name meant as a file-name template).
        let idle = [
            (
                args.name.is_some(),
                "--name",
                " (file names from a template: --save-as)",
            ),
            (args.lease.is_some(), "--lease", ""),
            (args.worker.is_some(), "--worker", ""),
        ];
        if let Some((_, option, hint)) = idle.iter().find(|(given, _, _)| *given) {
            return Err(format!(
                "{option} applies to shared limits or a queue: give --global-jobs, \
                 --global-rate, --global-per-host or --queue too{hint}"
            ));
        }
    }
    let url = match (&args.connection.redis, needed) {
        // Nothing uses Redis: a run does not depend on it (INFLIGHT_REDIS may be set for
        // every command of a shell).
        (_, None) => return Ok(None),
        (None, Some((_, option))) => {
            return Err(format!(
                "{option} needs a Redis server: give --redis URL (or set INFLIGHT_REDIS)"
            ))
        }
        (Some(url), Some(_)) => url,
    };
    if args.queue.is_some() {
        if resume {
            return Err(
                "--queue and --resume do not go together: the queue itself keeps \
                        what is done"
                    .into(),
            );
        }
        if own_inputs {
            return Err(
                "--queue takes the inputs from the queue: give no FILE or ::: inputs".into(),
            );
        }
    }
    let redis = shared_limits::connect(
        &args.connection,
        url,
        settings.progress.clone(),
        "jobs wait",
    )
    .await?;
    let plugs = shared_limits::Plugs::new(&redis, args, global_per_host);
    if let (Some(limit), Some(asked)) = (&plugs.limit, args.global_jobs) {
        // A limit stored by `inflight limits set` wins over the option: say so, since it
        // outlives the run that set it.
        if let Ok(Some(stored)) = limit.stored_limit().await {
            if stored != asked as u64 {
                crate::helpers::say::line(&format!(
                    "inflight: the shared limit '{}' is {stored} (set by `inflight limits set`), \
                     not --global-jobs {asked}; `inflight limits set {} --clear` removes it",
                    args.limits_name(),
                    args.limits_name()
                ));
            }
        }
    }
    if plugs.per_key.is_some() && settings.per_host.is_none() {
        // The global per-host limit needs the keys; locally, -j is the only cap.
        settings.per_host = Some(settings.jobs.most());
    }
    if plugs.any() {
        settings.plug = Some(plugs.plug());
    }
    settings.feed = Some(std::sync::Arc::new(shared_limits::Settle(redis.clone())));
    Ok(args.queue.as_ref().map(|name| {
        let (inputs, feed) = queue_source::inputs(&redis, name, args, settings.progress.clone());
        settings.feed = Some(feed);
        inputs
    }))
}
