//! The rate on a real clock, with work always waiting: it delivers about `rate * t` starts and
//! never more than `burst + rate * t` counted from the first start. Late timer wake-ups (tokio's
//! timer fires on whole milliseconds, a busy machine later still) are what this is about, so
//! the paused clock cannot show it.
//!
//! A rate that pushed its schedule back by every late wake-up gave 89 starts a second at 100/s
//! and 357 at 1000/s; one that keeps its theoretical arrival time catches up.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use inflight::{Inflight, Rate};

/// How long each rate is measured.
const SPAN: Duration = Duration::from_secs(2);

/// Starts at `per_second` for `SPAN` with far more inputs waiting than the rate lets through;
/// returns how many starts fell within `SPAN` of the first one.
async fn starts_within_span(per_second: u32) -> usize {
    let starts = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let mut run = Inflight::new(64)
        .rate(Rate::per_second(per_second))
        .as_completed(0u64.., |_| {
            starts.lock().unwrap().push(Instant::now());
            async { Ok::<_, ()>(()) }
        });
    let began = Instant::now();
    // Run a little past the span, so the count covers the whole span after the first start.
    while began.elapsed() < SPAN + Duration::from_millis(100) {
        run.next().await;
    }
    drop(run);
    let starts = starts.lock().unwrap();
    let first = starts[0];
    starts.iter().filter(|&&at| at - first <= SPAN).count()
}

/// Tries per rate: a machine loaded to a dozen runnable threads on two cores starves this
/// process for a tenth of a second now and then (100/s once gave 180 in 2 s that way), which
/// no rate can make up without bursting beyond its catch-up. The best of three must reach 95%;
/// the old schedule, which lost every late wake-up, never came near (169 and 802).
const TRIES: usize = 3;

#[tokio::test(flavor = "current_thread")]
async fn a_rate_with_work_waiting_delivers_its_rate_on_a_real_clock() {
    let mut report = Vec::new();
    for per_second in [100u32, 1000] {
        let expected = per_second as f64 * SPAN.as_secs_f64();
        let mut counts = Vec::new();
        for _ in 0..TRIES {
            let count = starts_within_span(per_second).await;
            // burst (1) + rate * t, counted from the first start: every try.
            assert!(
                count as f64 <= 1.0 + expected,
                "{count} starts in {SPAN:?} at {per_second}/s: above burst + rate * t"
            );
            counts.push(count);
            if count as f64 >= 0.95 * expected {
                break;
            }
        }
        report.push((per_second, counts, expected));
    }
    eprintln!("starts in {SPAN:?} (rate, measured per try, rate*t): {report:?}");
    for (per_second, counts, expected) in report {
        let best = counts.iter().copied().max().unwrap_or(0);
        assert!(
            best as f64 >= 0.95 * expected,
            "{counts:?} starts in {SPAN:?} at {per_second}/s: under 95% of rate * t ({expected})"
        );
    }
}
