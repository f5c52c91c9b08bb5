//! The `inflight` command line tool: `exec` runs a command per input, `fetch` downloads URLs,
//! both with a bounded number in flight. See `inflight --help` and USAGE.md.
//!
//! # Map
//!
//! Imports run one way, down this list; no file imports a file that imports it back
//! (`scripts/check-import-loops.py` checks it), and `exec`, `fetch` and `redis` never import
//! each other.
//!
//! - this file: picks the runtime, builds each command's job and settings from the options
//!   and hands them to the run loop. `cli` declares the command line (clap), `usage` says its
//!   errors in one line, `extras` makes completions and man pages.
//! - [`exec`] and [`fetch`]: what one command adds, each a [`run::job::Job`] (what to do with
//!   one input) and the pieces only it needs.
//! - [`redis`]: `--redis` (shared limits, `--queue`) and the `queue` and `limits` commands.
//! - [`run`]: the loop both commands share (inputs, the library's builder, output, log,
//!   signals, the exit status).
//! - [`metrics`]: a run's Prometheus series (`--metrics`) and the small HTTP server that the
//!   dashboard shares; imports only `helpers`.
//! - [`helpers`]: small things everyone uses (`say`, `parse`, `human`...), importing nothing.
//!
//! Where things go: an option both commands take is a field of `cli::Common`, read in
//! [`settings`] (or by the `run/` file that owns it); an option of one command goes in its
//! args (`cli::ExecArgs`, `fetch::crawl::CrawlArgs`) and is used in `exec/` or `fetch/`; a
//! Redis option goes in `redis::options`. A new fetch feature is a file in `fetch/` used by
//! `fetch::job`; a new command is a folder (or a file in `redis/` if it only speaks to Redis)
//! with its arguments beside its code, a variant of `cli::Command` and an arm in [`main`].
//! Something two folders share moves down: into `run/` if it is part of a run, else into
//! `helpers/`.
mod cli;
mod exec;
mod extras;
mod fetch;
mod helpers;
mod metrics;
mod redis;
mod run;
mod usage;

use std::path::Path;
use std::time::Duration;

use clap::Parser;
use futures::stream::{BoxStream, StreamExt};

use cli::{Cli, Command, Common, ExecArgs, FetchArgs};
use exec::{process, slots, sources, template};
use fetch::{client, crawl, outdir, partial};
use helpers::{fdlimit, say};
use redis::{limits_cmd, queue_cmd, setup};
use run::input::RawLine;
use run::tally::EXIT_USAGE;
use run::{groups, guard, input, jobs, log, progress, runner, spool, tally};

fn main() {
    // The guard of a run's jobs is inflight started again (see run::groups): before anything
    // else, and without the command line parser.
    let mut argv = std::env::args_os().skip(1);
    if argv.next().as_deref() == Some(std::ffi::OsStr::new(guard::ARG)) {
        guard::main(argv.next().as_deref().and_then(std::ffi::OsStr::to_str));
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => usage::exit(e),
    };
    let printed = match &cli.command {
        Command::Completions { shell } => Some(extras::completions(*shell)),
        Command::Man { dir } => Some(extras::man(dir.as_deref())),
        _ => None,
    };
    if let Some(result) = printed {
        match result {
            Ok(()) => std::process::exit(0),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
                std::process::exit(tally::EXIT_BROKEN_PIPE)
            }
            Err(e) => match &cli.command {
                Command::Man { dir: Some(dir) } => fail(&format!(
                    "cannot write the man pages in {}: {e}",
                    dir.display()
                )),
                _ => fail(&format!("cannot write: {e}")),
            },
        }
    }
    fdlimit::raise();
    if let Err(e) = fdlimit::enough_to_start() {
        fail(&e);
    }
    let runtime = match runtime_for(&cli.command).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => fail(&format!("cannot start the async runtime: {e}")),
    };
    let status = runtime.block_on(async {
        match cli.command {
            Command::Exec(args) => exec_main(*args).await,
            Command::Fetch(args) => fetch_main(*args).await,
            Command::Queue(args) => queue_cmd::main(args).await,
            Command::Limits(args) => limits_cmd::main(args).await,
            Command::Dashboard(args) => redis::dashboard::main(args).await,
            Command::Completions { .. } | Command::Man { .. } => 0,
        }
    });
    // Reading stdin parks a thread in a read that cannot be cancelled; do not wait for it.
    runtime.shutdown_timeout(Duration::from_millis(50));
    std::process::exit(status);
}

/// exec: a thread per core, so jobs' output is read on every core. fetch: one thread by
/// default (`--threads`), which drives thousands of connections without handing work and
/// wake-ups between threads, as curl and aria2 do: on a small machine this halves the CPU time
/// per request.
fn runtime_for(command: &Command) -> tokio::runtime::Builder {
    match command {
        Command::Fetch(args) if args.crawl.threads == 1 => {
            tokio::runtime::Builder::new_current_thread()
        }
        Command::Fetch(args) => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(args.crawl.threads);
            builder
        }
        _ => tokio::runtime::Builder::new_multi_thread(),
    }
}

/// A fatal error before any job ran: one line, exit status 255.
fn fail(message: &str) -> ! {
    say::line(&format!("inflight: {message}"));
    std::process::exit(EXIT_USAGE);
}

