//! Measures what the shared limits and the queue cost: Redis round trips (commands and
//! scripts sent, counted by the client) per acquire/release and per queue item, throughput
//! with 1, 2 and 4 clients or workers, and Redis's own time per script and per input or job
//! (INFO commandstats: the scripts' usec, which includes the commands they run).
//!
//! ```sh
//! redis-server --port 6399 --save '' --appendonly no --daemonize yes
//! cargo run --release -p inflight-redis --example redis_costs -- redis://127.0.0.1:6399
//! ```
//!
//! Each client or worker has its own connection, as separate processes would; they share
//! this process's two cores with Redis, so the numbers are a floor for separate machines.

use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use inflight_redis::{GlobalLimit, GlobalRate, Queue, QueueOptions, Redis};

/// Redis's `used_memory`, in bytes.
async fn used_memory(redis_url: &str) -> u64 {
    let client = redis::Client::open(redis_url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut conn)
        .await
        .unwrap();
    info.lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

async fn flush(redis_url: &str) {
    let client = redis::Client::open(redis_url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("FLUSHALL").query_async(&mut conn).await.unwrap();
}

/// `clients` clients × `tasks` tasks acquire and release `limit` permits for `per_task` jobs.
async fn limit_run(
    url: &str,
    limit: u64,
    clients: usize,
    tasks: usize,
    per_task: usize,
) -> (f64, f64, f64) {
    flush(url).await;
    reset_stats(url).await;
    let started = Instant::now();
    let mut handles = Vec::new();
    let mut conns = Vec::new();
    for _ in 0..clients {
        let redis = Redis::connect(url).await.unwrap();
        conns.push(redis.clone());
        let l = GlobalLimit::new(&redis, "bench", limit);
        for _ in 0..tasks {
            let l = l.clone();
            handles.push(tokio::spawn(async move {
                for _ in 0..per_task {
                    let p = l.acquire(None).await.unwrap();
                    p.release().await.unwrap();
                }
            }));
        }
    }
    for h in handles {
        h.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let jobs = (clients * tasks * per_task) as f64;
    let trips: u64 = conns.iter().map(|c| c.round_trips()).sum();
    let (usec, _) = script_usec(url).await;
    // connecting sends one INFO
    (
        jobs / secs,
        (trips - clients as u64) as f64 / jobs,
        usec as f64 / jobs,
    )
}

async fn rate_run(url: &str, clients: usize, tasks: usize, per_task: usize) -> (f64, f64) {
    flush(url).await;
    let started = Instant::now();
    let mut handles = Vec::new();
    let mut conns = Vec::new();
    for _ in 0..clients {
        let redis = Redis::connect(url).await.unwrap();
        conns.push(redis.clone());
        // far above what is reached: measures the cost, not the pacing
        let r = GlobalRate::new(&redis, "bench", inflight::Rate::per_second(1_000_000));
        for _ in 0..tasks {
            let r = r.clone();
            handles.push(tokio::spawn(async move {
                for _ in 0..per_task {
                    r.acquire(None).await.unwrap();
                }
            }));
        }
    }
    for h in handles {
        h.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let jobs = (clients * tasks * per_task) as f64;
    let trips: u64 = conns.iter().map(|c| c.round_trips()).sum();
    (jobs / secs, (trips - clients as u64) as f64 / jobs)
}

/// Redis's usec and calls of scripts (EVALSHA and EVAL) since the last `CONFIG RESETSTAT`.
async fn script_usec(redis_url: &str) -> (u64, u64) {
    let client = redis::Client::open(redis_url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let info: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut conn)
        .await
        .unwrap();
    let (mut usec, mut calls) = (0, 0);
    for line in info.lines() {
        if line.starts_with("cmdstat_evalsha:") || line.starts_with("cmdstat_eval:") {
            for field in line.split([':', ',']) {
                if let Some(v) = field.strip_prefix("usec=") {
                    usec += v.parse::<u64>().unwrap();
                }
                if let Some(v) = field.strip_prefix("calls=") {
                    calls += v.parse::<u64>().unwrap();
                }
            }
        }
    }
    (usec, calls)
}

async fn reset_stats(redis_url: &str) {
    let client = redis::Client::open(redis_url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query_async(&mut conn)
        .await
        .unwrap();
}

/// Prints one row of the script table: calls, µs per call and per `per` things.
async fn script_row(url: &str, what: &str, per: u64, unit: &str) {
    let (usec, calls) = script_usec(url).await;
    println!(
        "| {what} | {calls} | {:.1} | {:.2} per {unit} |",
        usec as f64 / calls.max(1) as f64,
        usec as f64 / per as f64
    );
}

/// Each queue script on its own: push, take (100 per read), acknowledge (batches), and the
/// renewal of a worker holding 50 inputs. The lease is long while the others are measured,
/// so that no renewal falls in their windows.
async fn queue_scripts(url: &str, n: u64) {
    flush(url).await;
    let redis = Redis::connect(url).await.unwrap();
    let options = QueueOptions::default().read_batch(100);
    let queue = Queue::with_options(&redis, "scripts", options);
    reset_stats(url).await;
    queue
        .push((0..n).map(|i| format!("https://example.invalid/{i}")))
        .await
        .unwrap();
    script_row(url, "push (100 inputs per script)", n, "input").await;
    queue.close().await.unwrap();
    reset_stats(url).await;
    let mut items = queue.items();
    let mut held = Vec::new();
    for _ in 0..n {
        held.push(items.next().await.unwrap().unwrap());
    }
    script_row(url, "take (100 per read)", n, "input").await;
    reset_stats(url).await;
    let acks: Vec<_> = held
        .into_iter()
        .map(|item| {
            tokio::spawn(async move {
                let record = serde_json::json!({ "input": item.input(), "ok": true, "ms": 3 });
                item.ack(true, &record).await.unwrap();
            })
        })
        .collect();
    for a in acks {
        a.await.unwrap();
    }
    script_row(url, "ack + result (batched)", n, "input").await;
    // The renewer: every lease/3 (100 ms here), one script for the 50 inputs held.
    flush(url).await;
    let options = QueueOptions::default()
        .read_batch(50)
        .lease(std::time::Duration::from_millis(300));
    let queue = Queue::with_options(&redis, "renew", options);
    queue.push((0..50).map(|i| i.to_string())).await.unwrap();
    let mut items = queue.items();
    let mut held = Vec::new();
    for _ in 0..50 {
        held.push(items.next().await.unwrap().unwrap());
    }
    reset_stats(url).await;
    tokio::time::sleep(std::time::Duration::from_millis(1050)).await;
    let (usec, calls) = script_usec(url).await;
    println!(
        "| renew (50 inputs held, every lease/3) | {calls} | {:.1} | {:.2} per input held, per renewal |",
        usec as f64 / calls.max(1) as f64,
        usec as f64 / calls.max(1) as f64 / 50.0
    );
    drop(held);
}

/// Pushes `n` inputs, then `workers` workers run them (no-op jobs, 16 at once each); returns
/// jobs/s, round trips per input for the push and the work, and Redis's script µs per input.
async fn queue_run(
    url: &str,
    n: u64,
    workers: usize,
    batch: Option<usize>,
) -> (f64, f64, f64, f64) {
    flush(url).await;
    let empty = used_memory(url).await;
    let mut options = QueueOptions::default().slots(16).push_batch(500);
    if let Some(batch) = batch {
        options = options.read_batch(batch);
    }
    let redis = Redis::connect(url).await.unwrap();
    let queue = Queue::with_options(&redis, "bench", options);
    let before = redis.round_trips();
    reset_stats(url).await;
    queue
        .push((0..n).map(|i| format!("https://example.invalid/{i}")))
        .await
        .unwrap();
    let push_trips = redis.round_trips() - before;
    queue.close().await.unwrap();
    let started = Instant::now();
    let mut handles = Vec::new();
    let mut conns = Vec::new();
    for _ in 0..workers {
        let redis = Redis::connect(url).await.unwrap();
        conns.push(redis.clone());
        let queue = Queue::with_options(&redis, "bench", options);
        handles.push(tokio::spawn(async move {
            queue
                .items()
                .map(|item| async move {
                    let item = item.unwrap();
                    let record = serde_json::json!({ "input": item.input(), "ok": true });
                    item.ack(true, &record).await.unwrap();
                })
                .buffer_unordered(16)
                .for_each(|_| async {})
                .await;
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let (usec, _) = script_usec(url).await;
    let work_trips: u64 = conns.iter().map(|c| c.round_trips()).sum::<u64>() - workers as u64;
    let kept = used_memory(url).await.saturating_sub(empty);
    eprintln!(
        "after {n} results: used_memory +{} bytes ({} per result)",
        kept,
        kept / n
    );
    (
        n as f64 / secs,
        push_trips as f64 / n as f64,
        work_trips as f64 / n as f64,
        usec as f64 / n as f64,
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    let url = Arc::new(url);
    println!("## Global limit (acquire + release, no job), 16 tasks per client\n");
    println!("| clients | limit | jobs/s | round trips per job | Redis µs per job (scripts) |");
    println!("| --- | --- | --- | --- | --- |");
    for clients in [1, 2, 4] {
        for limit in [1_000_000, 8] {
            let per_task = if limit > 1000 { 2000 } else { 400 } / clients;
            let (rate, per, usec) = limit_run(&url, limit, clients, 16, per_task).await;
            let shown = if limit > 1000 {
                "none reached".to_string()
            } else {
                limit.to_string()
            };
            println!("| {clients} | {shown} | {rate:.0} | {per:.2} | {usec:.1} |");
        }
    }
    println!("\n## Global rate (one start, rate never reached), 16 tasks per client\n");
    println!("| clients | starts/s | round trips per start |");
    println!("| --- | --- | --- |");
    for clients in [1, 2, 4] {
        let (rate, per) = rate_run(&url, clients, 16, 2000 / clients).await;
        println!("| {clients} | {rate:.0} | {per:.2} |");
    }
    println!("\n## Queue: 20 000 no-op jobs, 16 at once per worker\n");
    println!("| workers | read batch | jobs/s | round trips per input: push | take + ack | Redis µs per input (scripts) |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for batch in [Some(1), None, Some(16)] {
        for workers in [1, 2, 4] {
            let (rate, push, work, usec) = queue_run(&url, 20_000, workers, batch).await;
            let shown = batch.map_or("free slots".to_string(), |b| b.to_string());
            println!("| {workers} | {shown} | {rate:.0} | {push:.3} | {work:.2} | {usec:.1} |");
        }
    }
    println!("\n## Queue scripts, each on its own: 20 000 inputs\n");
    println!("| script | calls | Redis µs per call | Redis µs |");
    println!("| --- | --- | --- | --- |");
    queue_scripts(&url, 20_000).await;
}
