//! Seed 001: "keep 3 downloads running", 9 downloads of 1 to 3 s, waiting for the last one
//! without a fixed `sleep(9)`.
//!
//! Uses the push-style [`inflight::Pool`]: `spawn` waits for a free connection, `join_all`
//! waits for the last download. The durations are the ones in the seed's printed run, so the
//! output matches it line for line and the run takes 6 s.
//!
//! Run: `cargo run --example seed001_downloads`

use std::time::{Duration, Instant};

/// Seconds each download takes, from the seed's printed run.
const WAIT_SECS: [u64; 9] = [2, 3, 1, 2, 3, 2, 2, 1, 1];

async fn download(code: usize) -> usize {
    let wait_time = WAIT_SECS[code];
    println!("downloading {code} will take {wait_time} second(s)");
    tokio::time::sleep(Duration::from_secs(wait_time)).await;
    println!("downloaded {code}");
    code
}

#[tokio::main]
async fn main() {
    let start = Instant::now();
    let pool = inflight::Pool::new(3);
    for code in 0..WAIT_SECS.len() {
        pool.spawn(download(code)).await.expect("the pool is open");
    }
    let finished = pool.join_all().await;
    let failed = finished.iter().filter(|outcome| outcome.is_err()).count();
    println!(
        "{} downloads, {failed} failed, in {:.1}s",
        finished.len(),
        start.elapsed().as_secs_f64()
    );
}
