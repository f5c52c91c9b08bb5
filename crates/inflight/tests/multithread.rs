//! Wake-ups from other threads lose nothing: tens of thousands of tasks whose wakers are called
//! from tokio worker threads and plain threads.

mod common;

use std::collections::HashSet;

use futures::StreamExt;
use inflight::InflightExt;
use tokio::sync::oneshot;

/// A task whose completion is signalled by another task on the multi-threaded runtime.
async fn remote(i: u64) -> u64 {
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        if i.is_multiple_of(3) {
            tokio::task::yield_now().await;
        }
        let _ = tx.send(i);
    });
    rx.await.expect("the sender ran")
}

const N: u64 = 40_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn completion_order_loses_no_wakeup() {
    common::deadline(async move {
        let outputs: Vec<u64> = inflight::as_completed((0..N).map(remote), 64)
            .collect()
            .await;
        let unique: HashSet<u64> = outputs.iter().copied().collect();
        assert_eq!(outputs.len() as u64, N);
        assert_eq!(unique.len() as u64, N);
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn input_order_loses_no_wakeup() {
    common::deadline(async move {
        let outputs: Vec<u64> = futures::stream::iter(0..N)
            .map(remote)
            .in_flight_ordered(64)
            .collect()
            .await;
        assert_eq!(outputs, (0..N).collect::<Vec<_>>());
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn driven_stream_on_another_worker_loses_no_wakeup() {
    common::deadline(async move {
        let driven = inflight::drive(inflight::as_completed((0..N).map(remote), 64), 16);
        let outputs: Vec<u64> = driven.collect().await;
        let unique: HashSet<u64> = outputs.iter().copied().collect();
        assert_eq!(unique.len() as u64, N);
    })
    .await
}

#[test]
fn wakeups_from_plain_threads_lose_nothing() {
    // The consumer runs on this thread; every wake-up comes from a short-lived std thread.
    let outputs: Vec<u64> = futures::executor::block_on(
        inflight::as_completed(
            (0..2_000u64).map(|i| async move {
                let (tx, rx) = oneshot::channel();
                std::thread::spawn(move || {
                    let _ = tx.send(i);
                });
                rx.await.expect("the thread sent")
            }),
            32,
        )
        .collect(),
    );
    let unique: HashSet<u64> = outputs.iter().copied().collect();
    assert_eq!(unique.len(), 2_000);
}
