//! Seed 003: a generator of a million URL-like items, each fetched then uploaded, with memory
//! that stays flat however long the generator is.
//!
//! `TaskGroup` made every task up front and ate memory; batching left slots idle. Here the
//! generator is pulled only when one of the 1000 slots is free. The fetch and upload are
//! simulated with short sleeps; the program prints progress and its peak resident memory.
//!
//! Run: `cargo run --release --example seed003_backpressure [ITEMS]`

use std::time::{Duration, Instant};

use futures::StreamExt;

async fn fetch(url: &str) -> usize {
    tokio::time::sleep(Duration::from_micros(500)).await;
    url.len()
}

async fn upload(bytes: usize) -> usize {
    tokio::time::sleep(Duration::from_micros(500)).await;
    bytes
}

/// Peak resident memory in KiB, from the kernel's own count (Linux only).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|line| line.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let items: u64 = std::env::args()
        .nth(1)
        .map(|arg| arg.parse().expect("ITEMS must be a whole number"))
        .unwrap_or(1_000_000);
    let start = Instant::now();
    let urls = (0..items).map(|i| format!("https://example.invalid/item/{i}"));
    let jobs = urls.map(|url| async move { upload(fetch(&url).await).await });
    let mut done = inflight::as_completed(jobs, 1000);
    let (mut count, mut bytes) = (0u64, 0usize);
    while let Some(uploaded) = done.next().await {
        count += 1;
        bytes += uploaded;
        if count % 100_000 == 0 {
            println!(
                "{count} done, {:.1}s, peak RSS {} KiB",
                start.elapsed().as_secs_f64(),
                peak_rss_kib().unwrap_or(0)
            );
        }
    }
    println!(
        "{count} items, {bytes} bytes uploaded in {:.1}s, peak RSS {} KiB",
        start.elapsed().as_secs_f64(),
        peak_rss_kib().unwrap_or(0)
    );
}
