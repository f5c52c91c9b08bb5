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

/// Runs `TASKS` ready tasks through `builder` and checks the sum of their outputs.
async fn run<R, M, KF>(builder: &Inflight<R, M, KF>) -> u64
where
    R: inflight::RetryIf<()> + Clone,
    M: inflight::RunMode<std::future::Ready<Result<u64, ()>>> + Clone,
    KF: inflight::KeyOf<u64> + Clone,
{
    let mut outcomes = builder.as_completed(0..TASKS, |&i| std::future::ready(Ok(i)));
    let mut sum = 0;
    while let Some(outcome) = outcomes.next().await {
        sum += outcome.result.unwrap_or(0);
    }
    sum
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
            group.bench_function($name, |b| {
                let builder = $builder;
                b.iter(|| assert_eq!(rt.block_on(run(&builder)), expected))
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
        Inflight::new(LIMIT).errors(ErrorPolicy::FailFast)
    );
    policy!(
        "per_key",
        Inflight::new(LIMIT).per_key(LIMIT, |i: &u64| i % 16)
    );
    policy!("progress", {
        let mut builder = Inflight::new(LIMIT);
        let _progress = builder.progress();
        builder
    });
    policy!(
        "events",
        Inflight::new(LIMIT).on_event(|event| {
            std::hint::black_box(event);
        })
    );
    policy!("spawned", Inflight::new(LIMIT).spawned());
    group.finish();
}

criterion_group! {
    name = benches;
    config = config();
    targets = policies
}
criterion_main!(benches);
