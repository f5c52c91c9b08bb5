//! The bugs of the library-1.0 review, each pinned by a test that failed before its fix.

mod common;

use std::error::Error;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use futures::{Stream, StreamExt};
use inflight::{ErrorPolicy, Failure, Inflight, Limiter, Rate, Retry};
use tokio::time::Instant;

/// A waker that counts how often it is woken.
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

/// Bug 1: every pending poll of a run pushed the consumer's waker into the builder's shared
/// list, which only `set_limit` drained, so a stored builder grew (and slowed) with every run.
/// Now a run registers one waker under its own id and forgets it when it ends.
#[tokio::test(start_paused = true)]
async fn finished_runs_leave_no_waker_behind_in_a_stored_builder() {
    common::deadline(async move {
        let builder = Inflight::new(4);
        let wakers: Vec<Arc<CountingWaker>> = (0..200)
            .map(|_| Arc::new(CountingWaker(AtomicUsize::new(0))))
            .collect();
        for counter in &wakers {
            // Each run is polled only with its own waker, to its end.
            let waker = Waker::from(counter.clone());
            let mut cx = Context::from_waker(&waker);
            let mut run = builder.as_completed([()], |_| async {
                tokio::time::sleep(Duration::from_millis(1)).await;
                Ok::<_, ()>(())
            });
            assert!(run.poll_next_unpin(&mut cx).is_pending());
            tokio::time::advance(Duration::from_millis(2)).await;
            assert!(matches!(run.poll_next_unpin(&mut cx), Poll::Ready(Some(_))));
            assert!(matches!(run.poll_next_unpin(&mut cx), Poll::Ready(None)));
        }
        let woken_before = wakers
            .iter()
            .map(|w| w.0.load(Ordering::SeqCst))
            .sum::<usize>();
        builder.handle().set_limit(8);
        let woken_after = wakers
            .iter()
            .map(|w| w.0.load(Ordering::SeqCst))
            .sum::<usize>();
        assert_eq!(
            woken_after, woken_before,
            "set_limit woke the consumers of finished runs"
        );
    })
    .await
}

/// Bug 2: lifting (or raising) the rate did not reach a start already waiting for it, nor a
/// retry waiting on the rate: outcomes still came at 60 s.
#[tokio::test(start_paused = true)]
async fn lifting_the_rate_releases_starts_and_retries_already_waiting() {
    common::deadline(async move {
        let builder = Inflight::new(10)
            .rate(Rate::new(1, Duration::from_secs(60)))
            .retry(Retry::attempts(2).backoff(Duration::from_millis(1), Duration::from_millis(1)));
        let handle = builder.handle();
        let start = Instant::now();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            handle.set_rate(None);
        });
        let attempts = Arc::new(AtomicUsize::new(0));
        let outcomes = builder
            .gather(0..3u32, |&i| {
                let first = attempts.fetch_add(1, Ordering::SeqCst) == 0;
                async move {
                    if first {
                        Err("retry me") // its retry waits on the rate
                    } else {
                        Ok(i)
                    }
                }
            })
            .await;
        assert_eq!(outcomes.len(), 3);
        assert!(outcomes.iter().all(|o| o.is_ok()));
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    })
    .await
}

/// Bug 3: in spawn mode a timed-out attempt was aborted asynchronously while its slot was
/// refilled at once, so CPU-bound tasks (which an abort cannot stop) ran beyond the limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 3)]
async fn a_timed_out_spawned_attempt_holds_its_slot_until_it_really_ends() {
    common::deadline(async move {
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let outcomes = Inflight::new(1)
            .timeout(Duration::from_millis(50))
            .gather(0..3, |_| {
                let (running, peak) = (running.clone(), peak.clone());
                async move {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(now, Ordering::SeqCst);
                    std::thread::sleep(Duration::from_millis(300)); // CPU-bound: no await to abort at
                    running.fetch_sub(1, Ordering::SeqCst);
                    Ok::<_, ()>(())
                }
            })
            .spawned()
            .await;
        assert_eq!(outcomes.len(), 3);
        assert!(outcomes
            .iter()
            .all(|o| o.result == Err(Failure::TimedOut(Duration::from_millis(50)))));
        assert_eq!(
            peak.load(Ordering::SeqCst),
            1,
            "more than the limit ran at once"
        );
    })
    .await
}

