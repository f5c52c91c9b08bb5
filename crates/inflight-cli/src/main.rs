//! The `inflight` command line tool: `exec` runs a command per input, `fetch` downloads URLs,
//! both with a bounded number in flight. See `inflight --help` and USAGE.md.
mod cli;
mod exec;
mod fetch;
mod halt;
mod input;
mod log;
mod names;
mod parse;
mod progress;
mod retry;
mod run;
mod save;
mod tally;
mod template;

use std::path::Path;
use std::time::Duration;

use clap::error::ErrorKind;
use clap::Parser;
use futures::stream::{self, StreamExt};

use cli::{Cli, Command, Common, ExecArgs, FetchArgs};
use tally::EXIT_USAGE;

fn main() {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => usage_error(e),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => fail(&format!("cannot start the async runtime: {e}")),
    };
    let status = runtime.block_on(async {
        match cli.command {
            Command::Exec(args) => exec_main(args).await,
            Command::Fetch(args) => fetch_main(args).await,
        }
    });
    // Reading stdin parks a thread in a read that cannot be cancelled; do not wait for it.
    runtime.shutdown_timeout(Duration::from_millis(50));
    std::process::exit(status);
}

/// Help and version go to stdout as usual; every real usage error becomes one line.
fn usage_error(e: clap::Error) -> ! {
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => e.exit(),
        _ => {
            let text = e.to_string();
            let first = text.lines().next().unwrap_or("bad arguments");
            let message = first.strip_prefix("error: ").unwrap_or(first);
            eprintln!("inflight: {message} (see --help)");
            std::process::exit(EXIT_USAGE);
        }
    }
}

/// A fatal error before any job ran: one line, exit status 2.
fn fail(message: &str) -> ! {
    eprintln!("inflight: {message}");
    std::process::exit(EXIT_USAGE);
}

async fn exec_main(args: ExecArgs) -> i32 {
    let (template, inputs) = match template::Template::parse(args.command) {
        Ok(parsed) => parsed,
        Err(e) => fail(&e),
    };
    let jobs = args.common.jobs.unwrap_or_else(cpus);
    let total = inputs.as_ref().map(|i| i.len() as u64);
    let settings = settings(&args.common, jobs, args.keep_order, total, None);
    let job = exec::Exec { template };
    match inputs {
        Some(list) => {
            run::run(
                stream::iter(list.into_iter().map(Ok)).boxed(),
                settings,
                job,
            )
            .await
        }
        None => run::run(input::lines(tokio::io::stdin()).boxed(), settings, job).await,
    }
}

async fn fetch_main(args: FetchArgs) -> i32 {
    let jobs = args.common.jobs.unwrap_or(50);
    let settings = settings(&args.common, jobs, false, None, args.per_host);
    if let Some(dir) = &args.output {
        if let Err(e) = std::fs::create_dir_all(dir) {
            fail(&format!(
                "cannot create output directory {}: {e}",
                dir.display()
            ));
        }
    }
    let client = match fetch::Fetcher::client(args.max_redirects) {
        Ok(c) => c,
        Err(e) => fail(&format!("cannot set up the HTTP client: {e}")),
    };
    let job = fetch::Fetcher {
        client,
        max_size: args.max_size,
        max_redirects: args.max_redirects,
        out_dir: args.output.map(std::sync::Arc::from),
    };
    // Blank lines are not inputs (and do not take a job number).
    let urls = |lines: stream::BoxStream<'static, std::io::Result<String>>| {
        lines
            .filter(|l| std::future::ready(!matches!(l, Ok(l) if l.trim().is_empty())))
            .boxed()
    };
    match &args.file {
        Some(path) => match tokio::fs::File::open(path).await {
            Ok(file) => run::run(urls(input::lines(file).boxed()), settings, job).await,
            Err(e) => fail(&format!("cannot open {}: {e}", path.display())),
        },
        None => {
            run::run(
                urls(input::lines(tokio::io::stdin()).boxed()),
                settings,
                job,
            )
            .await
        }
    }
}

/// The run settings common to both commands; opens the log and reads it for `--resume`.
fn settings(
    common: &Common,
    jobs: usize,
    keep_order: bool,
    total: Option<u64>,
    per_host: Option<usize>,
) -> run::Settings {
    let (log, done) = match &common.log {
        Some(path) => open_log(path, common.resume),
        None => (None, None),
    };
    run::Settings {
        jobs,
        keep_order,
        timeout: common.timeout,
        retries: common.retries,
        rate: common.rate,
        halt: common.halt(),
        per_host,
        log,
        done,
        progress: progress::Progress::new(common.bar, common.quiet, total),
    }
}

fn open_log(path: &Path, resume: bool) -> (Option<log::Log>, Option<log::Done>) {
    let done = if resume {
        match log::Done::read(path) {
            Ok(done) => {
                if done.bad_lines > 0 {
                    eprintln!(
                        "inflight: ignored {} unreadable line(s) in {} (torn by an earlier crash?)",
                        done.bad_lines,
                        path.display()
                    );
                }
                Some(done)
            }
            Err(e) => fail(&format!("cannot read log {}: {e}", path.display())),
        }
    } else {
        None
    };
    match log::Log::open(path) {
        Ok(log) => (Some(log), done),
        Err(e) => fail(&format!("cannot open log {}: {e}", path.display())),
    }
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
