//! Property tests of the rate on the paused clock, whatever the rate, burst, catch-up and the
//! way inputs arrive (clumps, quiet spells, work always waiting):
//!
//! - any window of length `t` holds at most `burst + rate·(t + catch_up)` starts, and at most
//!   `burst + rate·t` when it begins at the first start;
//! - with work waiting from the start, `n` starts take `(n - burst) / rate`, to the timer's
//!   millisecond: late wake-ups (every interval that is not whole milliseconds makes them on
//!   tokio's timer) do not push the schedule back.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::paused_runtime;
use futures::StreamExt;
use inflight::{Inflight, Rate};
use proptest::prelude::*;
use tokio::time::Instant;

#[derive(Debug, Clone)]
struct Case {
    per_second: u32,
    burst: u32,
    /// `None`: the default catch-up.
    catch_up_ms: Option<u64>,
    limit: usize,
    /// Per input: the pause before it arrives (ms), and how long its task takes (ms).
    inputs: Vec<(u64, u64)>,
}

fn cases() -> impl Strategy<Value = Case> {
    (
        prop_oneof![1u32..40, 40u32..400, 400u32..3000],
        1u32..5,
        prop::option::of(prop_oneof![Just(0u64), 1u64..30]),
        1usize..50,
        prop::collection::vec(
            (
                prop_oneof![3 => Just(0u64), 1 => 0u64..30, 1 => 100u64..1500],
                0u64..40,
            ),
            1..80,
        ),
    )
        .prop_map(|(per_second, burst, catch_up_ms, limit, inputs)| Case {
            per_second,
            burst,
            catch_up_ms,
            limit,
            inputs,
        })
}

impl Case {
    fn rate(&self) -> Rate {
        let rate = Rate::per_second(self.per_second).burst(self.burst);
        match self.catch_up_ms {
            Some(ms) => rate.catch_up(Duration::from_millis(ms)),
            None => rate,
        }
    }
}

/// Runs the inputs under the case's rate; the start times, in order.
async fn starts(case: &Case) -> Vec<Duration> {
    let t0 = Instant::now();
    let starts = Arc::new(Mutex::new(Vec::new()));
    let arrivals = futures::stream::iter(case.inputs.clone()).then(|(pause, ms)| async move {
        tokio::time::sleep(Duration::from_millis(pause)).await;
        ms
    });
    let outcomes = Inflight::new(case.limit)
        .rate(case.rate())
        .stream(arrivals, |&ms| {
            starts.lock().unwrap().push(t0.elapsed());
            async move {
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok::<_, ()>(())
            }
        })
        .count()
        .await;
    assert_eq!(outcomes, case.inputs.len());
    let starts = starts.lock().unwrap().clone();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]));
    starts
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn no_window_holds_more_than_the_rate_allows(case in cases()) {
        let starts = paused_runtime().block_on(starts(&case));
        let rate = case.rate();
        let per_second = case.per_second as f64;
        let catch_up = rate.max_catch_up().as_secs_f64();
        let burst = case.burst as f64;
        for i in 0..starts.len() {
            for j in i..starts.len() {
                let t = (starts[j] - starts[i]).as_secs_f64();
                let count = (j - i + 1) as f64;
                let allowed = burst + per_second * (t + catch_up) + 1e-6;
                prop_assert!(count <= allowed, "{count} starts in {t}s (any window)");
                if i == 0 {
                    let allowed = burst + per_second * t + 1e-6;
                    prop_assert!(count <= allowed, "{count} starts in {t}s from the first");
                }
            }
        }
    }

    #[test]
    fn with_work_waiting_n_starts_take_n_minus_burst_intervals(
        per_second in 1u32..3000,
        burst in 1u32..5,
        n in 1usize..300,
    ) {
        // Every input there at once, and more slots than inputs: work always waits.
        let case = Case {
            per_second,
            burst,
            catch_up_ms: None,
            limit: n,
            inputs: vec![(0, 0); n],
        };
        let starts = paused_runtime().block_on(starts(&case));
        let last = *starts.last().unwrap();
        let due = Duration::from_secs(1) * (n as u32).saturating_sub(burst) / per_second;
        prop_assert!(last >= due, "{n} starts ended at {last:?}, before {due:?}");
        prop_assert!(
            last <= due + Duration::from_millis(1),
            "{n} starts at {per_second}/s burst {burst} ended at {last:?}, not {due:?}"
        );
    }
}
