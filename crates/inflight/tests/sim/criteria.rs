//! The pass criteria of issue 11, measured on a run against the oracle's run of the same
//! scenario and seed.

use std::time::Duration;

use super::scenario::Scenario;
use super::trace::Trace;

/// Steady phases: goodput at least this share of the oracle's.
pub const GOODPUT: f64 = 0.95;
/// Steady phases: p99 latency at most this multiple of the oracle's.
pub const P99: f64 = 1.5;
/// After a step: goodput back within this share of the oracle's...
pub const RECOVERED: f64 = 0.9;
/// ...within this long.
pub const RECOVERY: Duration = Duration::from_secs(10);

/// One criterion on one segment.
#[derive(Debug, Clone)]
pub struct Verdict {
    pub segment: &'static str,
    pub criterion: String,
    pub pass: bool,
}

/// Every criterion that applies to each segment of `scenario`:
///
/// - every segment with a `settle` time is steady once settled: goodput and p99 against the
///   oracle's over the same stretch;
/// - a segment named "step ..." must be back within 10% of the oracle's goodput within 10 s
///   and stay there (see [`recovery`]);
/// - in every segment the limit stays above `min`: it never collapses.
pub fn judge(scenario: &Scenario, run: &Trace, oracle: &Trace, min: usize) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    for (at, segment) in scenario.timed() {
        let end = at + segment.duration;
        if !segment.settle.is_zero() {
            let (ours, best) = (
                run.summary(at + segment.settle, end),
                oracle.summary(at + segment.settle, end),
            );
            verdicts.push(Verdict {
                segment: segment.name,
                criterion: format!(
                    "goodput {:.0}/s >= {GOODPUT} x oracle's {:.0}/s",
                    ours.goodput, best.goodput
                ),
                pass: ours.goodput >= GOODPUT * best.goodput,
            });
            verdicts.push(Verdict {
                segment: segment.name,
                criterion: format!(
                    "p99 {} ms <= {P99} x oracle's {} ms",
                    ours.p99.as_millis(),
                    best.p99.as_millis()
                ),
                pass: ours.p99.as_secs_f64() <= P99 * best.p99.as_secs_f64(),
            });
        }
        if segment.name.starts_with("step") {
            let recovered = recovery(run, oracle, at, end);
            verdicts.push(Verdict {
                segment: segment.name,
                criterion: format!(
                    "goodput within {:.0}% of the oracle's after {}",
                    (1.0 - RECOVERED) * 100.0,
                    recovered.map_or("never".to_owned(), |d| format!("{} s", d.as_secs()))
                ),
                pass: recovered.is_some_and(|d| d <= RECOVERY),
            });
        }
        let summary = run.summary(at, end);
        verdicts.push(Verdict {
            segment: segment.name,
            criterion: format!("lowest limit {} > minimum {min}", summary.min_limit),
            pass: summary.min_limit > min,
        });
    }
    verdicts
}

/// How long after `from` the run's goodput, over every two seconds from then to `to`, is
/// within 10% of the oracle's mean over the segment (two seconds, so that the noise of a
/// small count does not decide: 177 replies a second vary by 7.5% from second to second).
pub fn recovery(run: &Trace, oracle: &Trace, from: Duration, to: Duration) -> Option<Duration> {
    let target = 2.0 * RECOVERED * oracle.summary(from, to).goodput;
    let seconds = run.goodput_per_second(from, to);
    let pairs: Vec<f64> = seconds.windows(2).map(|w| w[0] + w[1]).collect();
    let first_good = pairs
        .iter()
        .rposition(|&goodput| goodput < target)
        .map_or(0, |last_bad| last_bad + 1);
    (first_good < pairs.len()).then(|| Duration::from_secs(first_good as u64))
}