/// Bug 4: `Snapshot::in_flight` was `pulled - done`: it stayed up after a fail-fast run ended
/// (its cancelled tasks never finished) and counted parked per-key inputs as in flight.
#[tokio::test(start_paused = true)]
async fn in_flight_counts_what_runs_and_nothing_else() {
    common::deadline(async move {
        let builder = Inflight::new(2).errors(ErrorPolicy::fail_fast());
        let progress = builder.progress();
        let outcomes = builder
            .gather(0..10u64, |&i| async move {
                tokio::time::sleep(Duration::from_secs(if i == 0 { 1 } else { 10 })).await;
                if i == 0 {
                    Err("first")
                } else {
                    Ok(i)
                }
            })
            .await;
        assert_eq!(outcomes.len(), 1);
        assert_eq!(progress.snapshot().in_flight, 0, "after a fail-fast run");

        let builder = Inflight::new(2).max_parked(100);
        let progress = builder.progress();
        let sampled = Arc::new(Mutex::new(Vec::new()));
        let outcomes = builder
            .gather(0..20u64, |_| {
                sampled.lock().unwrap().push(progress.snapshot().in_flight);
                async {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    Ok::<_, ()>(())
                }
            })
            .per_key(1, |_| "one key")
            .await;
        assert_eq!(outcomes.len(), 20);
        let worst = sampled.lock().unwrap().iter().copied().max().unwrap();
        assert!(
            worst <= 1,
            "in_flight {worst} with one key at 1 (the rest parked)"
        );
    })
    .await
}

/// Bug 5: `Limiter::acquire_blocking` on a runtime thread deadlocked; now it panics as tokio's
/// own blocking calls do. Run on a thread of its own with a deadline, so a deadlock fails the
/// test instead of hanging it.
#[test]
fn acquire_blocking_on_a_runtime_thread_panics_instead_of_deadlocking() {
    let (done, outcome) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = std::panic::catch_unwind(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .build()
                .unwrap();
            rt.block_on(async {
                let limiter = Limiter::new(1);
                let _held = limiter.acquire().await;
                let _second = limiter.acquire_blocking(); // would wait forever
            })
        });
        let _ = done.send(result.is_err());
    });
    let panicked = outcome
        .recv_timeout(Duration::from_secs(20))
        .expect("acquire_blocking deadlocked");
    assert!(panicked);

    // From a blocking thread of the runtime it is allowed, and works.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let limiter = Limiter::new(1);
    let got = rt.block_on(rt.spawn_blocking(move || limiter.acquire_blocking().weight()));
    assert_eq!(got.unwrap(), 1);
}

/// Bugs 6 and 7: `Failure` dropped the error chain (`source()` was `None`).
#[test]
fn a_failure_forwards_the_source_of_its_error() {
    #[derive(Debug)]
    struct Fetch(std::io::Error);
    impl std::fmt::Display for Fetch {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("fetch failed")
        }
    }
    impl Error for Fetch {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            Some(&self.0)
        }
    }
    let failure = Failure::Error(Fetch(std::io::Error::other("connection reset")));
    assert_eq!(failure.to_string(), "fetch failed");
    assert_eq!(failure.source().unwrap().to_string(), "connection reset");
    assert!(Failure::<Fetch>::TimedOut(Duration::from_secs(1))
        .source()
        .is_none());
}

