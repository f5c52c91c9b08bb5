//! Seed 002: `asyncio.gather()` limited by a semaphore: 100 tasks of 1 s at limit 10, results
//! in input order. Takes 10 s.
//!
//! Run: `cargo run --example seed002_gather`

use std::time::{Duration, Instant};

async fn task(value: u32) -> u32 {
    println!(">task {value} executing");
    tokio::time::sleep(Duration::from_secs(1)).await;
    value
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let start = Instant::now();
    let results = inflight::gather((0..100).map(task), 10).await;
    println!("{results:?}");
    println!("done in {:.1}s", start.elapsed().as_secs_f64());
}
