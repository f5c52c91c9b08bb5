//! The Python comparison's workloads run with inflight, for `benches/python/compare.py`.
//!
//! Prints one line per (entry point, workload): `api workload tasks limit wall_s cpu_s`, each the
//! best of a few runs on a current-thread tokio runtime with a real clock (Python has no paused
//! clock, so the timer workload really sleeps in both). The CPU time is the thread's own
//! (`CLOCK_THREAD_CPUTIME_ID`, as Python's `time.thread_time`): on the timer workload the wall
//! time mostly measures the timers' resolution, the CPU time what running the tasks costs.
//!
//! Run: `cargo run --release -p inflight --example bench_pyparity`

use std::future::Future;
use std::time::{Duration, Instant};

use futures::StreamExt;

#[path = "../benches/common/yield_once.rs"]
mod yield_once;
use yield_once::YieldOnce;

const RUNS: usize = 5;
const LIMIT: usize = 100;

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let ready = |n: u64| (0..n).map(|i| async move { i });
    let yields = |n: u64| (0..n).map(YieldOnce::new);
    let timers = |n: u64| {
        (0..n).map(|i| async move {
            tokio::time::sleep(Duration::from_millis(1)).await;
            i
        })
    };
    for (api, gather) in [("as_completed", false), ("gather", true)] {
        report(&runtime, api, "ready", 100_000, gather, ready);
        report(&runtime, api, "yield_once", 100_000, gather, yields);
        report(&runtime, api, "timer", 10_000, gather, timers);
    }
}

/// Runs `make(n)` through `as_completed` (or `gather`) `RUNS` times and prints the best time.
fn report<I, F>(
    runtime: &tokio::runtime::Runtime,
    api: &str,
    workload: &str,
    n: u64,
    gather: bool,
    make: impl Fn(u64) -> I,
) where
    I: Iterator<Item = F>,
    F: Future<Output = u64>,
{
    let mut best = Duration::MAX;
    let mut best_cpu = Duration::MAX;
    for _ in 0..RUNS {
        let start = Instant::now();
        let cpu_start = thread_cpu_time();
        let sum = runtime.block_on(async {
            if gather {
                inflight::gather(make(n), LIMIT).await.into_iter().sum()
            } else {
                inflight::as_completed(make(n), LIMIT)
                    .fold(0, |sum, output| async move { sum + output })
                    .await
            }
        });
        best = best.min(start.elapsed());
        best_cpu = best_cpu.min(thread_cpu_time() - cpu_start);
        assert_eq!(sum, n * (n - 1) / 2);
    }
    println!(
        "{api} {workload} {n} {LIMIT} {:.6} {:.6}",
        best.as_secs_f64(),
        best_cpu.as_secs_f64()
    );
}

/// Time this thread has spent on a CPU.
fn thread_cpu_time() -> Duration {
    let mut now = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `now` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut now) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_THREAD_CPUTIME_ID)");
    Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
}
