//! `inflight fetch`: its client, output directory and crawl, and the run.

use super::startup::{fail, lines, serve_metrics, settings};
use crate::cli::FetchArgs;
use crate::fetch::{client, crawl, outdir, partial};
use crate::helpers::{fdlimit, say};
use crate::redis::setup;
use crate::run::input::RawLine;
use crate::run::{jobs, log, runner};
use futures::stream::{BoxStream, StreamExt};

/// Runs `inflight fetch`; returns the exit status.
pub async fn main(args: FetchArgs) -> i32 {
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
    let job = crate::fetch::job::Fetcher {
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
