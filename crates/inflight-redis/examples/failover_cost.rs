//! What the failover guarantee of a shared limit costs (run by `scripts/bench-failover.sh`,
//! which starts a master, its replica and a sentinel):
//!
//! - `steady URL...`: acquire + release of a `GlobalLimit` by 4 clients × 8 tasks, through
//!   each URL in turn: jobs/s and Redis round trips per job. A `redis://` URL to the master
//!   (no failover handling) against `redis+sentinel://` (following failovers, with the grace
//!   after one): the steady-state cost of the guarantee.
//! - `gap URL LEASE_MS`: the same loop until a failover has come and gone; prints how long
//!   no grant was made (the outage plus the grace period) and the events said.
//!
//! ```sh
//! scripts/bench-failover.sh
//! ```

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use inflight_redis::{GlobalLimit, LimitOptions, Redis, RedisEvent};

const CLIENTS: usize = 4;
const TASKS: usize = 8;

async fn steady(url: &str, per_task: usize) -> (f64, f64) {
    let mut handles = Vec::new();
    let mut conns = Vec::new();
    let name = format!("cost-{}", std::process::id());
    for _ in 0..CLIENTS {
        let redis = Redis::connect(url).await.unwrap();
        conns.push(redis.clone());
    }
    let before: u64 = conns.iter().map(|c| c.round_trips()).sum();
    let started = Instant::now();
    for redis in &conns {
        let limit = GlobalLimit::new(redis, &name, 1_000);
        for _ in 0..TASKS {
            let limit = limit.clone();
            handles.push(tokio::spawn(async move {
                for _ in 0..per_task {
                    limit.acquire(None).await.unwrap().release().await.unwrap();
                }
            }));
        }
    }
    for h in handles {
        h.await.unwrap();
    }
    let secs = started.elapsed().as_secs_f64();
    let jobs = (CLIENTS * TASKS * per_task) as f64;
    let trips: u64 = conns.iter().map(|c| c.round_trips()).sum::<u64>() - before;
    (jobs / secs, trips as f64 / jobs)
}

async fn gap(url: &str, lease: Duration) {
    let events: Arc<Mutex<Vec<(Duration, RedisEvent)>>> = Arc::default();
    let start = Instant::now();
    let seen = events.clone();
    let redis = Redis::builder(url)
        .on_event(move |e| seen.lock().unwrap().push((start.elapsed(), e.clone())))
        .connect()
        .await
        .unwrap();
    let options = LimitOptions::default()
        .lease(lease)
        .poll(Duration::from_millis(100));
    let limit = GlobalLimit::with_options(&redis, "gap", 4, options);
    let last = Arc::new(Mutex::new((Instant::now(), Duration::ZERO)));
    let mut handles = Vec::new();
    for _ in 0..4 {
        let (limit, last, events) = (limit.clone(), last.clone(), events.clone());
        handles.push(tokio::spawn(async move {
            loop {
                let permit = limit.acquire(None).await.unwrap();
                {
                    let mut last = last.lock().unwrap();
                    let now = Instant::now();
                    last.1 = last.1.max(now - last.0);
                    last.0 = now;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
                permit.release().await.unwrap();
                // Done once a failover was said and grants have gone on for a second since.
                let back = events
                    .lock()
                    .unwrap()
                    .iter()
                    .any(|(_, e)| matches!(e, RedisEvent::FailedOver { .. }));
                if back && last.lock().unwrap().1 > Duration::ZERO {
                    let said = events.lock().unwrap().last().map(|(at, _)| *at);
                    if said.is_some_and(|at| start.elapsed() > at + Duration::from_secs(1)) {
                        return;
                    }
                }
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    for (at, e) in events.lock().unwrap().iter() {
        println!("{:>7.3}s  {e:?}", at.as_secs_f64());
    }
    println!(
        "longest time without a grant: {:.2}s (lease {:.1}s)",
        last.lock().unwrap().1.as_secs_f64(),
        lease.as_secs_f64()
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("steady") => {
            println!("| URL | jobs/s | round trips per job |");
            println!("| --- | --- | --- |");
            for url in &args[1..] {
                steady(url, 50).await; // warm up
                let (rate, trips) = steady(url, 500).await;
                println!("| `{url}` | {rate:.0} | {trips:.2} |");
            }
        }
        Some("gap") => {
            let lease = Duration::from_millis(args[2].parse().expect("LEASE_MS"));
            gap(&args[1], lease).await;
        }
        _ => eprintln!("usage: failover_cost steady URL... | gap URL LEASE_MS"),
    }
}
