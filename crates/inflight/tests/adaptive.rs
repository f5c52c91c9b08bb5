//! The adaptive limit's API and behaviour at the entry points: plain numbers unchanged, the
//! limit readable and changeable while it runs, drops under the builder, and the checks of
//! invariant 7. The simulation against a server with a hidden capacity is `adaptive_sim.rs`.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use inflight::source::IterSource;
use inflight::{AsCompleted, Event, Failure, Inflight, InflightExt, Limit};

/// A server that serves `capacity` requests at once, each in `service`, and queues the rest:
/// past its capacity, only latency grows.
#[derive(Clone)]
struct Queueing {
    places: Arc<tokio::sync::Semaphore>,
    service: Duration,
}

impl Queueing {
    fn new(capacity: usize, service: Duration) -> Self {
        Queueing {
            places: Arc::new(tokio::sync::Semaphore::new(capacity)),
            service,
        }
    }

    async fn request(self) {
        let _place = self.places.acquire().await.expect("never closed");
        tokio::time::sleep(self.service).await;
    }
}

/// A server that serves `capacity` at once and refuses the rest at once with a 503.
#[derive(Clone)]
struct Refusing {
    busy: Arc<AtomicUsize>,
    capacity: usize,
}

impl Refusing {
    async fn request(self) -> Result<(), u16> {
        if self.busy.fetch_add(1, Ordering::SeqCst) >= self.capacity {
            self.busy.fetch_sub(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(1)).await;
            return Err(503);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        self.busy.fetch_sub(1, Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn a_plain_number_keeps_the_stream_type_of_a_fixed_limit() {
    fn fixed<I: Iterator>(_: &AsCompleted<IterSource<I>>)
    where
        I::Item: std::future::Future,
    {
    }
    let limit: usize = 3;
    fixed(&inflight::as_completed([async {}], 10));
    fixed(&inflight::as_completed([async {}], limit));
    let adaptive: AsCompleted<_, Limit> = inflight::as_completed([async {}], Limit::adaptive());
    assert_eq!(adaptive.limit(), 10);
}

#[test]
#[should_panic(expected = "as_completed: limit must be at least 1, got 0")]
fn a_fixed_limit_of_zero_still_panics_naming_it() {
    let _ = inflight::as_completed([async {}], Limit::fixed(0));
}

#[test]
#[should_panic(
    expected = "Inflight::new: limit: an adaptive limit's min must be at most its max, got min 8 and max 4"
)]
fn an_adaptive_limit_whose_min_is_above_its_max_panics_naming_it() {
    let _ = Inflight::new(Limit::adaptive().min(8).max(4));
}

#[test]
#[should_panic(expected = "AdaptiveLimit::max: max must be at least 1, got 0")]
fn an_adaptive_max_of_zero_panics() {
    let _ = Limit::adaptive().max(0);
}

#[tokio::test(start_paused = true)]
async fn the_stream_settles_near_the_capacity_of_a_server_that_queues() {
    common::deadline(async {
        let server = Queueing::new(25, Duration::from_millis(40));
        let requests = (0..30_000).map(|_| server.clone().request());
        let mut replies = inflight::as_completed(requests, Limit::adaptive().max(400));
        let mut limits = Vec::new();
        while replies.next().await.is_some() {
            limits.push(replies.limit());
        }
        let last_half = &limits[limits.len() / 2..];
        let mean = last_half.iter().sum::<usize>() as f64 / last_half.len() as f64;
        // At the capacity, with the tolerated queue: far from 400, not below 25.
        assert!((25.0..=40.0).contains(&mean), "mean limit {mean}");
        assert!(limits.iter().all(|&l| (1..=400).contains(&l)));
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn set_limit_fixes_an_adaptive_stream_and_can_make_it_adapt_again() {
    common::deadline(async {
        let server = Queueing::new(10, Duration::from_millis(20));
        let requests = (0..20_000).map(|_| server.clone().request());
        let mut replies = futures::stream::iter(requests).in_flight(Limit::adaptive().max(200));
        for _ in 0..2_000 {
            replies.next().await;
        }
        replies.set_limit(50);
        for _ in 0..5_000 {
            replies.next().await;
            assert_eq!(replies.limit(), 50, "a number fixes it");
        }
        replies.set_limit(Limit::adaptive().max(200));
        while replies.next().await.is_some() {}
        assert!(replies.limit() < 30, "adapting again: {}", replies.limit());
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn an_ordered_stream_adapts_and_keeps_input_order() {
    common::deadline(async {
        let server = Queueing::new(8, Duration::from_millis(10));
        let requests = (0..5_000u32).map(|i| {
            let server = server.clone();
            async move {
                server.request().await;
                i
            }
        });
        let outputs: Vec<u32> = inflight::ordered(requests, Limit::adaptive())
            .collect()
            .await;
        assert_eq!(outputs, (0..5_000).collect::<Vec<_>>());
    })
    .await
}

/// The builder's limit at the end of a run against a refusing server of capacity 20, with or
/// without `drop_if`.
async fn settled_against_refusals(drop_if: bool) -> usize {
    let server = Refusing {
        busy: Arc::default(),
        capacity: 20,
    };
    let mut builder = Inflight::new(Limit::adaptive().max(400));
    if drop_if {
        builder = builder.drop_if(|f: &Failure<u16>| matches!(f, Failure::Error(503)));
    }
    let handle = builder.handle();
    let outcomes = builder
        .as_completed(0..40_000, |_| server.clone().request())
        .count()
        .await;
    assert_eq!(outcomes, 40_000);
    handle.limit()
}

#[tokio::test(start_paused = true)]
async fn drop_if_makes_fast_refusals_cut_the_limit() {
    common::deadline(async {
        // Refused at once, a request looks fast: by latency alone, the limit grows.
        let blind = settled_against_refusals(false).await;
        assert!(blind > 100, "without drop_if: {blind}");
        // Counted as drops, the refusals bring it back near the capacity.
        let told = settled_against_refusals(true).await;
        assert!((15..=40).contains(&told), "with drop_if: {told}");
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn the_limit_is_readable_in_the_handle_the_progress_and_the_events() {
    common::deadline(async {
        let changes = Arc::new(Mutex::new(Vec::new()));
        let seen = changes.clone();
        let builder = Inflight::new(Limit::adaptive().max(300)).on_event(move |event| {
            if let Event::LimitChanged { from, to } = event {
                seen.lock().unwrap().push((*from, *to));
            }
        });
        let (handle, progress) = (builder.handle(), builder.progress());
        let server = Queueing::new(30, Duration::from_millis(20));
        let run = builder.as_completed(0..20_000, |_| {
            let server = server.clone();
            async move {
                server.request().await;
                Ok::<_, ()>(())
            }
        });
        let mut run = std::pin::pin!(run);
        while run.next().await.is_some() {
            assert_eq!(progress.snapshot().limit, handle.limit());
        }
        let changes = changes.lock().unwrap();
        assert!(changes.len() > 5, "{changes:?}");
        assert!(changes.iter().all(|(from, to)| from != to));
        // Each change starts where the last one ended, and the last is where the handle is.
        assert!(changes.windows(2).all(|w| w[0].1 == w[1].0));
        assert_eq!(changes.last().unwrap().1, handle.limit());
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn a_fixed_builder_can_be_made_adaptive_through_its_handle() {
    common::deadline(async {
        let builder = Inflight::new(300);
        let handle = builder.handle();
        let server = Queueing::new(12, Duration::from_millis(20));
        let run = builder.as_completed(0..20_000, |_| {
            let server = server.clone();
            async move {
                server.request().await;
                Ok::<_, ()>(())
            }
        });
        let mut run = std::pin::pin!(run);
        for _ in 0..100 {
            run.next().await;
        }
        assert_eq!(handle.limit(), 300);
        handle.set_limit(Limit::adaptive().max(300));
        while run.next().await.is_some() {}
        assert!(handle.limit() <= 30, "{}", handle.limit());
    })
    .await
}

#[tokio::test]
#[should_panic(expected = "Inflight::drop_if: the builder's predicate takes failures of `u16`")]
async fn a_drop_predicate_for_another_error_type_is_named_in_the_panic() {
    let builder = Inflight::new(Limit::adaptive()).drop_if(|_: &Failure<u16>| true);
    let _ = builder
        .gather([1], |_| async { Err::<(), String>("no".into()) })
        .await;
}
