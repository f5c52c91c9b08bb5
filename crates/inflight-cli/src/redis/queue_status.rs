//! `inflight queue status`, `results` and `dead`: what a queue holds, read from Redis.
use std::io::{self, Write};
use std::time::{Duration, Instant};

use clap::Args;
use futures::StreamExt;
use inflight_redis::{Queue, QueueStatus};
use serde_json::json;

use crate::helpers::human::human;
use crate::helpers::parse;
use crate::redis::options::NameArgs;
use crate::run::tally::EXIT_BROKEN_PIPE;

// The options of `inflight queue status` (its help is the doc of `QueueCommand::Status`).
#[derive(Args, Debug)]
pub struct StatusArgs {
    #[command(flatten)]
    pub queue: NameArgs,

    /// Refresh every --interval until Ctrl-C (or until the queue is finished).
    #[arg(long)]
    pub watch: bool,

    /// Time between the two readings the rate is taken from (and between refreshes).
    #[arg(long, value_name = "DURATION", value_parser = parse::duration, default_value = "1s")]
    pub interval: Duration,

    /// One JSON object per reading instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Inputs finished so far, whichever way.
fn finished(s: &QueueStatus) -> u64 {
    s.done + s.failed + s.dead
}

/// Two readings `--interval` apart give the rate; `--watch` goes on reading.
pub async fn show(queue: Queue, args: &StatusArgs) -> Result<i32, String> {
    let read = || async { queue.status().await.map_err(|e| e.to_string()) };
    let mut before = (read().await?, Instant::now());
    loop {
        tokio::time::sleep(args.interval).await;
        let now = (read().await?, Instant::now());
        let secs = now.1.duration_since(before.1).as_secs_f64();
        let rate = finished(&now.0).saturating_sub(finished(&before.0)) as f64 / secs;
        let text = if args.json {
            as_json(queue.name(), &now.0, rate)
        } else {
            as_text(queue.name(), &now.0, rate)
        };
        if let Err(e) = writeln!(io::stdout().lock(), "{text}") {
            return broken(e);
        }
        if !args.watch || now.0.is_finished() {
            return Ok(0);
        }
        before = now;
    }
}

fn eta(s: &QueueStatus, rate: f64) -> Option<Duration> {
    let left = s.pushed.saturating_sub(finished(s));
    if left == 0 {
        return Some(Duration::ZERO);
    }
    (rate > 0.0).then(|| Duration::from_secs_f64(left as f64 / rate))
}

fn as_json(name: &str, s: &QueueStatus, rate: f64) -> String {
    let workers: Vec<_> = s
        .workers
        .iter()
        .map(|w| {
            json!({
                "name": w.name,
                "in_flight": w.in_flight,
                "last_seen_ms": w.last_seen.map(|d| d.as_millis() as u64),
            })
        })
        .collect();
    json!({
        "queue": name,
        "closed": s.closed,
        "finished": s.is_finished(),
        "pushed": s.pushed,
        "waiting": s.waiting,
        "in_flight": s.in_flight,
        "done": s.done,
        "failed": s.failed,
        "dead": s.dead,
        "rate": (rate * 10.0).round() / 10.0,
        "eta_s": eta(s, rate).map(|d| d.as_secs()),
        "workers": workers,
    })
    .to_string()
}

fn as_text(name: &str, s: &QueueStatus, rate: f64) -> String {
    let state = match (s.closed, s.is_finished()) {
        (true, true) => "closed, finished",
        (true, false) => "closed (no more inputs)",
        _ => "open (push may add more)",
    };
    let eta = match eta(s, rate) {
        Some(Duration::ZERO) => "none: every input pushed is finished".into(),
        Some(d) => {
            let d = human(Duration::from_secs(d.as_secs().max(1)));
            if s.closed {
                d
            } else {
                format!("{d} for the inputs pushed so far")
            }
        }
        None => "unknown (nothing finished lately)".into(),
    };
    let mut out = format!(
        "queue {name}: {state}\n\
         pushed     {}\n\
         waiting    {}\n\
         in flight  {}\n\
         done       {}\n\
         failed     {}\n\
         dead       {}\n\
         rate       {rate:.1}/s\n\
         eta        {eta}",
        s.pushed, s.waiting, s.in_flight, s.done, s.failed, s.dead
    );
    if !s.workers.is_empty() {
        out += "\nworkers";
    }
    for w in &s.workers {
        let seen = match w.last_seen {
            Some(d) => format!("last heartbeat {:.1}s ago", d.as_secs_f64()),
            None => "no heartbeat".into(),
        };
        out += &format!("\n  {}  {} in flight, {seen}", w.name, w.in_flight);
    }
    out
}

/// The results as JSON lines: each the record its worker acknowledged.
pub async fn results(queue: Queue, follow: bool) -> Result<i32, String> {
    let mut results = queue.results(follow);
    let mut out = io::stdout().lock();
    while let Some(result) = results.next().await {
        let result = result.map_err(|e| e.to_string())?;
        if let Err(e) = writeln!(out, "{}", result.record).and_then(|()| {
            // With --follow, each line as it comes; else in large writes.
            if follow {
                out.flush()
            } else {
                Ok(())
            }
        }) {
            return broken(e);
        }
    }
    out.flush().map_or_else(broken, |()| Ok(0))
}

/// The dead letters as JSON lines.
pub async fn dead(queue: Queue) -> Result<i32, String> {
    let letters = queue
        .dead_letters(usize::MAX >> 1)
        .await
        .map_err(|e| e.to_string())?;
    let mut out = io::stdout().lock();
    for d in letters {
        // As fetch logs them: a password in a URL is masked.
        let input = String::from_utf8_lossy(&crate::helpers::mask::password(d.input.as_bytes()))
            .into_owned();
        let line = json!({ "input": input, "seq": d.position + 1, "deliveries": d.deliveries });
        if let Err(e) = writeln!(out, "{line}") {
            return broken(e);
        }
    }
    out.flush().map_or_else(broken, |()| Ok(0))
}

/// A closed stdout ends quietly with 141, as a run's does; another write error is an error.
fn broken(e: io::Error) -> Result<i32, String> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(EXIT_BROKEN_PIPE)
    } else {
        Err(format!("cannot write output: {e}"))
    }
}
