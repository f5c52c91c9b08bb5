//! The simulation of issue 11 as a benchmark: every phase, one after the other, under fixed
//! limits (the oracle that knows the hidden capacity, a quarter of it, four times it), under
//! the algorithms from the literature written outside the library, and under the library's
//! adaptive limit, on tokio's paused clock (a run of 170 simulated seconds takes about a
//! second). Prints a table per phase and the pass criteria, and writes the plot.
//!
//!     cargo bench -p inflight --bench adaptive
//!     ADAPTIVE_SEEDS=20 cargo bench -p inflight --bench adaptive   # criteria over 20 seeds

#[path = "../tests/sim/mod.rs"]
mod sim;

#[path = "adaptive/candidates.rs"]
mod candidates;
#[path = "adaptive/svg.rs"]
mod svg;
#[path = "adaptive/window.rs"]
mod window;

use inflight::Limit;
use sim::criteria::judge;
use sim::run::{simulate, Policy};
use sim::scenario::Scenario;
use sim::trace::Trace;

const SEED: u64 = 11;
const PLOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/adaptive.svg");

/// Every policy, baselines first, the oracle first of all.
fn policies(baselines: bool) -> Vec<(&'static str, Policy)> {
    let mut all = vec![("fixed C (oracle)", Policy::Fixed(1.0))];
    if baselines {
        all.push(("fixed C/4", Policy::Fixed(0.25)));
        all.push(("fixed 4C", Policy::Fixed(4.0)));
    }
    all.extend([
        (
            "AIMD (Netflix)",
            Policy::External(Box::new(candidates::Aimd::new())),
        ),
        (
            "Vegas (Netflix)",
            Policy::External(Box::new(candidates::Vegas::new())),
        ),
        (
            "Gradient2 (Netflix)",
            Policy::External(Box::new(candidates::Gradient2::new())),
        ),
        (
            "gradient (Envoy)",
            Policy::External(Box::new(candidates::Envoy::new())),
        ),
        (
            "inflight: Inflight + drop_if",
            Policy::Library(Limit::adaptive().max(500).into()),
        ),
        (
            "inflight: as_completed",
            Policy::Stream(Limit::adaptive().max(500).into()),
        ),
    ]);
    all
}

fn main() {
    // `cargo bench` passes `--bench`; nothing else is taken.
    let scenario = Scenario::all();
    if let Some(seeds) = std::env::var("ADAPTIVE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return robustness(&scenario, seeds);
    }
    let mut runs: Vec<(&str, Trace)> = Vec::new();
    for (name, policy) in policies(true) {
        let started = std::time::Instant::now();
        let trace = simulate(&scenario, policy, SEED);
        eprintln!("{name}: {:.1?}", started.elapsed());
        runs.push((name, trace));
    }
    table(&scenario, &runs);
    let oracle = &runs[0].1;
    println!("\n### Pass criteria (seed {SEED})\n");
    println!("| policy | passed | failed |");
    println!("| --- | ---: | --- |");
    for (name, trace) in &runs[1..] {
        let verdicts = judge(&scenario, trace, oracle, 1);
        let failed: Vec<String> = verdicts
            .iter()
            .filter(|v| !v.pass)
            .map(|v| format!("{}: {}", v.segment, v.criterion))
            .collect();
        println!(
            "| {name} | {} of {} | {} |",
            verdicts.len() - failed.len(),
            verdicts.len(),
            failed.join("; ")
        );
    }
    let library = &runs
        .iter()
        .find(|(n, _)| n.starts_with("inflight: Inflight"))
        .unwrap()
        .1;
    let plotted = svg::plot(
        &scenario,
        "inflight's adaptive limit (Inflight + drop_if) against a server with a hidden capacity",
        &[
            svg::Line {
                label: "hidden capacity C",
                colour: "#888",
                dashed: true,
                points: svg::capacity(&scenario),
            },
            svg::Line {
                label: "limit",
                colour: "#d62728",
                dashed: false,
                points: svg::series(library, |b| b.limit as f64),
            },
            svg::Line {
                label: "in flight",
                colour: "#1f77b4",
                dashed: false,
                points: svg::series(library, |b| b.in_flight()),
            },
        ],
        &[
            svg::Line {
                label: "oracle (fixed C)",
                colour: "#888",
                dashed: true,
                points: svg::smooth(&svg::series(oracle, |b| b.ok as f64 * 10.0), 10),
            },
            svg::Line {
                label: "inflight",
                colour: "#2ca02c",
                dashed: false,
                points: svg::smooth(&svg::series(library, |b| b.ok as f64 * 10.0), 10),
            },
        ],
    );
    match std::fs::write(PLOT, plotted) {
        Ok(()) => eprintln!("wrote {PLOT}"),
        Err(error) => eprintln!("could not write {PLOT}: {error}"),
    }
}

/// The table of each phase: every policy's measures over the phase once settled.
fn table(scenario: &Scenario, runs: &[(&str, Trace)]) {
    for (at, segment) in scenario.timed() {
        let (from, to) = (at + segment.settle, at + segment.duration);
        println!(
            "\n### {} ({} to {} s, measured from {} s)\n",
            segment.name,
            at.as_secs(),
            to.as_secs(),
            from.as_secs()
        );
        println!("| policy | goodput/s | p50 ms | p99 ms | mean limit | lowest limit | in flight | drops/s |");
        println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (name, trace) in runs {
            let s = trace.summary(from, to);
            println!(
                "| {name} | {:.0} | {} | {} | {:.1} | {} | {:.1} | {:.1} |",
                s.goodput,
                s.p50.as_millis(),
                s.p99.as_millis(),
                s.mean_limit,
                s.min_limit,
                s.mean_in_flight,
                s.drops
            );
        }
    }
}

/// The criteria over `seeds` seeds: how many each adaptive policy passes, and which the
/// library's fail.
fn robustness(scenario: &Scenario, seeds: u64) {
    let mut passed: Vec<(&str, usize, usize)> = Vec::new();
    let mut failures = Vec::new();
    for seed in SEED..SEED + seeds {
        let mut runs = policies(false).into_iter();
        let (_, oracle) = runs.next().expect("the oracle is first");
        let oracle = simulate(scenario, oracle, seed);
        for (i, (name, policy)) in runs.enumerate() {
            let verdicts = judge(scenario, &simulate(scenario, policy, seed), &oracle, 1);
            if passed.len() <= i {
                passed.push((name, 0, 0));
            }
            passed[i].1 += verdicts.iter().filter(|v| v.pass).count();
            passed[i].2 += verdicts.len();
            if name.starts_with("inflight: Inflight") {
                for v in verdicts.iter().filter(|v| !v.pass) {
                    failures.push(format!("seed {seed}, {}: {}", v.segment, v.criterion));
                }
            }
        }
        eprintln!("seed {seed} done");
    }
    println!(
        "\n### Pass criteria over {seeds} seeds ({SEED} to {})\n",
        SEED + seeds - 1
    );
    println!("| policy | criteria passed |");
    println!("| --- | ---: |");
    for (name, pass, all) in passed {
        println!(
            "| {name} | {pass} of {all} ({:.1}%) |",
            100.0 * pass as f64 / all as f64
        );
    }
    println!("\nFailed by inflight (Inflight + drop_if):\n");
    for failure in failures {
        println!("- {failure}");
    }
}
