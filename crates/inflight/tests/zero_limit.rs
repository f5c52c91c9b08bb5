//! Invariant 7: a limit of zero panics with a message that names the limit.

use futures::StreamExt;
use inflight::InflightExt;

#[test]
#[should_panic(expected = "as_completed: limit must be at least 1, got 0")]
fn as_completed_rejects_zero() {
    let _ = inflight::as_completed([async {}], 0);
}

#[test]
#[should_panic(expected = "ordered: limit must be at least 1, got 0")]
fn ordered_rejects_zero() {
    let _ = inflight::ordered([async {}], 0);
}

#[test]
#[should_panic(expected = "gather: limit must be at least 1, got 0")]
fn gather_rejects_zero() {
    drop(inflight::gather([async {}], 0));
}

#[test]
#[should_panic(expected = "in_flight: limit must be at least 1, got 0")]
fn in_flight_rejects_zero() {
    let _ = futures::stream::iter([async {}]).in_flight(0);
}

#[test]
#[should_panic(expected = "in_flight_ordered: limit must be at least 1, got 0")]
fn in_flight_ordered_rejects_zero() {
    let _ = futures::stream::iter([async {}]).in_flight_ordered(0);
}

#[test]
#[should_panic(expected = "Limiter::new: limit must be at least 1, got 0")]
fn limiter_rejects_zero() {
    let _ = inflight::Limiter::new(0);
}

#[test]
#[should_panic(expected = "Pool::new: limit must be at least 1, got 0")]
fn pool_rejects_zero() {
    let _ = inflight::Pool::<()>::new(0);
}

#[test]
#[should_panic(expected = "reorder_capacity: capacity must be at least 1, got 0")]
fn reorder_capacity_rejects_zero() {
    let _ = inflight::ordered([async {}], 1).reorder_capacity(0);
}

#[test]
#[should_panic(expected = "set_limit: limit must be at least 1, got 0")]
fn set_limit_on_a_stream_rejects_zero() {
    inflight::as_completed([async {}], 1).set_limit(0);
}

#[test]
fn live_resizing_a_stream_takes_effect() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let start = tokio::time::Instant::now();
        let tasks =
            (0..40).map(|_| async { tokio::time::sleep(std::time::Duration::from_secs(1)).await });
        let mut stream = inflight::as_completed(tasks, 2);
        for _ in 0..4 {
            stream.next().await;
        }
        assert_eq!(start.elapsed().as_secs(), 2);
        stream.set_limit(12); // 36 left, in rounds of 12
        while stream.next().await.is_some() {}
        assert_eq!(start.elapsed().as_secs(), 5);
    });
}
