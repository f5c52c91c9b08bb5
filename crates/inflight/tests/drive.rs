//! The driven mode: tasks progress while the consumer is busy; panics are not swallowed.

mod common;

use std::time::Duration;

use futures::StreamExt;
use tokio::time::Instant;

fn four_one_second_tasks() -> impl Iterator<Item = impl std::future::Future<Output = u32>> {
    (0..4).map(|i| async move {
        tokio::time::sleep(Duration::from_secs(1)).await;
        i
    })
}

/// The stall that DESIGN.md warns of, shown on the plain stream so the contrast is measured.
#[tokio::test(start_paused = true)]
async fn a_plain_stream_freezes_its_tasks_while_the_consumer_is_away() {
    common::deadline(async move {
        let start = Instant::now();
        let mut outputs = inflight::as_completed(four_one_second_tasks(), 4);
        outputs.next().await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await; // slow work per item
                                                          // The other three finished at 1 s; they are handed back at once now.
        for _ in 0..3 {
            outputs.next().await.unwrap();
        }
        assert_eq!(start.elapsed(), Duration::from_secs(6));
        // But a task that needs polling to advance between steps is frozen.
        let steps = (0..2).map(|_| async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
        });
        let start = Instant::now();
        let mut outputs = inflight::as_completed(
            std::iter::once(futures::future::Either::Left(tokio::time::sleep(
                Duration::from_secs(1),
            )))
            .chain(steps.map(futures::future::Either::Right)),
            3,
        );
        outputs.next().await.unwrap(); // at 1 s; the two-step tasks are between their steps
        tokio::time::sleep(Duration::from_secs(5)).await;
        outputs.next().await.unwrap();
        // Their second step only began when polled again at 6 s.
        assert_eq!(start.elapsed(), Duration::from_secs(7));
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn a_driven_stream_keeps_its_tasks_going() {
    common::deadline(async move {
        let steps = (0..2).map(|_| async {
            tokio::time::sleep(Duration::from_secs(1)).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
        });
        let start = Instant::now();
        let mut outputs = inflight::drive(inflight::as_completed(steps, 2), 4);
        outputs.next().await.unwrap(); // at 2 s
        tokio::time::sleep(Duration::from_secs(5)).await;
        outputs.next().await.unwrap(); // finished long ago
        assert_eq!(start.elapsed(), Duration::from_secs(7));
        assert!(outputs.next().await.is_none());
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn a_driven_stream_applies_backpressure() {
    common::deadline(async move {
        let pulled = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let tasks = {
            let pulled = pulled.clone();
            (0..1_000u32).map(move |i| {
                pulled.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                async move { i }
            })
        };
        let mut outputs = inflight::drive(inflight::as_completed(tasks, 4), 2);
        outputs.next().await.unwrap();
        tokio::time::sleep(Duration::from_secs(1)).await;
        // One handed back, two waiting in the channel, one held by the blocked sender, plus at most
        // the limit in flight: nowhere near the thousand.
        assert!(pulled.load(std::sync::atomic::Ordering::SeqCst) <= 1 + 2 + 1 + 4);
    })
    .await
}

#[tokio::test]
#[should_panic(expected = "task 3 failed")]
async fn a_panic_in_a_driven_stream_reaches_the_consumer() {
    common::deadline(async move {
        let tasks = (0..5).map(|i| async move {
            assert!(i != 3, "task {i} failed");
            i
        });
        let outputs: Vec<i32> = inflight::drive(inflight::as_completed(tasks, 2), 2)
            .collect()
            .await;
        drop(outputs);
    })
    .await
}
