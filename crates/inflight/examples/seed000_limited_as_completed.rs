//! Seed 000: `limited_as_completed(coros, 10)` over 100 tasks where task i sleeps 1/i s.
//!
//! The Python version polls every task in a `sleep(0)` loop; here each finished task's slot is
//! refilled at once, so the run takes 1 s (task 1 runs the whole second), not the ~1.26 s that
//! batches of ten would take.
//!
//! Run: `cargo run --example seed000_limited_as_completed`

use std::time::{Duration, Instant};

use futures::StreamExt;

async fn mycoro(number: u32) -> String {
    println!("Starting {number}");
    tokio::time::sleep(Duration::from_secs(1) / number).await;
    println!("Finishing {number}");
    number.to_string()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let start = Instant::now();
    // A lazy iterator, like the seed's generator: each coroutine is made only when it can start.
    let coros = (1..=100).map(mycoro);
    let mut results = inflight::as_completed(coros, 10);
    while let Some(result) = results.next().await {
        println!("Result {result}");
    }
    println!("real {:.3}s", start.elapsed().as_secs_f64());
}
