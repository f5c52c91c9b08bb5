//! Invariant 7 and the one meaning of 0: a limit of zero given at construction panics with a
//! message that names it; a limit set to zero while running pauses until it is raised.

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
#[should_panic(expected = "Inflight::new: limit must be at least 1, got 0")]
fn the_builder_rejects_zero() {
    let _ = inflight::Inflight::new(0);
}

#[test]
#[should_panic(expected = "try_gather: limit must be at least 1, got 0")]
fn try_gather_rejects_zero() {
    drop(inflight::try_gather([async { Ok::<(), ()>(()) }], 0));
}

#[test]
#[should_panic(expected = "try_in_flight: limit must be at least 1, got 0")]
fn try_in_flight_rejects_zero() {
    let _ = futures::stream::iter([async { Ok::<(), ()>(()) }]).try_in_flight(0);
}

#[test]
#[should_panic(expected = "per_key: limit must be at least 1, got 0")]
fn per_key_rejects_zero() {
    let _ = inflight::Inflight::new(1)
        .as_completed([1], |&n| async move { Ok::<_, ()>(n) })
        .per_key(0, |&n| n);
}

/// The one meaning of 0 as a new limit, everywhere: pause. Nothing new starts until the limit is
/// raised, and the raise starts work at once.
#[test]
fn set_limit_zero_pauses_a_stream_and_a_raise_resumes_it() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let tasks =
            (0..10).map(|_| async { tokio::time::sleep(std::time::Duration::from_secs(1)).await });
        let mut stream = inflight::as_completed(tasks, 2);
        stream.next().await.unwrap();
        stream.set_limit(0);
        // The one still in flight finishes; nothing new starts.
        stream.next().await.unwrap();
        let paused = tokio::time::timeout(std::time::Duration::from_secs(60), stream.next()).await;
        assert!(paused.is_err(), "a paused stream hands nothing back");
        assert_eq!(stream.running(), 0);
        stream.set_limit(4);
        let start = tokio::time::Instant::now();
        while stream.next().await.is_some() {}
        assert_eq!(start.elapsed().as_secs(), 2, "8 left, 4 at once");
    });
}

#[test]
fn set_limit_zero_pauses_a_builder_and_a_raise_from_elsewhere_resumes_it() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .unwrap();
    rt.block_on(async {
        let builder = inflight::Inflight::new(2);
        let handle = builder.handle();
        handle.set_limit(0);
        let start = tokio::time::Instant::now();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_secs(10)).await;
            handle.set_limit(3);
        });
        let outcomes = builder
            .gather(0..6, |_| async {
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                Ok::<_, ()>(())
            })
            .await;
        assert_eq!(outcomes.len(), 6);
        assert_eq!(
            start.elapsed().as_secs(),
            12,
            "paused 10 s, then 2 rounds of 3"
        );
    });
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
