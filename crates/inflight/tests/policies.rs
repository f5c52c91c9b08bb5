//! The builder's policies, each on the paused clock: rate, timeout, retries, error policy,
//! per-key limits, live resizing, progress, spawn mode.

mod common;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Census;
use futures::StreamExt;
use inflight::{Counted, ErrorPolicy, Event, Failure, HaltMode, Inflight, Rate, Retry, RetryIf};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn n_starts_at_rate_r_with_burst_b_take_n_minus_b_over_r() {
    common::deadline(async move {
        for (n, per_second, burst) in [(50u64, 10u32, 1u32), (50, 10, 5), (7, 2, 7), (100, 50, 10)]
        {
            let start = Instant::now();
            let starts = Rc::new(RefCell::new(Vec::new()));
            let outcomes = Inflight::new(1000)
                .rate(Rate::per_second(per_second).burst(burst))
                .gather(0..n, |_| {
                    starts.borrow_mut().push(start.elapsed());
                    async { Ok::<_, ()>(()) }
                })
                .await;
            assert_eq!(outcomes.len() as u64, n);
            let last = *starts.borrow().last().unwrap();
            let expected = Duration::from_secs(1) * (n as u32 - burst.min(n as u32)) / per_second;
            assert_eq!(last, expected, "n={n} rate={per_second}/s burst={burst}");
            // And never more than burst + rate * t starts in any window of length t.
            let starts = starts.borrow();
            for (i, &a) in starts.iter().enumerate() {
                for (j, &b) in starts.iter().enumerate().skip(i) {
                    let window = (b - a).as_secs_f64();
                    assert!((j - i + 1) as f64 <= burst as f64 + per_second as f64 * window + 1e-9);
                }
            }
        }
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn a_hanging_task_times_out_at_its_deadline_and_its_slot_is_reused() {
    common::deadline(async move {
        let start = Instant::now();
        let mut outcomes = Inflight::new(1)
            .timeout(Duration::from_secs(2))
            .as_completed([0u64, 1], |&i| async move {
                if i == 0 {
                    std::future::pending::<()>().await; // hangs forever
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
                Ok::<_, ()>(i)
            });
        let first = outcomes.next().await.unwrap();
        assert_eq!(first.result, Err(Failure::TimedOut(Duration::from_secs(2))));
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        let second = outcomes.next().await.unwrap();
        assert_eq!(second.result, Ok(1));
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn retries_follow_the_backoff_and_stop_at_the_cap() {
    common::deadline(async move {
        let start = Instant::now();
        let attempts_at = Rc::new(RefCell::new(Vec::new()));
        let retry = Retry::attempts(4)
            .backoff(Duration::from_millis(100), Duration::from_millis(250))
            .no_jitter();
        let outcome = Inflight::new(1)
            .retry(retry)
            .gather([()], |_| {
                attempts_at.borrow_mut().push(start.elapsed().as_millis());
                async { Err::<(), _>("nope") }
            })
            .await
            .remove(0);
        // Attempt 1 at 0, then 100, 200 (doubling), 250 (capped) ms apart.
        assert_eq!(*attempts_at.borrow(), [0, 100, 300, 550]);
        assert_eq!(outcome.attempts, 4);
        assert_eq!(outcome.result, Err(Failure::Error("nope")));
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn a_task_that_fails_twice_then_succeeds_is_retried_to_success() {
    common::deadline(async move {
        let calls = Rc::new(Cell::new(0));
        let outcome = Inflight::new(1)
            .retry(Retry::attempts(5).no_jitter())
            .gather([7], |&n| {
                calls.set(calls.get() + 1);
                let fail = calls.get() <= 2;
                async move {
                    if fail {
                        Err("flaky")
                    } else {
                        Ok(n)
                    }
                }
            })
            .await
            .remove(0);
        assert_eq!((outcome.result, outcome.attempts), (Ok(7), 3));
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn only_failures_the_predicate_accepts_are_retried() {
    common::deadline(async move {
        let outcomes = Inflight::new(2)
            .retry(Retry::attempts(3).no_jitter())
            .retry_if(|failure: &Failure<u16>| matches!(failure, Failure::Error(500..)))
            .gather([404u16, 503], |&status| async move { Err::<(), _>(status) })
            .await;
        assert_eq!(outcomes[0].attempts, 1, "404 is not retried");
        assert_eq!(outcomes[1].attempts, 3, "503 is retried");
    })
    .await
}

/// Retries when the error says so, after the delay it names (as HTTP `Retry-After` does).
#[derive(Clone)]
struct AfterHint;

impl RetryIf<Option<u64>> for AfterHint {
    fn should_retry(&self, _failure: &Failure<Option<u64>>) -> bool {
        true
    }
    fn retry_delay(&self, failure: &Failure<Option<u64>>, _attempt: u32) -> Option<Duration> {
        failure.error().copied().flatten().map(Duration::from_secs)
    }
}

#[tokio::test(start_paused = true)]
async fn a_retry_delay_hint_replaces_the_backoff_and_its_absence_keeps_it() {
    common::deadline(async move {
        let start = Instant::now();
        let attempts_at = Rc::new(RefCell::new(Vec::new()));
        let retry = Retry::attempts(4)
            .backoff(Duration::from_millis(100), Duration::from_secs(1))
            .no_jitter();
        let outcome = Inflight::new(1)
            .retry(retry)
            .retry_policy(AfterHint)
            .gather([()], |_| {
                let n = attempts_at.borrow().len();
                attempts_at.borrow_mut().push(start.elapsed().as_millis());
                // Attempt 1 asks for 30 s (more than the backoff's cap: taken as given), attempt 2
                // gives no hint (backoff: 200 ms), attempt 3 asks for 2 s.
                let hint: Option<u64> = [Some(30), None, Some(2), None][n];
                async move { Err::<(), _>(hint) }
            })
            .await
            .remove(0);
        assert_eq!(*attempts_at.borrow(), [0, 30_000, 30_200, 32_200]);
        assert_eq!(outcome.attempts, 4);
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn halt_soon_hands_back_the_tasks_in_flight_and_pulls_and_retries_no_more() {
    common::deadline(async move {
        let census = Census::default();
        let pulled = Rc::new(Cell::new(0));
        let inputs = {
            let pulled = pulled.clone();
            (0..1_000u64).inspect(move |_| pulled.set(pulled.get() + 1))
        };
        let start = Instant::now();
        let mut outcomes = Inflight::new(3)
            .errors(ErrorPolicy::fail_fast())
            .halt_mode(HaltMode::Soon)
            .retry(Retry::attempts(5).no_jitter())
            .retry_if(|failure: &Failure<&str>| failure == &Failure::Error("flaky"))
            .as_completed(inputs, |&i| {
                let alive = census.enter();
                async move {
                    tokio::time::sleep(Duration::from_secs(1 + i)).await;
                    drop(alive);
                    match i {
                        0 => Err("broken"), // at 1 s: halts the run
                        1 => Err("flaky"),  // at 2 s: retryable, but the run has halted
                        _ => Ok(i),         // at 3 s
                    }
                }
            });
        let mut seen = Vec::new();
        while let Some(outcome) = outcomes.next().await {
            seen.push((outcome.index, outcome.is_ok(), outcome.attempts));
        }
        assert!(outcomes.halted());
        assert_eq!(seen, [(0, false, 1), (1, false, 1), (2, true, 1)]);
        assert_eq!(start.elapsed(), Duration::from_secs(3));
        assert_eq!(census.alive(), 0);
        assert_eq!(pulled.get(), 3, "nothing pulled after the halt");
        assert_eq!(census.made(), 3, "no attempt after the halt");
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn halt_after_successes_or_done_and_shares_judged_after_min_done() {
    common::deadline(async move {
        // Odd inputs fail, one at a time in input order.
        let run = |policy: ErrorPolicy| async move {
            Inflight::new(1)
                .errors(policy)
                .gather(0..100u32, |&i| async move {
                    if i % 2 == 1 {
                        Err(i)
                    } else {
                        Ok(i)
                    }
                })
                .await
                .len()
        };
        let after = |counted, n| ErrorPolicy::HaltAfter { counted, n };
        assert_eq!(run(after(Counted::Succeeded, 3)).await, 5, "ok at 0, 2, 4");
        assert_eq!(run(after(Counted::Failed, 3)).await, 6, "failed at 1, 3, 5");
        assert_eq!(run(after(Counted::Done, 4)).await, 4);
        // 100% succeeded after input 0, but a share is judged only after 3 are done: at input 2
        // two of three (67%) succeeded.
        let share = |counted, percent| ErrorPolicy::HaltAtShare {
            counted,
            percent,
            min_done: 3,
        };
        assert_eq!(run(share(Counted::Succeeded, 60.0)).await, 3);
        assert_eq!(
            run(share(Counted::Succeeded, 70.0)).await,
            100,
            "never above 67%"
        );
        // Failures reach 50% at input 3 (2 of 4); at input 1 (1 of 2) too few were done.
        let fail_share = ErrorPolicy::halt_at_failure_percent(50.0, 3);
        assert_eq!(run(fail_share).await, 4);
        assert_eq!(run(share(Counted::Failed, 50.0)).await, 4);
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn fail_fast_cancels_everything_in_flight_and_pulls_no_more() {
    common::deadline(async move {
        let census = Census::default();
        let pulled = Rc::new(Cell::new(0));
        let inputs = {
            let pulled = pulled.clone();
            (0..1_000u64).inspect(move |_| pulled.set(pulled.get() + 1))
        };
        let mut outcomes = Inflight::new(4)
            .errors(ErrorPolicy::fail_fast())
            .as_completed(inputs, |&i| {
                let alive = census.enter();
                async move {
                    tokio::time::sleep(Duration::from_millis(if i == 5 { 1 } else { 100 })).await;
                    drop(alive);
                    if i == 5 {
                        Err("broken")
                    } else {
                        Ok(i)
                    }
                }
            });
        let mut seen = Vec::new();
        while let Some(outcome) = outcomes.next().await {
            seen.push(outcome);
        }
        let last = seen.last().unwrap();
        assert_eq!(
            (last.index, last.result.clone()),
            (5, Err(Failure::Error("broken")))
        );
        assert!(outcomes.halted());
        assert_eq!(census.alive(), 0, "tasks in flight were cancelled");
        assert!(pulled.get() <= 4 + 4 + 1, "pulled {}", pulled.get());
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn collect_hands_back_every_outcome_with_its_input() {
    common::deadline(async move {
        let outcomes = Inflight::new(3)
            .gather(["1", "x", "3"], |s: &&str| {
                let parsed = s.parse::<u32>().map_err(|e| e.to_string());
                async move { parsed }
            })
            .await;
        let summary: Vec<(&str, bool)> = outcomes.iter().map(|o| (o.input, o.is_ok())).collect();
        assert_eq!(summary, [("1", true), ("x", false), ("3", true)]);
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn halt_after_n_failures() {
    common::deadline(async move {
        let outcomes = Inflight::new(1)
            .errors(ErrorPolicy::halt_after_failures(3))
            .gather(0..100, |&i| async move {
                if i % 2 == 1 {
                    Err(i)
                } else {
                    Ok(i)
                }
            })
            .await;
        // Failures at 1, 3, 5: the third stops the run.
        assert_eq!(outcomes.len(), 6);
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn a_per_key_limit_holds_while_other_keys_fill_every_slot() {
    common::deadline(async move {
        let running: Rc<RefCell<HashMap<char, usize>>> = Rc::default();
        let total = Rc::new(Cell::new(0usize));
        let peak_total = Rc::new(Cell::new(0usize));
        let peak_a = Rc::new(Cell::new(0usize));
        // Half the inputs are host 'a', listed first: without per-key parking they would block.
        let inputs: Vec<(char, u64)> = (0..40)
            .map(|i| ('a', i))
            .chain((0..40).map(|i| ((b'b' + (i % 4) as u8) as char, i)))
            .collect();
        let start = Instant::now();
        let outcomes = Inflight::new(8)
            .max_parked(80)
            .gather(inputs, |&(host, _)| {
                let (running, total, peak_total, peak_a) = (
                    running.clone(),
                    total.clone(),
                    peak_total.clone(),
                    peak_a.clone(),
                );
                async move {
                    *running.borrow_mut().entry(host).or_default() += 1;
                    total.set(total.get() + 1);
                    peak_total.set(peak_total.get().max(total.get()));
                    let now = running.borrow()[&host];
                    assert!(now <= 2, "key {host} has {now} running");
                    if host == 'a' {
                        peak_a.set(peak_a.get().max(now));
                    }
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    *running.borrow_mut().get_mut(&host).unwrap() -= 1;
                    total.set(total.get() - 1);
                    Ok::<_, ()>(())
                }
            })
            .per_key(2, |&(host, _)| host)
            .await;
        assert_eq!(outcomes.len(), 80);
        assert_eq!(peak_a.get(), 2);
        assert_eq!(
            peak_total.get(),
            8,
            "other keys kept every remaining slot busy"
        );
        // 'a' alone needs 20 rounds at 2 at once; b..e (10 each) finish alongside.
        assert_eq!(start.elapsed(), Duration::from_secs(20));
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn the_limit_changed_mid_run_takes_effect() {
    common::deadline(async move {
        let builder = Inflight::new(2);
        let handle = builder.handle();
        let start = Instant::now();
        let mut outcomes = builder.as_completed(0..40, |_| async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            Ok::<_, ()>(())
        });
        for _ in 0..4 {
            outcomes.next().await.unwrap();
        }
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        handle.set_limit(12); // 36 left, in 3 rounds
        while outcomes.next().await.is_some() {}
        assert_eq!(start.elapsed(), Duration::from_secs(5));
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn the_rate_changed_mid_run_takes_effect() {
    common::deadline(async move {
        let builder = Inflight::new(100).rate(Rate::per_second(1));
        let handle = builder.handle();
        let start = Instant::now();
        let starts = Rc::new(RefCell::new(Vec::new()));
        let mut outcomes = builder.as_completed(0..22, |_| {
            starts.borrow_mut().push(start.elapsed().as_millis());
            async { Ok::<_, ()>(()) }
        });
        for _ in 0..2 {
            outcomes.next().await.unwrap();
        }
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        handle.set_rate(Some(Rate::per_second(10)));
        while outcomes.next().await.is_some() {}
        // The start owed at 2 s under 1/s is owed at 100 ms under 10/s: from 1.1 s, every 100 ms.
        assert_eq!(starts.borrow()[2..5], [1100, 1200, 1300]);
        assert_eq!(start.elapsed(), Duration::from_millis(3_000));
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn progress_counts_and_events_are_reported() {
    common::deadline(async move {
        let events = Arc::new(Mutex::new(Vec::new()));
        let builder = Inflight::new(4)
            .retry(Retry::attempts(2).no_jitter())
            .on_event({
                let events = events.clone();
                move |event| events.lock().unwrap().push(*event)
            });
        let progress = builder.progress();
        let outcomes = builder
            .gather(0..10u64, |&i| async move {
                tokio::time::sleep(Duration::from_millis(10 * (i + 1))).await;
                if i == 9 {
                    Err(())
                } else {
                    Ok(i)
                }
            })
            .await;
        assert_eq!(outcomes.len(), 10);
        let now = progress.snapshot();
        assert_eq!(
            (now.pulled, now.in_flight, now.done, now.failed, now.retried),
            (10, 0, 10, 1, 1)
        );
        assert!(
            now.p50 >= Duration::from_millis(50) && now.p50 <= Duration::from_millis(60),
            "{:?}",
            now.p50
        );
        assert!(now.p99 >= Duration::from_millis(190), "{:?}", now.p99);
        let events = events.lock().unwrap();
        let started = events
            .iter()
            .filter(|e| matches!(e, Event::Started { .. }))
            .count();
        let retrying = events
            .iter()
            .filter(|e| matches!(e, Event::Retrying { index: 9, .. }))
            .count();
        let finished = events
            .iter()
            .filter(|e| matches!(e, Event::Finished { .. }))
            .count();
        assert_eq!((started, retrying, finished), (10, 1, 10));
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn spawn_mode_catches_panics_and_keeps_the_limit() {
    common::deadline(async move {
        let now = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let peak = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let outcomes = Inflight::new(3)
            .gather(0..30u64, |&i| {
                let (now, peak) = (now.clone(), peak.clone());
                async move {
                    let running = now.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                    peak.fetch_max(running, std::sync::atomic::Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    now.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
                    assert!(i != 7, "input 7 is cursed");
                    Ok::<_, ()>(i)
                }
            })
            .spawned()
            .await;
        assert_eq!(outcomes.len(), 30);
        assert_eq!(
            outcomes[7].result,
            Err(Failure::Panicked("input 7 is cursed".into()))
        );
        assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 29);
        assert!(peak.load(std::sync::atomic::Ordering::SeqCst) <= 3);
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn ordered_outcomes_come_in_input_order_under_policies() {
    common::deadline(async move {
        let outcomes: Vec<u64> = Inflight::new(4)
            .timeout(Duration::from_secs(5))
            .ordered(0..20u64, |&i| async move {
                tokio::time::sleep(Duration::from_millis(100 - i * 5)).await;
                Ok::<_, ()>(i)
            })
            .map(|o| o.index)
            .collect()
            .await;
        assert_eq!(outcomes, (0..20).collect::<Vec<_>>());
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn parked_inputs_are_bounded_by_the_cap() {
    common::deadline(async move {
        let pulled = Rc::new(Cell::new(0usize));
        let handed = Rc::new(Cell::new(0usize));
        let worst = Rc::new(Cell::new(0usize));
        let inputs = {
            let (pulled, handed, worst) = (pulled.clone(), handed.clone(), worst.clone());
            // One key only: everything past the first two must park.
            (0..1_000u32).inspect(move |_| {
                pulled.set(pulled.get() + 1);
                worst.set(worst.get().max(pulled.get() - handed.get()));
            })
        };
        let mut outcomes = Inflight::new(8)
            .max_parked(5)
            .as_completed(inputs, |_| async {
                tokio::time::sleep(Duration::from_millis(1)).await;
                Ok::<_, ()>(())
            })
            .per_key(2, |_| "one host");
        while outcomes.next().await.is_some() {
            handed.set(handed.get() + 1);
        }
        assert_eq!(handed.get(), 1_000);
        // At most 2 running, 5 parked, and one more being looked at.
        assert!(worst.get() <= 2 + 5 + 1, "{} outstanding", worst.get());
    })
    .await
}
