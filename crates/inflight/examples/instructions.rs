//! One contender over N tasks, for counting instructions per task with callgrind (which counts
//! the same on a loaded machine as on an idle one, unlike a clock).
//!
//! `instructions CONTENDER N` runs N tasks at limit 100 on a current-thread runtime.
//! `scripts/instructions.sh` runs it under callgrind at two sizes and prints the difference
//! per task, so the runtime's start-up cost drops out.

use futures::StreamExt;

#[path = "../benches/common/yield_once.rs"]
mod yield_once;
use yield_once::YieldOnce;

const LIMIT: usize = 100;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (contender, n) = match args.as_slice() {
        [_, contender, n] => (contender.as_str(), n.parse::<u64>().expect("N is a number")),
        _ => {
            eprintln!("usage: instructions CONTENDER N");
            std::process::exit(2);
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("runtime");
    let sum = runtime.block_on(run(contender, n));
    assert_eq!(sum, n * (n - 1) / 2, "{contender}: wrong sum");
}

async fn run(contender: &str, n: u64) -> u64 {
    let ready = (0..n).map(|i| async move { i });
    let yields = (0..n).map(YieldOnce::new);
    let builder = inflight::Inflight::new(LIMIT);
    match contender {
        "as_completed_ready" => sum(inflight::as_completed(ready, LIMIT)).await,
        "as_completed_yield" => sum(inflight::as_completed(yields, LIMIT)).await,
        "ordered_ready" => sum(inflight::ordered(ready, LIMIT)).await,
        "ordered_yield" => sum(inflight::ordered(yields, LIMIT)).await,
        "builder_ready" => {
            let outcomes = builder.as_completed(0..n, |&i| std::future::ready(Ok::<_, ()>(i)));
            sum(outcomes.map(|o| o.result.unwrap_or(0))).await
        }
        "builder_ordered_ready" => {
            let outcomes = builder.ordered(0..n, |&i| std::future::ready(Ok::<_, ()>(i)));
            sum(outcomes.map(|o| o.result.unwrap_or(0))).await
        }
        other => panic!("unknown contender {other}"),
    }
}

async fn sum(outputs: impl futures::Stream<Item = u64>) -> u64 {
    outputs.fold(0, |a, x| async move { a + x }).await
}
