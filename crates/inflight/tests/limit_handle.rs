//! `LimitHandle`: a plain stream's limit changed from another task while the consumer awaits
//! the stream, on the paused clock.

mod common;

use std::time::Duration;

use common::Census;
use futures::StreamExt;
use inflight::{as_completed, drive, ordered, Limit};
use tokio::time::Instant;

fn sleeps(n: u64, census: &Census) -> impl Iterator<Item = impl std::future::Future<Output = u64>> {
    let census = census.clone();
    (0..n).map(move |i| {
        let alive = census.enter();
        async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            drop(alive);
            i
        }
    })
}

#[tokio::test(start_paused = true)]
async fn a_pause_and_a_raise_from_elsewhere_reach_an_ordered_stream_that_waits() {
    common::deadline(async move {
        let census = Census::default();
        let start = Instant::now();
        let mut stream = ordered(sleeps(12, &census), 2);
        let handle = stream.limit_handle();
        let controller = async {
            tokio::time::sleep(Duration::from_millis(100)).await; // the first two have started
            handle.set_limit(0); // pause: the two running finish, nothing new starts
            tokio::time::sleep(Duration::from_secs(3)).await;
            assert_eq!(census.made(), 2, "nothing started while paused");
            handle.set_limit(5);
        };
        let consumer = async {
            let mut out = Vec::new();
            while let Some(i) = stream.next().await {
                out.push(i);
            }
            out
        };
        let ((), out) = tokio::join!(controller, consumer);
        assert_eq!(out, (0..12).collect::<Vec<_>>());
        // 0-1 s: the first two; paused until the raise at 3.1 s; then 10 at 5 at once: 2 rounds.
        assert_eq!(start.elapsed(), Duration::from_millis(5100));
        assert!(census.peak() <= 5);
        assert_eq!(handle.limit(), 5);
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn a_driven_stream_is_resized_through_a_handle_taken_before_driving() {
    common::deadline(async move {
        let start = Instant::now();
        let tasks = (0..8u64).map(|i| async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            i
        });
        let mut stream = as_completed(tasks, Limit::adaptive().max(2).initial(2));
        let handle = stream.limit_handle();
        let mut driven = drive(stream, 8);
        assert_eq!(driven.next().await.map(|_| ()), Some(()));
        handle.set_limit(6); // a number fixes an adaptive limit
        assert_eq!(driven.count().await, 7);
        // 2 by 1 s, then the other 6 at once: 2 s.
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        assert_eq!(handle.limit(), 6);
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn a_handle_outliving_its_stream_changes_nothing() {
    let census = Census::default();
    let mut stream = as_completed(sleeps(3, &census), 1);
    let handle = stream.limit_handle();
    let other = handle.clone();
    drop(stream);
    other.set_limit(9);
    assert_eq!(handle.limit(), 9);
    assert_eq!(census.made(), 0);
}
