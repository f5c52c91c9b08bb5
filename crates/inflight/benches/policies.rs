//! The cost of each policy of `inflight::Inflight`, on and off, in one run.
//!
//! Every benchmark runs 10^5 tasks that are ready at once (so the policy's own work is all that
//! is measured), at limit 100, on a current-thread runtime. `bare` is `inflight::as_completed`
//! over the same futures; `builder` is `Inflight` with no policy; each other benchmark turns one
//! policy on, set so that it never has to act (a rate far above what is reached, a timeout
//! never hit, retries never needed): the cost of having it, not of its effect.
//!
//!     cargo bench -p inflight --bench policies
//! Ratios: `python3 crates/inflight/benches/report.py --policies target/criterion`

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, SamplingMode, Throughput};
use futures::StreamExt;
use inflight::{ErrorPolicy, Inflight, Rate, Retry};

#[path = "common/config.rs"]
mod config;
use config::config;

const TASKS: u64 = 100_000;
const LIMIT: usize = 100;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime")
}

/// What the run itself adds, on top of the builder's policies.
#[derive(Clone, Copy)]
enum Run {
    Plain,
    PerKey,
    Spawned,
}

/// Runs `TASKS` ready tasks through `builder` and returns the sum of their outputs.
async fn run(builder: &Inflight, how: Run) -> u64 {
    let outcomes = builder.as_completed(0..TASKS, |&i| std::future::ready(Ok::<_, ()>(i)));
    let outcomes = match how {
        Run::Plain => outcomes,
        Run::PerKey => outcomes.per_key(LIMIT, |i| i % 16),
        Run::Spawned => outcomes.spawned(),
    };
    outcomes
        .fold(0, |sum, outcome| async move {
            sum + outcome.result.unwrap_or(0)
        })
        .await
}

fn policies(c: &mut Criterion) {
    let expected = TASKS * (TASKS - 1) / 2;
    let rt = runtime();
    let mut group = c.benchmark_group("policies");
    group.throughput(Throughput::Elements(TASKS));
    group.sampling_mode(SamplingMode::Flat);

    group.bench_function("bare", |b| {
        b.iter(|| {
            let tasks = (0..TASKS).map(std::future::ready);
            let sum: u64 = rt.block_on(
                inflight::as_completed(tasks, LIMIT).fold(0, |a, x| async move { a + x }),
            );
            assert_eq!(sum, expected);
        })
    });
    macro_rules! policy {
        ($name:literal, $builder:expr) => {
            policy!($name, $builder, Run::Plain)
        };
        ($name:literal, $builder:expr, $how:expr) => {
            group.bench_function($name, |b| {
                let builder = $builder;
                b.iter(|| assert_eq!(rt.block_on(run(&builder, $how)), expected))
            });
        };
    }
    policy!("builder", Inflight::new(LIMIT));
    policy!(
        "rate",
        Inflight::new(LIMIT).rate(Rate::per_second(u32::MAX))
    );
    policy!(
        "timeout",
        Inflight::new(LIMIT).timeout(Duration::from_secs(3600))
    );
    policy!("retry", Inflight::new(LIMIT).retry(Retry::attempts(3)));
    policy!(
        "fail_fast",
        Inflight::new(LIMIT).errors(ErrorPolicy::fail_fast())
    );
    policy!("per_key", Inflight::new(LIMIT), Run::PerKey);
    policy!("progress", {
        let builder = Inflight::new(LIMIT);
        let _progress = builder.progress();
        builder
    });
    policy!(
        "events",
        Inflight::new(LIMIT).on_event(|event| {
            std::hint::black_box(event);
        })
    );
    policy!("spawned", Inflight::new(LIMIT), Run::Spawned);
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = policies
}
criterion_main!(benches);
