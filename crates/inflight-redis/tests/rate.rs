//! The global GCRA rate against a real redis-server: the local Rate's promise, summed over
//! clients.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use inflight::Rate;
use inflight_redis::{GlobalRate, Redis};

/// Starts of `clients` clients × `tasks` tasks for `run`: (Redis start µs, local Instant).
async fn starts(
    url: &str,
    name: &str,
    rate: Rate,
    clients: usize,
    tasks: usize,
    run: Duration,
) -> Vec<(u64, Instant)> {
    let all = Arc::new(Mutex::new(Vec::new()));
    let end = Instant::now() + run;
    let mut handles = Vec::new();
    for _ in 0..clients {
        let redis = Redis::connect(url).await.unwrap();
        let limiter = GlobalRate::new(&redis, name, rate);
        for _ in 0..tasks {
            let limiter = limiter.clone();
            let all = all.clone();
            handles.push(tokio::spawn(async move {
                while Instant::now() < end {
                    let grant = limiter.acquire(None).await.unwrap();
                    all.lock().unwrap().push((grant.start_us, Instant::now()));
                }
            }));
        }
    }
    for h in handles {
        h.await.unwrap();
    }
    let mut v = all.lock().unwrap().clone();
    v.sort();
    v
}

/// Starts per second between the first and the last start (on Redis's clock).
fn per_second(v: &[(u64, Instant)]) -> f64 {
    let span = (v[v.len() - 1].0 - v[0].0) as f64 / 1e6;
    (v.len() - 1) as f64 / span
}

/// Checks that every window holds at most `burst + t / interval` of `times` (sorted, µs),
/// give `slack` more for clocks other than Redis's.
fn check_windows(times: &[u64], rate: Rate, slack: f64) {
    let interval = rate.interval().as_micros() as f64;
    let burst = rate.burst_size() as f64;
    for i in 0..times.len() {
        for j in i..times.len() {
            let window = (times[j] - times[i]) as f64;
            let count = (j - i + 1) as f64;
            assert!(
                count <= burst + window / interval + slack,
                "{count} starts within {window} µs (interval {interval}, burst {burst})"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_window_holds_at_most_burst_plus_rate_times_its_length_over_all_clients() {
    let Some(server) = common::server() else {
        return;
    };
    let rate = Rate::per_second(50).burst(5);
    let run = Duration::from_secs(2);
    let v = starts(&server.url(), "api", rate, 3, 4, run).await;
    let redis_times: Vec<u64> = v.iter().map(|(us, _)| *us).collect();
    check_windows(&redis_times, rate, 1e-9);
    // As the clients saw them: a start can come late (scheduling), so allow one more.
    let t0 = v[0].1;
    let mut local: Vec<u64> = v
        .iter()
        .map(|(_, at)| (*at - t0).as_micros() as u64)
        .collect();
    local.sort();
    check_windows(&local, rate, 1.0);
    // And the rate is reached: burst + 50/s over the run, give or take the last interval.
    let expected = 5.0 + 50.0 * run.as_secs_f64();
    assert!(
        v.len() as f64 >= expected * 0.9,
        "{} starts, expected about {expected}",
        v.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_rate_change_applies_to_every_client() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let slow = Rate::per_second(10);
    let other = GlobalRate::new(&Redis::connect(&url).await.unwrap(), "live", slow);
    let before = per_second(&starts(&url, "live", slow, 2, 2, Duration::from_secs(1)).await);
    other
        .set_rate(Rate::per_second(100).burst(2))
        .await
        .unwrap();
    assert_eq!(
        other.rate().await.unwrap().interval(),
        Duration::from_millis(10)
    );
    assert_eq!(
        other.stored_rate().await.unwrap(),
        Some(Rate::per_second(100).burst(2))
    );
    let after = per_second(&starts(&url, "live", slow, 2, 2, Duration::from_secs(1)).await);
    assert!((9.0..=10.5).contains(&before), "{before}/s at 10/s");
    assert!((90.0..=101.0).contains(&after), "{after}/s at 100/s");
    other.clear_rate().await.unwrap();
    assert_eq!(other.rate().await.unwrap(), slow);
    assert_eq!(other.stored_rate().await.unwrap(), None);
}

/// The global rate keeps its theoretical arrival time (the key `tat` holds the next start's
/// due time, and a start is reserved there, ahead of the caller's sleep), so a caller that
/// wakes late from its sleep does not push the schedule back: with work waiting, it delivers
/// its rate at 100/s and 1000/s on a real clock, as the local rate does
/// (crates/inflight/tests/rate_real_clock.rs), and never more than burst + rate·t from the
/// first start on Redis's clock.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_waiting_global_rate_delivers_its_rate_at_100_and_1000_a_second() {
    let Some(server) = common::server() else {
        return;
    };
    let span = Duration::from_secs(2);
    let mut report = Vec::new();
    for per_second in [100u32, 1000] {
        let rate = Rate::per_second(per_second);
        let expected = per_second as f64 * span.as_secs_f64();
        // The best of three: a loaded machine can starve the clients for a tenth of a second,
        // longer than the starts they have reserved ahead (as the local rate's test says).
        let mut counts = Vec::new();
        for attempt in 0..3 {
            let name = format!("delivers-{per_second}-{attempt}");
            let run = span + Duration::from_millis(200);
            let v = starts(&server.url(), &name, rate, 1, 32, run).await;
            let first = v[0].0;
            let within = v
                .iter()
                .filter(|(us, _)| us - first <= span.as_micros() as u64)
                .count();
            assert!(
                within as f64 <= 1.0 + expected,
                "{within} starts in {span:?} at {per_second}/s"
            );
            counts.push(within);
            if within as f64 >= 0.95 * expected {
                break;
            }
        }
        report.push((per_second, counts, expected));
    }
    eprintln!("global starts in {span:?} (rate, measured per try, rate*t): {report:?}");
    for (per_second, counts, expected) in report {
        let best = counts.iter().copied().max().unwrap_or(0);
        assert!(
            best as f64 >= 0.95 * expected,
            "{counts:?} starts in {span:?} at {per_second}/s: under 95% of {expected}"
        );
    }
}