/// Review: an input waiting out its retry backoff when the run halted slept through it and
/// tried again, though a halted run makes no new attempt.
#[tokio::test(start_paused = true)]
async fn a_halt_ends_the_backoff_of_waiting_retries_without_a_new_attempt() {
    common::deadline(async move {
        for mode in [inflight::HaltMode::Now, inflight::HaltMode::Soon] {
            let calls = Arc::new(Mutex::new(Vec::new()));
            let builder = Inflight::new(4)
                .errors(ErrorPolicy::fail_fast())
                .halt_mode(mode)
                .retry(
                    Retry::attempts(3)
                        .backoff(Duration::from_secs(10), Duration::from_secs(10))
                        .no_jitter(),
                )
                .retry_if(|f: &Failure<&'static str>| f.error() != Some(&"fatal"));
            let start = Instant::now();
            let outcomes: Vec<_> = builder
                .ordered(0..3u32, |&i| {
                    calls.lock().unwrap().push(i);
                    async move {
                        match i {
                            0 => Err("transient"), // at once, then a 10 s backoff
                            1 => {
                                tokio::time::sleep(Duration::from_secs(1)).await;
                                Err("fatal") // halts the run at 1 s
                            }
                            _ => {
                                tokio::time::sleep(Duration::from_secs(5)).await;
                                Ok(i)
                            }
                        }
                    }
                })
                .collect()
                .await;
            let calls = calls.lock().unwrap().clone();
            assert_eq!(calls, [0, 1, 2], "{mode:?}: no attempt after the halt");
            assert_eq!(outcomes[0].result, Err(Failure::Error("transient")));
            assert_eq!(outcomes[0].attempts, 1);
            let expected_end = match mode {
                inflight::HaltMode::Now => Duration::from_secs(1),
                // Soon lets the one really running (input 2, 5 s) finish.
                _ => Duration::from_secs(5),
            };
            assert_eq!(start.elapsed(), expected_end, "{mode:?}");
        }
    })
    .await
}

/// Review: `gather` and `try_gather` reserved room for every input the iterator announced, so
/// an infinite one panicked ("capacity overflow") before anything ran.
#[tokio::test(start_paused = true)]
async fn gather_and_try_gather_take_an_infinite_iterator() {
    common::deadline(async move {
        let first_error = inflight::try_gather(
            (0u64..).map(|i| async move {
                if i == 5 {
                    Err(i)
                } else {
                    Ok(i)
                }
            }),
            8,
        )
        .await;
        assert_eq!(first_error, Err(5));
        let outputs = inflight::gather((0u64..).take(10).map(|i| async move { i }), 8).await;
        assert_eq!(outputs.len(), 10);
        // An iterator that announces far more than it holds.
        let huge = (0..u64::MAX).map(|i| async move {
            if i == 2 {
                Err(i)
            } else {
                Ok(i)
            }
        });
        assert_eq!(inflight::try_gather(huge, 4).await, Err(2));
    })
    .await
}

/// Review: a pool closed while a spawn waited for its slot made that spawn panic.
#[tokio::test(start_paused = true)]
async fn a_spawn_waiting_when_the_pool_closes_still_goes_in() {
    common::deadline(async move {
        let pool = Arc::new(inflight::Pool::new(1));
        pool.spawn(async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            1
        })
        .await
        .unwrap();
        let waiting = tokio::spawn({
            let pool = pool.clone();
            async move {
                pool.spawn(async { 2 }).await.unwrap();
            }
        });
        tokio::time::sleep(Duration::from_millis(10)).await;
        pool.close();
        let mut outputs = Vec::new();
        while let Some(output) = pool.join_next().await {
            outputs.push(output.unwrap());
        }
        waiting.await.unwrap();
        outputs.sort_unstable();
        assert_eq!(outputs, [1, 2], "join_next waited for the pending spawn");
    })
    .await
}

/// Review: an input whose task panicked (caught by the consumer) vanished from the progress
/// counts: pulled 10, done 9.
#[tokio::test(start_paused = true)]
async fn a_panicked_input_counts_as_done_and_failed() {
    use futures::FutureExt;
    common::deadline(async move {
        let builder = Inflight::new(2);
        let progress = builder.progress();
        let mut outcomes = builder.as_completed(0..10u32, |&i| async move {
            tokio::task::yield_now().await;
            assert!(i != 3, "three");
            Ok::<_, ()>(i)
        });
        let mut panics = 0;
        loop {
            match std::panic::AssertUnwindSafe(outcomes.next())
                .catch_unwind()
                .await
            {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(_) => panics += 1,
            }
        }
        assert_eq!(panics, 1);
        let now = progress.snapshot();
        assert_eq!(
            (now.pulled, now.done, now.failed, now.in_flight),
            (10, 10, 1, 0)
        );
    })
    .await
}

#[test]
#[should_panic(expected = "halt_at_failure_percent: percent must be within 0 and 100, got 150")]
fn a_failure_share_above_100_percent_is_refused() {
    let _ = ErrorPolicy::halt_at_failure_percent(150.0, 1);
}

/// Review: a run that cannot halt announces exactly how many outcomes it will hand back.
#[tokio::test(start_paused = true)]
async fn builder_streams_give_an_exact_size_hint_when_they_cannot_halt() {
    common::deadline(async move {
        let mut outcomes = Inflight::new(3).as_completed(0..10u32, |&i| async move {
            tokio::time::sleep(Duration::from_millis(u64::from(i))).await;
            Ok::<_, ()>(i)
        });
        let mut left = 10;
        assert_eq!(outcomes.size_hint(), (10, Some(10)));
        while outcomes.next().await.is_some() {
            left -= 1;
            assert_eq!(outcomes.size_hint(), (left, Some(left)));
        }
        let halting = Inflight::new(3)
            .errors(ErrorPolicy::fail_fast())
            .as_completed(0..10u32, |&i| async move { Ok::<_, ()>(i) });
        assert_eq!(halting.size_hint(), (0, Some(10)));
    })
    .await
}
