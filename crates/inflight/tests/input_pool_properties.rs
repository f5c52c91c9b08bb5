//! Property test of the push-style pool under halting error policies: every submitted input
//! comes back one way or the other. An input whose `submit` returned `Ok` ends as exactly one
//! outcome or is given back by `given_back`; one whose `submit` returned `Err` came back there.

mod common;

use std::time::Duration;

use common::paused_runtime;
use inflight::{ErrorPolicy, HaltMode, Inflight};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Case {
    limit: usize,
    policy: ErrorPolicy,
    mode: HaltMode,
    keys: Option<usize>,
    spawned: bool,
    /// Per input: how long its task takes (ms), and whether it fails.
    tasks: Vec<(u64, bool)>,
}

fn cases() -> impl Strategy<Value = Case> {
    (
        1usize..6,
        prop_oneof![
            Just(ErrorPolicy::fail_fast()),
            Just(ErrorPolicy::halt_after_failures(2)),
            Just(ErrorPolicy::halt_at_failure_percent(30.0, 3)),
            Just(ErrorPolicy::Collect),
        ],
        prop_oneof![Just(HaltMode::Now), Just(HaltMode::Soon)],
        prop::option::of(1usize..3),
        any::<bool>(),
        prop::collection::vec((0u64..30, prop::bool::weighted(0.3)), 0..40),
    )
        .prop_map(|(limit, policy, mode, keys, spawned, tasks)| Case {
            limit,
            policy,
            mode,
            keys,
            spawned,
            tasks,
        })
}

async fn run_case(case: Case) {
    let pool = Inflight::new(case.limit)
        .errors(case.policy)
        .halt_mode(case.mode)
        .pool(|&(i, (ms, fails)): &(usize, (u64, bool))| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            if fails {
                Err(i)
            } else {
                Ok(i)
            }
        });
    let pool = match case.keys {
        Some(per_key) => pool.per_key(per_key, |&(i, _)| i % 3),
        None => pool,
    };
    let pool = if case.spawned { pool.spawned() } else { pool };
    let producer = async {
        let (mut accepted, mut refused) = (Vec::new(), Vec::new());
        for input in case.tasks.iter().copied().enumerate() {
            match pool.submit(input).await {
                Ok(()) => accepted.push(input.0),
                Err(back) => refused.push(back.0),
            }
        }
        pool.close();
        (accepted, refused)
    };
    let consumer = async {
        let mut outcomes = Vec::new();
        while let Some(outcome) = pool.join_next().await {
            outcomes.push(outcome.input.0);
        }
        outcomes
    };
    let ((accepted, refused), outcomes) = tokio::join!(producer, consumer);
    let given_back: Vec<usize> = pool.given_back().into_iter().map(|(i, _)| i).collect();
    assert_eq!(
        accepted.len(),
        outcomes.len() + given_back.len(),
        "submitted {accepted:?}, outcomes {outcomes:?}, given back {given_back:?}"
    );
    let mut back: Vec<usize> = outcomes.iter().chain(&given_back).copied().collect();
    back.sort_unstable();
    assert_eq!(
        back, accepted,
        "each accepted input once, as an outcome or given back"
    );
    let mut all: Vec<usize> = back.into_iter().chain(refused).collect();
    all.sort_unstable();
    assert_eq!(all, (0..case.tasks.len()).collect::<Vec<_>>());
    if case.policy == ErrorPolicy::Collect {
        assert!(
            given_back.is_empty(),
            "a run that cannot halt gives nothing back"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_submitted_input_comes_back_as_an_outcome_or_given_back(case in cases()) {
        paused_runtime().block_on(run_case(case));
    }
}
