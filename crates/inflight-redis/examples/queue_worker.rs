//! A Rust program as a queue worker: the queue's items are the input stream of an
//! `inflight::Inflight` run (timeout, retries, 16 at once), and each outcome is acknowledged
//! with its record. Run it on as many machines as you like, against one Redis:
//!
//! ```sh
//! redis-server --port 6399 --save '' --appendonly yes --daemonize yes
//! cargo run --release -p inflight-redis --example queue_worker -- redis://127.0.0.1:6399 push
//! cargo run --release -p inflight-redis --example queue_worker -- redis://127.0.0.1:6399 work &
//! cargo run --release -p inflight-redis --example queue_worker -- redis://127.0.0.1:6399 work
//! cargo run --release -p inflight-redis --example queue_worker -- redis://127.0.0.1:6399 results
//! ```

use std::time::Duration;

use futures::StreamExt;
use inflight::{Inflight, Retry};
use inflight_redis::{Queue, QueueItem, Redis};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    let what = args.next().unwrap_or_else(|| "work".into());
    let redis = Redis::builder(&url)
        .on_event(|event| eprintln!("queue_worker: {event:?}"))
        .connect()
        .await?;
    let queue = Queue::new(&redis, "example");
    match what.as_str() {
        "push" => {
            let report = queue.push((0..1000).map(|i| format!("job {i}"))).await?;
            queue.close().await?;
            eprintln!(
                "{} pushed, {} were in already",
                report.added, report.skipped
            );
        }
        "work" => {
            let items = queue.items();
            eprintln!("working as {}", items.worker());
            // The run's input stream: the items, until the queue is finished (or Redis is
            // gone past the outage timeout, which ends it with an error).
            let items = items
                .take_while(|item| {
                    if let Err(e) = item {
                        eprintln!("queue_worker: {e}");
                    }
                    std::future::ready(item.is_ok())
                })
                .map(|item| item.expect("errors end the stream above"));
            let mut outcomes = Inflight::new(16)
                .timeout(Duration::from_secs(10))
                .retry(Retry::attempts(2))
                .stream(items, |item: &QueueItem| {
                    let input = item.input().to_string();
                    async move {
                        tokio::time::sleep(Duration::from_millis(5)).await; // the job
                        Ok::<usize, String>(input.len())
                    }
                });
            while let Some(outcome) = outcomes.next().await {
                let ok = outcome.is_ok();
                let record = serde_json::json!({
                    "input": outcome.input.input(),
                    "seq": outcome.input.position() + 1,
                    "ok": ok,
                    "attempts": outcome.attempts,
                    "ms": outcome.elapsed.as_millis() as u64,
                });
                // Acknowledged on its own task, so the run goes on meanwhile.
                tokio::spawn(async move { outcome.input.ack(ok, &record).await });
            }
        }
        "results" => {
            let mut results = queue.results(true);
            while let Some(result) = results.next().await {
                let r = result?;
                println!("{} {}", r.worker, r.record);
            }
        }
        "status" => println!("{:#?}", queue.status().await?),
        other => {
            return Err(format!("unknown command {other}: push, work, results or status").into())
        }
    }
    Ok(())
}
