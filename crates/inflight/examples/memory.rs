//! Peak memory against the number of tasks: it must not grow with N.
//!
//! For N = 10^3 .. 10^7 lazily made tasks at limit 1000 (each yields once), every contender runs
//! in a fresh process (this binary re-executed with `--child CONTENDER N`), which reads its peak
//! resident set (`VmHWM` in /proc/self/status) at the end. A fresh process per run matters: the
//! peak of a process never goes down, so runs in one process would hide each other.
//!
//! Run: `cargo run --release -p inflight --example memory` (Linux only; about a minute).

use std::process::Command;

use futures::StreamExt;
use futures_buffered::BufferedStreamExt;
use inflight::InflightExt;

#[path = "../benches/common/yield_once.rs"]
mod yield_once;
use yield_once::YieldOnce;

const LIMIT: usize = 1000;
const SIZES: [u64; 5] = [1_000, 10_000, 100_000, 1_000_000, 10_000_000];
const CONTENDERS: [&str; 8] = [
    "baseline",
    "eager_vec_as_completed",
    "inflight_as_completed",
    "inflight_ordered",
    "inflight_in_flight",
    "fb_buffered_unordered",
    "futures_buffer_unordered",
    // Keeps every output by design: it must grow, by about 16 bytes per `u64` output at its
    // peak (the buffer of `Option<u64>` it fills), and hand back 8 bytes per output.
    "inflight_gather",
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() == 4 && args[1] == "--child" {
        let n = args[3].parse().expect("N is a number");
        let sum = run(&args[2], n);
        // The sum proves the tasks ran; the parent checks it.
        println!("{sum} {}", peak_rss_kib());
        return;
    }
    parent(&args[0]);
}

/// Prints one row per contender and one column per N, in KiB of peak RSS.
fn parent(me: &str) {
    print!("| contender (peak RSS, KiB) |");
    for n in SIZES {
        print!(" N = {n} |");
    }
    println!(" max/min |");
    println!("|---|{}---:|", "---:|".repeat(SIZES.len()));
    for contender in CONTENDERS {
        print!("| {contender} |");
        let mut peaks = Vec::new();
        for n in SIZES {
            let out = Command::new(me)
                .args(["--child", contender, &n.to_string()])
                .output()
                .expect("re-run this binary");
            assert!(out.status.success(), "{contender} {n} failed: {out:?}");
            let text = String::from_utf8(out.stdout).expect("utf-8");
            let mut fields = text.split_whitespace();
            let sum: u64 = fields.next().and_then(|s| s.parse().ok()).expect("sum");
            let expected = if contender == "baseline" {
                0
            } else {
                n * (n - 1) / 2
            };
            assert_eq!(sum, expected, "{contender} {n}: wrong sum");
            let peak: u64 = fields.next().and_then(|s| s.parse().ok()).expect("peak");
            peaks.push(peak);
            print!(" {peak} |");
        }
        let (min, max) = (peaks.iter().min().unwrap(), peaks.iter().max().unwrap());
        println!(" {:.2} |", *max as f64 / *min as f64);
    }
}

/// Runs `n` yield-once tasks through `contender` on a current-thread runtime; returns their sum.
fn run(contender: &str, n: u64) -> u64 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let tasks = (0..n).map(YieldOnce::new);
    runtime.block_on(async move {
        match contender {
            // The runtime alone: the floor every other row sits on.
            "baseline" => 0,
            // The control: all tasks made up front, as a `Vec`; this row must grow with N, which
            // shows the measurement would see a leak or eager pulling.
            "eager_vec_as_completed" => {
                let all: Vec<YieldOnce> = tasks.collect();
                sum(inflight::as_completed(all, LIMIT)).await
            }
            "inflight_as_completed" => sum(inflight::as_completed(tasks, LIMIT)).await,
            "inflight_ordered" => sum(inflight::ordered(tasks, LIMIT)).await,
            "inflight_in_flight" => sum(futures::stream::iter(tasks).in_flight(LIMIT)).await,
            "fb_buffered_unordered" => {
                sum(futures::stream::iter(tasks).buffered_unordered(LIMIT)).await
            }
            "futures_buffer_unordered" => {
                sum(futures::stream::iter(tasks).buffer_unordered(LIMIT)).await
            }
            "inflight_gather" => {
                let outputs = inflight::gather(tasks, LIMIT).await;
                assert_eq!(outputs.capacity(), outputs.len(), "no spare capacity kept");
                outputs.iter().sum()
            }
            other => panic!("unknown contender {other}"),
        }
    })
}

async fn sum<S: futures::Stream<Item = u64> + Unpin>(mut outputs: S) -> u64 {
    let mut sum = 0;
    while let Some(output) = outputs.next().await {
        sum += output;
    }
    sum
}

/// The process's peak resident set in KiB, from the kernel's own high-water mark.
fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("Linux /proc");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status")
}
