//! Per-task time of inflight against its peers, side by side in one run.
//!
//! Groups are `{workload}/{order}`, benchmarks `{contender}/{limit}`; throughput is in tasks,
//! so criterion prints time per task. `benches/report.py` turns the results into the ratio
//! tables of BENCHMARKS.md.
//!
//! Full run (about 6 minutes on 2 cores):
//!     cargo bench -p inflight --bench throughput
//! Quick look (a tenth of the tasks, one workload, one limit):
//!     INFLIGHT_BENCH_DIVISOR=10 cargo bench -p inflight --bench throughput -- 'ready/completion/.*/100$'

use criterion::{
    criterion_group, criterion_main, BenchmarkId, Criterion, SamplingMode, Throughput,
};

mod common;

use common::config::config;
use common::contenders::*;
use common::workloads::{with_tasks, Workload};

const LIMITS: [usize; 3] = [10, 100, 10_000];
const WORKLOADS: [Workload; 3] = [Workload::Ready, Workload::YieldOnce, Workload::Timer];

/// Benchmarks `$contender` on every limit of the group, checking each run's sum.
macro_rules! contender {
    ($group:ident, $workload:expr, $name:literal, $contender:path) => {
        let workload = $workload;
        let runtime = workload.runtime();
        let n = workload.tasks();
        let expected = n * n.saturating_sub(1) / 2;
        for limit in LIMITS {
            $group.bench_with_input(BenchmarkId::new($name, limit), &limit, |b, &limit| {
                b.iter(|| {
                    let sum = with_tasks!(workload, n, |tasks| runtime
                        .block_on($contender(tasks, limit)));
                    assert_eq!(sum, expected);
                })
            });
        }
    };
}

fn group<'a>(
    c: &'a mut Criterion,
    workload: Workload,
    order: &str,
) -> criterion::BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut group = c.benchmark_group(format!("{}/{order}", workload.name()));
    group.throughput(Throughput::Elements(workload.tasks()));
    // One run is tens to hundreds of milliseconds: flat sampling keeps the run count (and the
    // whole suite's time) small instead of ramping up to 55 runs per benchmark.
    group.sampling_mode(SamplingMode::Flat);
    group
}

fn completion_order(c: &mut Criterion) {
    for workload in WORKLOADS {
        let mut g = group(c, workload, "completion");
        contender!(g, workload, "inflight_as_completed", inflight_as_completed);
        contender!(g, workload, "inflight_in_flight", inflight_in_flight);
        contender!(
            g,
            workload,
            "futures_buffer_unordered",
            futures_buffer_unordered
        );
        contender!(g, workload, "fb_buffered_unordered", fb_buffered_unordered);
        contender!(g, workload, "inflight_pool", inflight_pool);
        contender!(
            g,
            workload,
            "tokio_joinset_semaphore",
            tokio_joinset_semaphore
        );
        g.finish();
    }
}

fn input_order(c: &mut Criterion) {
    for workload in WORKLOADS {
        let mut g = group(c, workload, "input");
        contender!(g, workload, "inflight_ordered", inflight_ordered);
        contender!(
            g,
            workload,
            "inflight_in_flight_ordered",
            inflight_in_flight_ordered
        );
        contender!(g, workload, "futures_buffered", futures_buffered);
        contender!(g, workload, "fb_buffered_ordered", fb_buffered_ordered);
        g.finish();
    }
}

criterion_group! {
    name = benches;
    config = config();
    targets = completion_order, input_order
}
criterion_main!(benches);
