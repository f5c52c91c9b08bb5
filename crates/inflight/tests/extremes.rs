//! Extreme values (issue 20): a limit above what can ever run is the same as no limit, so it is
//! taken as `Limiter::MAX_LIMIT` wherever it is given; a rate's interval is at most a century;
//! the panics that remain name the public function and the value.

mod common;

use std::time::Duration;

use futures::StreamExt;
use inflight::{drive, ErrorPolicy, Inflight, Limiter, Pool, Rate};

#[tokio::test(start_paused = true)]
async fn a_limit_of_usize_max_is_the_largest_limit_everywhere() {
    common::deadline(async move {
        let limiter = Limiter::new(usize::MAX);
        assert_eq!(limiter.limit(), Limiter::MAX_LIMIT);
        let small = Limiter::new(1);
        small.set_limit(usize::MAX);
        assert_eq!(small.limit(), Limiter::MAX_LIMIT);
        let permits: Vec<_> = (0..1000).map(|_| small.try_acquire().unwrap()).collect();
        assert_eq!(small.in_flight(), 1000);
        drop(permits);

        let builder = Inflight::new(usize::MAX);
        assert_eq!(builder.handle().limit(), Limiter::MAX_LIMIT);
        let outcomes = builder
            .gather(0..100, |&i| async move {
                tokio::time::sleep(Duration::from_secs(1)).await;
                Ok::<_, ()>(i)
            })
            .await;
        assert_eq!(outcomes.len(), 100);

        // A paused builder, raised to usize::MAX by its handle: the run goes on at once.
        let builder = Inflight::new(1);
        let handle = builder.handle();
        handle.set_limit(0);
        let mut run = builder.as_completed(0..3, |&i| async move { Ok::<_, ()>(i) });
        let paused = tokio::time::timeout(Duration::from_secs(1), run.next()).await;
        assert!(paused.is_err(), "a limit of 0 pauses");
        handle.set_limit(usize::MAX);
        assert_eq!(handle.limit(), Limiter::MAX_LIMIT);
        assert_eq!(run.count().await, 3);

        let pool = Pool::new(usize::MAX);
        assert_eq!(pool.limiter().limit(), Limiter::MAX_LIMIT);
        for i in 0..10 {
            pool.spawn(async move { i }).await.unwrap();
        }
        pool.close();
        let mut sum = 0;
        while let Some(done) = pool.join_next().await {
            sum += done.unwrap();
        }
        assert_eq!(sum, 45);
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn drive_takes_a_capacity_of_usize_max() {
    common::deadline(async move {
        let tasks = (0..5).map(|i| async move { i });
        let driven = drive(inflight::as_completed(tasks, 2), usize::MAX);
        assert_eq!(driven.collect::<Vec<_>>().await.len(), 5);
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn a_rate_of_one_per_duration_max_starts_once_and_never_overflows() {
    common::deadline(async move {
        let rate = Rate::new(1, Duration::MAX).burst(u32::MAX);
        assert_eq!(rate.interval(), Rate::MAX_INTERVAL);
        let builder = Inflight::new(4).rate(Rate::new(1, Duration::MAX));
        let mut run = builder.as_completed(0..3, |&i| async move { Ok::<_, ()>(i) });
        assert!(run.next().await.is_some(), "the first start is free");
        // The next is a century away: an hour later it still waits, and nothing panics.
        let waiting = tokio::time::timeout(Duration::from_secs(3600), run.next()).await;
        assert!(waiting.is_err());
        builder.handle().set_rate(Some(Rate::per_second(1000)));
        assert_eq!(run.count().await, 2, "a raised rate lets the rest go");
    })
    .await
}

#[test]
#[should_panic(expected = "Limiter::try_acquire_many: weight must be at most 4294967295, got")]
fn a_weight_above_u32_max_panics_naming_the_function() {
    let _ = Limiter::new(usize::MAX).try_acquire_many(usize::MAX);
}

#[test]
#[should_panic(expected = "halt_at_failure_percent: percent must be within 0 and 100, got NaN")]
fn a_failure_share_that_is_not_a_number_panics_naming_it() {
    let _ = ErrorPolicy::halt_at_failure_percent(f64::NAN, 1);
}

#[test]
#[should_panic(expected = "Rate::new: count must be at least 1, got 0")]
fn a_rate_of_zero_panics_naming_it() {
    let _ = Rate::new(0, Duration::MAX);
}
