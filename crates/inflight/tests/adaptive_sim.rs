//! Issue 11's simulation as tests: the library's adaptive limit against a server with a hidden
//! capacity (`sim/`), phase by phase, against a fixed limit at the capacity (the oracle) run on
//! the same scenario and seed, on tokio's paused clock. The criteria are in `sim/criteria.rs`;
//! the benchmark `benches/adaptive.rs` runs the same scenarios with every algorithm compared.

mod sim;

use inflight::Limit;
use sim::criteria::judge;
use sim::run::{simulate, Policy};
use sim::scenario::Scenario;
use sim::trace::Trace;

const SEED: u64 = 11;

fn adaptive() -> Limit {
    Limit::adaptive().max(500).into()
}

/// Runs `scenario` under `policy` and under the oracle, asserts every criterion, and returns
/// the run for more checks.
fn passes(scenario: &Scenario, policy: Policy) -> Trace {
    let oracle = simulate(scenario, Policy::Fixed(1.0), SEED);
    let run = simulate(scenario, policy, SEED);
    let failed: Vec<String> = judge(scenario, &run, &oracle, 1)
        .into_iter()
        .filter(|v| !v.pass)
        .map(|v| format!("{}: {}", v.segment, v.criterion))
        .collect();
    assert!(failed.is_empty(), "{}: {failed:#?}", scenario.name);
    run
}

#[test]
fn at_a_steady_capacity_it_matches_the_oracles_goodput_and_p99() {
    passes(&Scenario::steady(), Policy::Library(adaptive()));
}

#[test]
fn after_the_capacity_steps_down_and_up_it_is_back_within_ten_seconds() {
    passes(&Scenario::steps(), Policy::Library(adaptive()));
}

#[test]
fn a_slowdown_unrelated_to_load_does_not_collapse_the_limit() {
    let scenario = Scenario::inflation();
    let run = passes(&scenario, Policy::Library(adaptive()));
    let (at, slow) = scenario.timed().nth(1).expect("the slow phase");
    assert_eq!(slow.conditions.slowdown, 3.0);
    // Not just above the minimum: within half of the capacity, which has not changed.
    let lowest = run.summary(at, at + slow.duration).min_limit;
    assert!(
        lowest >= slow.conditions.capacity / 2,
        "lowest limit {lowest}"
    );
}

#[test]
fn fast_errors_unrelated_to_load_do_not_collapse_the_limit() {
    let scenario = Scenario::fast_errors();
    let run = passes(&scenario, Policy::Library(adaptive()));
    let capacity = scenario.segments[0].conditions.capacity;
    let lowest = run
        .summary(scenario.segments[0].settle, scenario.duration())
        .min_limit;
    assert!(lowest >= capacity / 2, "lowest limit {lowest}");
}

#[test]
fn a_mix_of_fast_and_slow_requests_matches_the_oracle() {
    passes(&Scenario::mix(), Policy::Library(adaptive()));
}

#[test]
fn the_plain_stream_adapts_on_latency_alone() {
    // No drops to see: a server that queues rather than refuses is what it can follow.
    passes(&Scenario::steady(), Policy::Stream(adaptive()));
    passes(&Scenario::inflation(), Policy::Stream(adaptive()));
}

#[test]
fn the_simulated_service_time_has_the_median_it_is_given() {
    let mut rng = sim::rng::Rng::new(7);
    let mut draws: Vec<f64> = (0..20_001).map(|_| rng.log_normal(50.0, 0.5)).collect();
    draws.sort_by(f64::total_cmp);
    assert!((draws[10_000] - 50.0).abs() < 1.5, "{}", draws[10_000]);
}
