//! The three kinds of task: ready at once, yielding once, and sleeping on tokio's timer.

use std::time::Duration;

pub use super::yield_once::YieldOnce;

/// The timer task's sleep: 0.5 ms to 1.5 ms, spread deterministically so that tasks finish out
/// of input order (which the input-order contenders must then put back).
pub fn timer_delay(i: u64) -> Duration {
    Duration::from_micros(500 + (i * 7919) % 1000)
}

/// Workload names as they appear in benchmark ids, with their sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    Ready,
    YieldOnce,
    Timer,
}

impl Workload {
    pub fn name(self) -> &'static str {
        match self {
            Workload::Ready => "ready",
            Workload::YieldOnce => "yield_once",
            Workload::Timer => "timer",
        }
    }

    /// Tasks per run: 10^6 for the cheap workloads and 2*10^5 for timers, divided by
    /// `INFLIGHT_BENCH_DIVISOR` (e.g. 10 for a quick look).
    pub fn tasks(self) -> u64 {
        let full = match self {
            Workload::Ready | Workload::YieldOnce => 1_000_000,
            Workload::Timer => 200_000,
        };
        let divisor = std::env::var("INFLIGHT_BENCH_DIVISOR")
            .ok()
            .and_then(|d| d.parse::<u64>().ok())
            .filter(|&d| d > 0)
            .unwrap_or(1);
        full / divisor
    }

    /// A fresh runtime for this workload: current-thread, and for timers a paused clock that
    /// auto-advances, so a run measures the cost of the timers and of the stream rather than
    /// the wall-clock milliseconds spent asleep (which would be the same for every contender).
    pub fn runtime(self) -> tokio::runtime::Runtime {
        let mut builder = tokio::runtime::Builder::new_current_thread();
        if self == Workload::Timer {
            builder.enable_time().start_paused(true);
        }
        builder.build().expect("a current-thread runtime")
    }
}

/// Calls `$body` with a lazy iterator of the tasks of `$workload` bound to `$tasks`: a macro
/// rather than a function because each workload has its own future type, and every contender
/// must be monomorphised for it as a user's code would be.
macro_rules! with_tasks {
    ($workload:expr, $n:expr, |$tasks:ident| $body:expr) => {
        match $workload {
            crate::common::workloads::Workload::Ready => {
                let $tasks = (0..$n).map(|i: u64| async move { i });
                $body
            }
            crate::common::workloads::Workload::YieldOnce => {
                let $tasks = (0..$n).map(crate::common::workloads::YieldOnce::new);
                $body
            }
            crate::common::workloads::Workload::Timer => {
                let $tasks = (0..$n).map(|i: u64| async move {
                    tokio::time::sleep(crate::common::workloads::timer_delay(i)).await;
                    i
                });
                $body
            }
        }
    };
}

pub(crate) use with_tasks;
