//! The bugs of the library-1.0 review, each pinned by a test that failed before its fix.

mod common;

use std::error::Error;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use futures::StreamExt;
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
