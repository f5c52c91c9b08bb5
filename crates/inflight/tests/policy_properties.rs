//! Property tests over combinations of policies: whatever mix of limit, per-key limit, rate,
//! timeout, retries, failures and spawn mode, the limits hold and every input gets exactly one
//! outcome; and so they do in a run that follows a run of the same builder dropped mid-way
//! (a dropped spawned run's aborted tasks hold their places until they really end).

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::paused_runtime;
use futures::StreamExt;
use inflight::{Failure, Inflight, Rate, Retry};
use proptest::prelude::*;
use tokio::time::Instant;

#[derive(Debug, Clone)]
struct Case {
    limit: usize,
    keys: Option<(u64, usize)>,
    rate: Option<(u32, u32)>,
    timeout_ms: Option<u64>,
    attempts: u32,
    ordered: bool,
    /// Each attempt a tokio task of its own.
    spawned: bool,
    /// A run of the same builder before this one, dropped after this many outcomes.
    dropped_after: Option<usize>,
    /// Per input: how long each attempt takes, and whether it fails.
    tasks: Vec<(u64, bool)>,
}

fn cases() -> impl Strategy<Value = Case> {
    (
        1usize..8,
        prop::option::of((1u64..4, 1usize..3)),
        prop::option::of((1u32..50, 1u32..4)),
        prop::option::of(5u64..40),
        1u32..4,
        any::<bool>(),
        any::<bool>(),
        prop::collection::vec((1u64..50, prop::bool::weighted(0.2)), 0..40),
        prop::option::of(0usize..10),
    )
        .prop_map(
            |(limit, keys, rate, timeout_ms, attempts, ordered, spawned, tasks, dropped_after)| {
                Case {
                    limit,
                    keys,
                    rate,
                    timeout_ms,
                    attempts,
                    ordered,
                    spawned,
                    dropped_after,
                    tasks,
                }
            },
        )
}

/// One input of a case: its position and its (duration, fails) plan.
type Input = (usize, (u64, bool));
type CaseOutcome = inflight::Outcome<Input, usize, usize>;

#[derive(Default)]
struct Log {
    running: usize,
    peak: usize,
    /// Running per (run, key): a key's limit is per run.
    by_key: HashMap<(usize, u64), usize>,
    /// Which run starts now (0: the dropped one, if any).
    run: usize,
    peak_by_key: usize,
    starts: Vec<Duration>,
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(150))]

    #[test]
    fn policies_compose(case in cases()) {
        paused_runtime().block_on(run_case(case));
    }
}

