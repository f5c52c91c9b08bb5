//! Invariant 6: a pending source does not hold back tasks in flight; sizes and fused ends.

mod common;

use std::time::Duration;

use futures::stream::FusedStream;
use futures::{Stream, StreamExt};
use inflight::InflightExt;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A source that is pending until the test sends: each number sent becomes a task that sleeps
/// that many seconds and returns it.
fn channel_of_sleeps() -> (
    mpsc::Sender<u64>,
    impl Stream<Item = impl std::future::Future<Output = u64>>,
) {
    let (tx, rx) = mpsc::channel::<u64>(16);
    let source = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let sleeps = source.map(|secs| async move {
        tokio::time::sleep(Duration::from_secs(secs)).await;
        secs
    });
    (tx, sleeps)
}

#[tokio::test(start_paused = true)]
async fn tasks_finish_and_come_back_while_the_source_is_pending() {
    common::deadline(async move {
        let (tx, sleeps) = channel_of_sleeps();
        let start = Instant::now();
        let outputs = sleeps.in_flight(4);
        // `unfold` is not `Unpin`, so neither is the stream over it.
        let mut outputs = std::pin::pin!(outputs);
        tx.send(1).await.unwrap();
        tx.send(2).await.unwrap();
        // The source has nothing more and stays open, yet both tasks finish on time.
        assert_eq!(outputs.next().await, Some(1));
        assert_eq!(start.elapsed(), Duration::from_secs(1));
        assert_eq!(outputs.next().await, Some(2));
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        // More input later is picked up; closing the source ends the stream.
        tx.send(3).await.unwrap();
        drop(tx);
        assert_eq!(outputs.next().await, Some(3));
        assert_eq!(outputs.next().await, None);
        assert!(outputs.is_terminated());
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn ordered_tasks_progress_while_the_source_is_pending() {
    common::deadline(async move {
        let (tx, sleeps) = channel_of_sleeps();
        let start = Instant::now();
        let outputs = sleeps.in_flight_ordered(4);
        let mut outputs = std::pin::pin!(outputs);
        tx.send(2).await.unwrap();
        tx.send(1).await.unwrap();
        assert_eq!(outputs.next().await, Some(2));
        assert_eq!(outputs.next().await, Some(1));
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        drop(tx);
        assert_eq!(outputs.next().await, None);
    })
    .await
}

#[test]
fn size_hints_count_what_is_left() {
    futures::executor::block_on(async {
        let mut stream = inflight::as_completed((0..10).map(|i| async move { i }), 3);
        assert_eq!(stream.size_hint(), (10, Some(10)));
        stream.next().await;
        assert_eq!(stream.size_hint(), (9, Some(9)));
        let mut ordered = inflight::ordered((0..10).map(|i| async move { i }), 3);
        ordered.next().await;
        assert_eq!(ordered.size_hint(), (9, Some(9)));
        assert!(!ordered.is_terminated());
    });
}

#[test]
fn an_empty_input_ends_at_once() {
    futures::executor::block_on(async {
        let none: Vec<std::future::Ready<u8>> = Vec::new();
        assert_eq!(inflight::as_completed(none.clone(), 3).next().await, None);
        assert_eq!(inflight::ordered(none.clone(), 3).next().await, None);
        assert!(inflight::gather(none, 3).await.is_empty());
    });
}
