//! Invariant 5: dropping a stream or pool drops every task in flight and pulls nothing more.

mod common;

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use common::{Census, SyncCensus};
use futures::StreamExt;
use inflight::InflightExt;

fn sleepers(
    census: &Census,
    pulled: &Rc<Cell<usize>>,
) -> impl Iterator<Item = impl std::future::Future<Output = u64>> {
    let census = census.clone();
    let pulled = pulled.clone();
    (0..1_000u64).map(move |i| {
        pulled.set(pulled.get() + 1);
        let alive = census.enter();
        async move {
            tokio::time::sleep(Duration::from_millis(10 + i % 5)).await;
            drop(alive);
            i
        }
    })
}

#[tokio::test(start_paused = true)]
async fn dropping_as_completed_cancels_everything_in_flight() {
    common::deadline(async move {
        let census = Census::default();
        let pulled = Rc::new(Cell::new(0));
        let mut stream = inflight::as_completed(sleepers(&census, &pulled), 8);
        for _ in 0..20 {
            stream.next().await.unwrap();
        }
        // The slot freed by the 20th output refills on the next poll.
        assert_eq!(census.alive(), stream.running());
        assert!(stream.running() >= 7);
        let pulled_before = pulled.get();
        drop(stream);
        assert_eq!(census.alive(), 0);
        assert_eq!(pulled.get(), pulled_before);
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn dropping_ordered_cancels_everything_in_flight_and_buffered() {
    common::deadline(async move {
        let census = Census::default();
        let pulled = Rc::new(Cell::new(0));
        let mut stream = inflight::ordered(sleepers(&census, &pulled), 8);
        for _ in 0..20 {
            stream.next().await.unwrap();
        }
        assert!(census.alive() > 0);
        let pulled_before = pulled.get();
        drop(stream);
        assert_eq!(census.alive(), 0);
        assert_eq!(pulled.get(), pulled_before);
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn dropping_gather_cancels_everything_in_flight() {
    common::deadline(async move {
        let census = Census::default();
        let pulled = Rc::new(Cell::new(0));
        let gather = inflight::gather(sleepers(&census, &pulled), 8);
        // Give up after 25 ms: the gather future is dropped mid-run.
        let outcome = tokio::time::timeout(Duration::from_millis(25), gather).await;
        assert!(outcome.is_err());
        assert_eq!(census.alive(), 0);
        assert!(pulled.get() < 1_000);
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn dropping_a_stream_of_futures_stops_pulling_the_source() {
    common::deadline(async move {
        let census = Census::default();
        let pulled = Rc::new(Cell::new(0));
        let mut stream = futures::stream::iter(sleepers(&census, &pulled)).in_flight(4);
        stream.next().await.unwrap();
        drop(stream);
        assert_eq!(census.alive(), 0);
        assert!(pulled.get() <= 5);
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn dropping_a_pool_aborts_its_tasks() {
    common::deadline(async move {
        let census = SyncCensus::default();
        let pool = inflight::Pool::new(4);
        for _ in 0..4 {
            let alive = census.enter();
            pool.spawn(async move {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                drop(alive);
            })
            .await
            .unwrap();
        }
        assert_eq!(census.alive(), 4);
        drop(pool);
        // Aborted tasks are dropped the next time the runtime gets to them.
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(census.alive(), 0);
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn dropping_a_driven_stream_cancels_its_tasks() {
    common::deadline(async move {
        let census = SyncCensus::default();
        let tasks = {
            let census = census.clone();
            (0..1_000u64).map(move |i| {
                let alive = census.enter();
                async move {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    drop(alive);
                    i
                }
            })
        };
        let mut driven = inflight::drive(inflight::as_completed(tasks, 8), 2);
        driven.next().await.unwrap();
        drop(driven);
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
        assert_eq!(census.alive(), 0);
    })
    .await
}