/// The input lines of stdin or a file, split and capped as the options say.
fn lines<R>(reader: R, common: &Common) -> BoxStream<'static, std::io::Result<RawLine>>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
{
    let delim = if common.null { 0 } else { b'\n' };
    let max = usize::try_from(common.max_line).unwrap_or(usize::MAX);
    input::lines(reader, delim, max).boxed()
}

async fn exec_main(args: ExecArgs) -> i32 {
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
    let job = exec::job::Exec {
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

async fn fetch_main(args: FetchArgs) -> i32 {
    let jobs = args.common.jobs.unwrap_or(jobs::Jobs::Fixed(50));
    // Few descriptors (a low `ulimit -n`): no more requests at once than they can serve.
    let dirs = match (&args.output, args.crawl.layout) {
        (Some(_), outdir::Layout::Host | outdir::Layout::Tree) => outdir::cache_size(),
        _ => 0,
    };
    let most = fdlimit::most_requests(dirs);
    let (jobs, lowered) = jobs.capped(most);
    if lowered {
        say::line(&format!(
            "inflight: at most {most} requests at once: the limit on open files (ulimit -n) is {}",
            fdlimit::soft_limit()
        ));
    }
    // `-` is stdin, as for curl and most tools.
    let file = args.file.as_ref().filter(|path| path.as_os_str() != "-");
    let read: Vec<log::Source> = match (file, &args.common.redis.queue) {
        (Some(f), _) => vec![log::Source::File(f)],
        (None, Some(_)) => vec![],
        (None, None) => vec![log::Source::Stdin],
    };
    let mut settings = settings(
        &args.common,
        jobs,
        false,
        None,
        args.per_host,
        args.common.timeout,
        &read,
    );
    let crawl = &args.crawl;
    if crawl.print == Some(crawl::Print::Path) && args.output.is_none() {
        fail("--print path needs -o DIR (without it no file is saved)");
    }
    let out = args.output.as_ref().map(|dir| {
        // Checked before the first request: a run whose bodies cannot be saved is no run.
        match outdir::OutDir::open(dir, crawl.layout, crawl.save_as.clone()) {
            Ok(out) => (
                std::sync::Arc::new(out),
                std::sync::Arc::from(dir.as_path()),
            ),
            Err(e) => fail(&format!(
                "cannot write in output directory {}: {e}",
                dir.display()
            )),
        }
    });
    let client = match client::build(args.max_redirects, crawl) {
        Ok(c) => c,
        Err(e) => fail(&e),
    };
    // Partial bodies are byte ranges of what the server sends; decoded ones are not.
    let partials = match (&out, crawl.compressed) {
        (Some((out, _)), false) => Some(std::sync::Arc::new(partial::Partials::new(
            out.root().clone(),
            args.common.resume,
        ))),
        _ => None,
    };
    let job = fetch::job::Fetcher {
        client: client.full,
        plain_client: client.plain,
        max_size: args.max_size,
        max_redirects: args.max_redirects,
        partials: partials.clone(),
        out,
        print: crawl.print,
        compressed: crawl.compressed,
        route: client.route,
    };
    // Blank lines are not inputs (and do not take a job number).
    let urls = |lines: BoxStream<'static, std::io::Result<RawLine>>| {
        lines
            .filter(|l| {
                let blank =
                    matches!(l, Ok(l) if l.cut.is_none() && l.bytes.trim_ascii().is_empty());
                std::future::ready(!blank)
            })
            .boxed()
    };
    let global_per_host = args.redis_fetch.global_per_host;
    let own_inputs = file.is_some();
    let queued = match setup::prepare(
        &args.common.redis,
        args.common.resume,
        global_per_host,
        own_inputs,
        &mut settings,
    )
    .await
    {
        Ok(queued) => queued,
        Err(e) => fail(&e),
    };
    settings.metrics = serve_metrics(&args.common, "fetch").await;
    let status = match (queued, file) {
        (Some(queued), _) => runner::run(urls(queued), settings, job).await,
        (None, Some(path)) => match tokio::fs::File::open(path).await {
            Ok(file) => runner::run(urls(lines(file, &args.common)), settings, job).await,
            Err(e) => fail(&format!("cannot open {}: {e}", path.display())),
        },
        (None, None) => {
            let input = urls(lines(tokio::io::stdin(), &args.common));
            runner::run(input, settings, job).await
        }
    };
    if let Some(partials) = partials {
        partials.tidy();
    }
    status
}

/// The run settings common to both commands; opens the log and reads it for `--resume`.
fn settings(
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
async fn serve_metrics(
    common: &Common,
    command: &'static str,
) -> Option<std::sync::Arc<metrics::run::RunMetrics>> {
    let addr = common.metrics.as_deref()?;
    let redis = &common.redis;
    let worker = redis
        .worker
        .clone()
        .unwrap_or_else(metrics::run::process_name);
    let m = metrics::run::RunMetrics::new(command, &worker, redis.queue.as_deref());
    if let Err(e) = metrics::serve(addr, m.clone()).await {
        fail(&e);
    }
    Some(m)
}

/// Opens (and locks) the log, refusing one that is also an input, and reads it for
/// `--resume` once no earlier run's jobs hold it.
fn open_log(
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
