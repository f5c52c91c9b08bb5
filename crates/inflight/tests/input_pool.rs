//! The push-style pool under policies.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use inflight::{ErrorPolicy, Failure, Inflight, Rate, Retry};
use tokio::time::Instant;

#[tokio::test(start_paused = true)]
async fn submit_waits_for_a_slot_and_outcomes_come_back() {
    common::deadline(async move {
        let start = Instant::now();
        let pool = Inflight::new(3).pool(|secs: &u64| {
            let secs = *secs;
            async move {
                tokio::time::sleep(Duration::from_secs(secs)).await;
                Ok::<_, ()>(secs)
            }
        });
        let mut submitted_at = Vec::new();
        for secs in [2u64, 3, 1, 2, 3, 2, 2, 1, 1] {
            pool.submit(secs).await.unwrap();
            submitted_at.push(start.elapsed().as_secs());
        }
        // Three start at once, one more waits in the hand-off; after that each submit waits.
        assert_eq!(submitted_at[..4], [0, 0, 0, 0]);
        assert!(submitted_at[4] >= 1);
        let outcomes = pool.join_all().await;
        assert_eq!(outcomes.len(), 9);
        assert_eq!(start.elapsed(), Duration::from_secs(6));
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn policies_apply_to_the_pool() {
    common::deadline(async move {
        let calls = Arc::new(AtomicUsize::new(0));
        let start = Instant::now();
        let pool = Inflight::new(10)
            .rate(Rate::per_second(10))
            .retry(Retry::attempts(2).backoff(Duration::from_millis(1), Duration::from_millis(1)))
            .timeout(Duration::from_secs(1))
            .pool({
                let calls = calls.clone();
                move |n: &u32| {
                    calls.fetch_add(1, Ordering::SeqCst);
                    let n = *n;
                    async move {
                        if n == 3 {
                            std::future::pending::<()>().await;
                        }
                        Ok::<_, ()>(n)
                    }
                }
            });
        for n in 0..5 {
            pool.submit(n).await.unwrap();
        }
        let mut outcomes = pool.join_all().await;
        outcomes.sort_by_key(|o| o.index);
        assert_eq!(
            outcomes[3].result,
            Err(Failure::TimedOut(Duration::from_secs(1)))
        );
        assert_eq!(outcomes[3].attempts, 2);
        assert_eq!(calls.load(Ordering::SeqCst), 6);
        assert!(
            start.elapsed() >= Duration::from_millis(400),
            "rate applied"
        );
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn a_halted_pool_gives_inputs_back() {
    common::deadline(async move {
        let pool = Inflight::new(1)
            .errors(ErrorPolicy::fail_fast())
            .pool(|n: &u32| {
                let n = *n;
                async move {
                    if n == 0 {
                        Err("first fails")
                    } else {
                        Ok(n)
                    }
                }
            });
        pool.submit(0).await.unwrap();
        let outcome = pool.join_next().await.unwrap();
        assert!(!outcome.is_ok());
        assert!(pool.join_next().await.is_none());
        assert_eq!(pool.submit(1).await, Err(1));
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spawned_pool_reports_panics() {
    common::deadline(async move {
        let pool = Inflight::new(2)
            .pool(|n: &u32| {
                let n = *n;
                async move {
                    assert!(n != 1, "no ones");
                    Ok::<_, ()>(n)
                }
            })
            .spawned();
        for n in 0..3 {
            pool.submit(n).await.unwrap();
        }
        let mut outcomes = pool.join_all().await;
        outcomes.sort_by_key(|o| o.index);
        assert_eq!(outcomes[1].result, Err(Failure::Panicked("no ones".into())));
        assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 2);
    })
    .await
}