async fn run_case(case: Case) {
    let log = Arc::new(Mutex::new(Log::default()));
    let t0 = Instant::now();
    let key_count = case.keys.map_or(1, |(k, _)| k);
    let mut builder = Inflight::new(case.limit).retry(
        Retry::attempts(case.attempts).backoff(Duration::from_millis(3), Duration::from_millis(10)),
    );
    if let Some(ms) = case.timeout_ms {
        builder = builder.timeout(Duration::from_millis(ms));
    }
    if let Some((per_second, burst)) = case.rate {
        builder = builder.rate(Rate::per_second(per_second).burst(burst));
    }
    let task = |&(i, (ms, fails)): &(usize, (u64, bool))| {
        let log = log.clone();
        let key = (log.lock().unwrap().run, i as u64 % key_count);
        {
            let mut log = log.lock().unwrap();
            log.starts.push(t0.elapsed());
            log.running += 1;
            log.peak = log.peak.max(log.running);
            let now = {
                let n = log.by_key.entry(key).or_default();
                *n += 1;
                *n
            };
            log.peak_by_key = log.peak_by_key.max(now);
        }
        // Counted out on drop, so a timed-out attempt is counted out when it is dropped.
        struct Out(Arc<Mutex<Log>>, (usize, u64));
        impl Drop for Out {
            fn drop(&mut self) {
                let mut log = self.0.lock().unwrap();
                log.running -= 1;
                *log.by_key.get_mut(&self.1).unwrap() -= 1;
            }
        }
        let out = Out(log, key);
        async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            drop(out);
            if fails {
                Err(i)
            } else {
                Ok(i)
            }
        }
    };
    let inputs: Vec<(usize, (u64, bool))> = case.tasks.iter().copied().enumerate().collect();
    // Each entry point under each mix of what the run itself says (keys, spawn mode); the
    // outcomes of the first `take` inputs, then the run is dropped.
    macro_rules! run {
        ($outcomes:expr, $take:expr) => {{
            let outcomes = $outcomes;
            let outcomes = match case.keys {
                Some((_, per_key)) => {
                    outcomes.per_key(per_key, move |&(i, _)| i as u64 % key_count)
                }
                None => outcomes,
            };
            let outcomes = if case.spawned {
                outcomes.spawned()
            } else {
                outcomes
            };
            outcomes.take($take).collect::<Vec<CaseOutcome>>().await
        }};
    }
    if let Some(after) = case.dropped_after {
        let inputs = inputs.clone();
        let dropped: Vec<CaseOutcome> = if case.ordered {
            run!(builder.ordered(inputs, task), after)
        } else {
            run!(builder.as_completed(inputs, task), after)
        };
        assert_eq!(dropped.len(), after.min(case.tasks.len()));
        log.lock().unwrap().run = 1;
    }
    let outcomes: Vec<CaseOutcome> = if case.ordered {
        run!(builder.ordered(inputs, task), usize::MAX)
    } else {
        run!(builder.as_completed(inputs, task), usize::MAX)
    };
    // The places of the dropped run's tasks come back when they end: then nothing runs.
    while builder.handle().in_flight() > 0 {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }

    // Every input exactly once, in input order when asked.
    let mut indices: Vec<u64> = outcomes.iter().map(|o| o.index).collect();
    if case.ordered {
        assert_eq!(indices, (0..case.tasks.len() as u64).collect::<Vec<_>>());
    }
    indices.sort_unstable();
    assert_eq!(indices, (0..case.tasks.len() as u64).collect::<Vec<_>>());
    // Each outcome is what its task and the policies make of it.
    for outcome in &outcomes {
        let (ms, fails) = case.tasks[outcome.index as usize];
        // An attempt that takes exactly the timeout may go either way when it is spawned: its
        // end and the deadline come at the same instant, and which is seen first depends on
        // the scheduler.
        let tie = case.spawned && case.timeout_ms == Some(ms);
        let times_out = case.timeout_ms.is_some_and(|t| ms > t)
            || (tie && matches!(outcome.result, Err(Failure::TimedOut(_))));
        match &outcome.result {
            Ok(i) => assert!(!fails && !times_out && *i == outcome.index as usize),
            Err(Failure::Error(_)) => assert!(fails && !times_out),
            Err(Failure::TimedOut(_)) => assert!(times_out),
            Err(other) => panic!("unexpected failure {other:?}"),
        }
        let expected_attempts = if fails || times_out { case.attempts } else { 1 };
        assert_eq!(outcome.attempts, expected_attempts);
    }
    let log = log.lock().unwrap();
    assert_eq!(log.running, 0);
    assert!(
        log.peak <= case.limit,
        "peak {} > limit {}",
        log.peak,
        case.limit
    );
    if let Some((_, per_key)) = case.keys {
        assert!(
            log.peak_by_key <= per_key,
            "key peak {} > {}",
            log.peak_by_key,
            per_key
        );
    }
    // At most burst + rate * (t + catch_up) starts (retries included) in any window of length
    // t (a late wake-up's start may be followed sooner, within the rate's catch-up).
    if let Some((per_second, burst)) = case.rate {
        let starts = &log.starts;
        let catch_up = Rate::per_second(per_second).max_catch_up().as_secs_f64();
        for i in 0..starts.len() {
            for j in i..starts.len() {
                let window = (starts[j] - starts[i]).as_secs_f64();
                let allowed = burst as f64 + per_second as f64 * (window + catch_up) + 1e-6;
                assert!(
                    ((j - i + 1) as f64) <= allowed,
                    "{} starts in {window}s",
                    j - i + 1
                );
            }
        }
    }
}
