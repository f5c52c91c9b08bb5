//! The schedules of the seeds' programs, exact on the paused clock.

mod common;

use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;

/// Seed 000: 100 tasks, task i sleeps 1/i s, limit 10. Refilling each slot as it frees takes 1 s
/// (task 1 alone runs the whole second); batches of 10 would take 1/1 + 1/11 + ... ≈ 1.26 s.
#[tokio::test(start_paused = true)]
async fn seed000_limited_as_completed_takes_one_second() {
    common::deadline(async move {
        let start = Instant::now();
        let tasks = (1..=100u32).map(|i| async move {
            tokio::time::sleep(Duration::from_secs(1) / i).await;
            i
        });
        let finished: Vec<u32> = inflight::as_completed(tasks, 10).collect().await;
        assert_eq!(finished.len(), 100);
        assert_eq!(finished.last(), Some(&1));
        assert_eq!(start.elapsed(), Duration::from_secs(1));
    })
    .await
}

/// The seed's download times (its printed run: 0 takes 2 s, 1 takes 3 s, ...).
const DOWNLOAD_SECS: [u64; 9] = [2, 3, 1, 2, 3, 2, 2, 1, 1];

/// Seed 001: 9 downloads over 3 connections finish at 6 s, in the seed's order, with no fixed
/// sleep to wait for the last one.
#[tokio::test(start_paused = true)]
async fn seed001_downloads_over_three_connections() {
    common::deadline(async move {
        let start = Instant::now();
        let downloads = DOWNLOAD_SECS
            .iter()
            .enumerate()
            .map(|(code, &secs)| async move {
                tokio::time::sleep(Duration::from_secs(secs)).await;
                (code, start.elapsed().as_secs())
            });
        let finished: Vec<(usize, u64)> = inflight::as_completed(downloads, 3).collect().await;
        assert_eq!(start.elapsed(), Duration::from_secs(6));
        // Finish times: 2 at 1 s, 0 at 2 s, 1 and 3 at 3 s, 4, 5, 6 at 5 s, 7 and 8 at 6 s.
        let mut by_code = finished.clone();
        by_code.sort();
        let ends: Vec<u64> = by_code.iter().map(|&(_, t)| t).collect();
        assert_eq!(ends, [2, 3, 1, 3, 5, 5, 5, 6, 6]);
    })
    .await
}

/// Seed 001 with the push-style pool: spawn waits for a free connection.
#[tokio::test(start_paused = true)]
async fn seed001_downloads_with_a_pool() {
    common::deadline(async move {
        let start = Instant::now();
        let pool = inflight::Pool::new(3);
        let mut spawned_at = Vec::new();
        for (code, &secs) in DOWNLOAD_SECS.iter().enumerate() {
            pool.spawn(async move {
                tokio::time::sleep(Duration::from_secs(secs)).await;
                code
            })
            .await
            .unwrap();
            spawned_at.push(start.elapsed().as_secs());
        }
        // Backpressure: each spawn returned when a connection was free.
        assert_eq!(spawned_at, [0, 0, 0, 1, 2, 3, 3, 5, 5]);
        let finished = pool.join_all().await;
        assert_eq!(finished.len(), 9);
        assert_eq!(start.elapsed(), Duration::from_secs(6));
    })
    .await
}

/// Seed 002: 100 tasks of 1 s at limit 10 take 10 s, outputs in input order.
#[tokio::test(start_paused = true)]
async fn seed002_gather_takes_ten_seconds_in_order() {
    common::deadline(async move {
        let start = Instant::now();
        let tasks = (0..100).map(|i| async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            i
        });
        let outputs = inflight::gather(tasks, 10).await;
        assert_eq!(outputs, (0..100).collect::<Vec<_>>());
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn seed002_ordered_stream_takes_ten_seconds_in_order() {
    common::deadline(async move {
        let start = Instant::now();
        let tasks = (0..100).map(|i| async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            i
        });
        let outputs: Vec<i32> = inflight::ordered(tasks, 10).collect().await;
        assert_eq!(outputs, (0..100).collect::<Vec<_>>());
        assert_eq!(start.elapsed(), Duration::from_secs(10));
    })
    .await
}

/// Seed 003: a generator far larger than memory, fetch then upload, constant memory: at most
/// `limit` items exist at any time.
#[tokio::test(start_paused = true)]
async fn seed003_backpressure_keeps_items_bounded() {
    common::deadline(async move {
        let census = common::Census::default();
        let items = (0..100_000u64).map(|i| {
            let alive = census.enter();
            async move {
                tokio::time::sleep(Duration::from_millis(1 + i % 7)).await; // fetch
                tokio::time::sleep(Duration::from_millis(1)).await; // upload
                drop(alive);
                i
            }
        });
        let mut done = 0u64;
        let mut results = inflight::as_completed(items, 100);
        while results.next().await.is_some() {
            done += 1;
            assert!(census.alive() <= 100);
        }
        assert_eq!(done, 100_000);
        assert_eq!(census.peak(), 100);
    })
    .await
}
