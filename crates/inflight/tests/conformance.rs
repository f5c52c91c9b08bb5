//! The stream contract that the peers' own suites check (futures' `buffer_unordered`,
//! `FuturesUnordered`/`FuturesOrdered`, `catch_unwind`, `join_all`; futures-buffered), written
//! for every entry point of this crate: a fused end, honest `size_hint` bounds, `Unpin` and the
//! auto traits, wake-ups from other threads, cancellation on drop, and panics that a consumer
//! catches. Tests that wait on wake-ups run under a deadline, so a lost wake-up fails in
//! seconds instead of hanging.

mod common;

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use futures::executor::block_on;
use futures::stream::{FusedStream, Stream, StreamExt};
use inflight::{Failure, Inflight, InflightExt, Pool};

/// Runs `test` on a thread of its own and fails if it has not finished within `secs`.
fn within<T: Send + 'static>(secs: u64, test: impl FnOnce() -> T + Send + 'static) -> T {
    let (done, finished) = std::sync::mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = done.send(test());
    });
    match finished.recv_timeout(Duration::from_secs(secs)) {
        Ok(value) => value,
        Err(_) if worker.is_finished() => {
            // It panicked: re-raise its panic here.
            std::panic::resume_unwind(worker.join().unwrap_err())
        }
        Err(_) => panic!("not finished within {secs} s: a lost wake-up?"),
    }
}

/// A stream of the crate, named by its entry point.
type Named<T> = (&'static str, Pin<Box<dyn FusedStream<Item = T> + Send>>);

/// Every entry point that is a stream of plain outputs, as a boxed stream, over `futures`.
fn every_stream<F>(futures: impl Fn() -> Vec<F>, limit: usize) -> Vec<Named<F::Output>>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    vec![
        (
            "as_completed",
            Box::pin(inflight::as_completed(futures(), limit)),
        ),
        ("ordered", Box::pin(inflight::ordered(futures(), limit))),
        (
            "in_flight",
            Box::pin(futures::stream::iter(futures()).in_flight(limit)),
        ),
        (
            "in_flight_ordered",
            Box::pin(futures::stream::iter(futures()).in_flight_ordered(limit)),
        ),
    ]
}

/// Pending on its first poll (waking itself); panics on its second.
struct PanicsOnSecondPoll {
    polls: Arc<AtomicUsize>,
}

impl Future for PanicsOnSecondPoll {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        if self.polls.fetch_add(1, Ordering::SeqCst) == 0 {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        panic!("second poll");
    }
}

/// Either a future that panics on its second poll or one ready with a value.
enum Probe {
    Panics(PanicsOnSecondPoll),
    Value(u32),
}

impl Future for Probe {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        match &mut *self {
            Probe::Panics(future) => Pin::new(future).poll(cx),
            Probe::Value(value) => Poll::Ready(*value),
        }
    }
}

#[test]
fn a_caught_panic_drops_its_future_and_the_stream_goes_on() {
    for limit in [1, 2] {
        let polls = Arc::new(AtomicUsize::new(0));
        let make = || {
            vec![
                Probe::Panics(PanicsOnSecondPoll {
                    polls: polls.clone(),
                }),
                Probe::Value(5),
            ]
        };
        for (name, mut stream) in every_stream(make, limit) {
            polls.store(0, Ordering::SeqCst);
            let mut seen = Vec::new();
            let mut panics = 0;
            within(10, move || {
                loop {
                    match catch_unwind(AssertUnwindSafe(|| block_on(stream.next()))) {
                        Ok(Some(value)) => seen.push(value),
                        Ok(None) => break,
                        Err(_) => panics += 1,
                    }
                    assert!(panics <= 1, "{name}: the panicked future was polled again");
                }
                assert_eq!((panics, seen), (1, vec![5]), "{name} at limit {limit}");
                assert!(stream.is_terminated(), "{name}");
            });
            assert_eq!(
                polls.load(Ordering::SeqCst),
                2,
                "{name}: polled after its panic"
            );
        }
    }
}

/// Wakes itself, then panics, on every poll.
struct WakesThenPanics(Arc<AtomicUsize>);

impl Future for WakesThenPanics {
    type Output = u32;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        self.0.fetch_add(1, Ordering::SeqCst);
        cx.waker().wake_by_ref();
        panic!("woke, then panicked");
    }
}

#[test]
fn a_future_that_woke_itself_before_panicking_is_never_polled_again() {
    let polls = Arc::new(AtomicUsize::new(0));
    let make = || vec![WakesThenPanics(polls.clone())];
    for (name, mut stream) in every_stream(make, 2) {
        polls.store(0, Ordering::SeqCst);
        let first = catch_unwind(AssertUnwindSafe(|| block_on(stream.next())));
        assert!(first.is_err(), "{name}");
        for _ in 0..3 {
            let next = catch_unwind(AssertUnwindSafe(|| block_on(stream.next())));
            assert!(matches!(next, Ok(None)), "{name}");
        }
        assert_eq!(polls.load(Ordering::SeqCst), 1, "{name}");
    }
}

/// Saves its waker where the test can reach it, then panics on its second poll.
struct SavesWakerThenPanics(Arc<Mutex<Option<Waker>>>, bool);

impl Future for SavesWakerThenPanics {
    type Output = u32;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
        if self.1 {
            panic!("resumed");
        }
        self.1 = true;
        *self.0.lock().unwrap() = Some(cx.waker().clone());
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

#[test]
fn a_saved_waker_cannot_resume_a_future_that_panicked() {
    let saved = Arc::new(Mutex::new(None));
    let mut stream = inflight::as_completed(
        [SavesWakerThenPanics(saved.clone(), false)]
            .into_iter()
            .map(Box::pin)
            .chain([]),
        2,
    );
    assert!(catch_unwind(AssertUnwindSafe(|| block_on(stream.next()))).is_err());
    // The waker the dropped future saved is woken: the stream skips its empty slot.
    saved.lock().unwrap().take().unwrap().wake();
    assert!(matches!(
        catch_unwind(AssertUnwindSafe(|| block_on(stream.next()))),
        Ok(None)
    ));
}

#[test]
fn gather_cannot_complete_after_a_panic_and_says_so() {
    let polls = Arc::new(AtomicUsize::new(0));
    let mut gather = Box::pin(inflight::gather(
        vec![Probe::Panics(PanicsOnSecondPoll { polls }), Probe::Value(5)],
        2,
    ));
    assert!(catch_unwind(AssertUnwindSafe(|| block_on(gather.as_mut()))).is_err());
    let again = catch_unwind(AssertUnwindSafe(|| block_on(gather.as_mut())));
    let message = again.unwrap_err();
    let message = message.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(
        message.contains("after one of its futures panicked"),
        "{message}"
    );
}

#[tokio::test(start_paused = true)]
async fn builder_runs_go_on_after_a_caught_panic_and_spawned_ones_report_it() {
    common::deadline(async move {
        for ordered in [false, true] {
            let task = |&i: &u32| async move {
                tokio::task::yield_now().await;
                assert!(i != 1, "input 1 panics");
                Ok::<_, ()>(i)
            };
            let builder = Inflight::new(2);
            let mut outcomes: Pin<Box<dyn Stream<Item = inflight::Outcome<u32, u32, ()>>>> =
                if ordered {
                    Box::pin(builder.ordered(0..4u32, task))
                } else {
                    Box::pin(builder.as_completed(0..4u32, task))
                };
            let mut inputs = Vec::new();
            let mut panics = 0;
            loop {
                match futures::FutureExt::catch_unwind(AssertUnwindSafe(outcomes.next())).await {
                    Ok(Some(outcome)) => inputs.push(outcome.input),
                    Ok(None) => break,
                    Err(_) => panics += 1,
                }
            }
            inputs.sort_unstable();
            assert_eq!((panics, inputs), (1, vec![0, 2, 3]), "ordered: {ordered}");
            assert_eq!(
                builder.handle().in_flight(),
                0,
                "the panicked input's slot was freed"
            );
        }
        let outcomes = Inflight::new(2)
            .gather(0..4u32, |&i| async move {
                assert!(i != 1, "input 1 panics");
                Ok::<_, ()>(i)
            })
            .spawned()
            .await;
        assert_eq!(
            outcomes[1].result,
            Err(Failure::Panicked("input 1 panics".to_string()))
        );
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn a_pool_reports_a_panic_and_goes_on() {
    common::deadline(async move {
        let pool = Pool::new(2);
        pool.spawn(async { panic!("boom") }).await.unwrap();
        pool.spawn(async { 7 }).await.unwrap();
        pool.close();
        let mut results = Vec::new();
        while let Some(result) = pool.join_next().await {
            results.push(result.map_err(|e| e.to_string()));
        }
        results.sort();
        assert_eq!(results, [Ok(7), Err("task panicked: boom".to_string())]);
    })
    .await
}

#[test]
fn every_stream_ends_fused() {
    let make = || (0..5).map(|i| async move { i }).collect::<Vec<_>>();
    for (name, mut stream) in every_stream(make, 2) {
        within(10, move || {
            let all: Vec<i32> = block_on((&mut stream).collect());
            assert_eq!(all.len(), 5, "{name}");
            assert!(stream.is_terminated(), "{name}");
            for _ in 0..3 {
                assert_eq!(
                    block_on(stream.next()),
                    None,
                    "{name}: polled after its end"
                );
            }
        });
    }
    let mut fallible = futures::stream::iter([async { Err::<u8, u8>(1) }]).try_in_flight(2);
    assert_eq!(block_on(fallible.next()), Some(Err(1)));
    assert!(fallible.is_terminated());
    assert_eq!(block_on(fallible.next()), None);
}

#[tokio::test(start_paused = true)]
async fn builder_outcomes_end_fused() {
    common::deadline(async move {
        let mut outcomes = Inflight::new(2).as_completed(0..3, |&i| async move { Ok::<_, ()>(i) });
        while outcomes.next().await.is_some() {}
        assert!(outcomes.is_terminated());
        assert!(outcomes.next().await.is_none());
    })
    .await
}

#[test]
fn size_hint_bounds_what_is_left_at_every_step() {
    let make = || {
        (0..12u64)
            .map(|i| {
                let steps = (i * 7) % 4;
                common_yield(steps as usize, i)
            })
            .collect::<Vec<_>>()
    };
    for (name, mut stream) in every_stream(make, 3) {
        within(10, move || {
            let mut left = 12;
            loop {
                let (low, high) = stream.size_hint();
                assert!(low <= left, "{name}: lower bound {low} > {left} left");
                assert!(
                    high.is_none_or(|h| h >= left),
                    "{name}: upper {high:?} < {left}"
                );
                match block_on(stream.next()) {
                    Some(_) => left -= 1,
                    None => break,
                }
            }
            assert_eq!(left, 0, "{name}");
            assert_eq!(stream.size_hint(), (0, Some(0)), "{name}");
        });
    }
}

/// A future that is pending `steps` times (waking itself), then ready with `value`.
fn common_yield(steps: usize, value: u64) -> impl Future<Output = u64> + Send {
    let mut left = steps;
    std::future::poll_fn(move |cx| {
        if left == 0 {
            return Poll::Ready(value);
        }
        left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    })
}

#[test]
fn the_streams_are_unpin_whatever_the_futures_and_send_and_sync_when_they_are() {
    fn unpin_send_sync<T: Unpin + Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    // Async blocks are not `Unpin`; the streams are, since each future has a pinned slot.
    let futures = || (0..3).map(|i| async move { i });
    unpin_send_sync(&inflight::as_completed(futures(), 2));
    unpin_send_sync(&inflight::ordered(futures(), 2));
    unpin_send_sync(&futures::stream::iter(futures()).in_flight(2));
    unpin_send_sync(&futures::stream::iter(futures()).in_flight_ordered(2));
    unpin_send_sync(&futures::stream::iter([async { Ok::<u8, u8>(1) }]).try_in_flight(2));
    send(&inflight::gather(futures(), 2));
    send(&inflight::try_gather(
        (0..3).map(|i| async move { Ok::<_, ()>(i) }),
        2,
    ));
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Pool<u32>>();
    send_sync::<inflight::Limiter>();
    send_sync::<Inflight>();
    send_sync::<inflight::InputPool<String, u32, std::io::Error>>();
    // A run of Send futures is Send, so it can be driven on another task.
    let builder = Inflight::new(2);
    let run = builder.as_completed(0..3u32, |&i| async move { Ok::<_, ()>(i) });
    send(&run);
    fn unpin<T: Unpin>(_: &T) {}
    unpin(&run);
}

#[test]
fn wake_ups_from_other_threads_reach_every_entry_point() {
    let make = || {
        (0..50u64)
            .map(|i| {
                let (sender, receiver) = futures::channel::oneshot::channel();
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(i % 5));
                    let _ = sender.send(i);
                });
                async move { receiver.await.unwrap() }
            })
            .collect::<Vec<_>>()
    };
    for (name, stream) in every_stream(make, 7) {
        let sum: u64 = within(20, move || {
            block_on(stream.fold(0, |a, x| async move { a + x }))
        });
        assert_eq!(sum, 49 * 50 / 2, "{name}");
    }
    let gathered = within(20, move || block_on(inflight::gather(make(), 7)));
    assert_eq!(gathered, (0..50).collect::<Vec<_>>());
}

#[test]
fn dropping_any_stream_drops_what_it_runs() {
    struct Alive(Arc<AtomicUsize>);
    impl Drop for Alive {
        fn drop(&mut self) {
            self.0.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let alive = Arc::new(AtomicUsize::new(0));
    let make = || {
        (0..20)
            .map(|_| {
                alive.fetch_add(1, Ordering::SeqCst);
                let guard = Alive(alive.clone());
                async move {
                    std::future::pending::<()>().await;
                    drop(guard);
                }
            })
            .collect::<Vec<_>>()
    };
    for (name, mut stream) in every_stream(make, 4) {
        // Each stream was made from 20 futures made up front; poll so 4 start, then drop.
        let polled = stream.poll_next_unpin(&mut Context::from_waker(Waker::noop()));
        assert!(polled.is_pending(), "{name}");
        drop(stream);
    }
    assert_eq!(alive.load(Ordering::SeqCst), 0);
    let mut fallible = Box::pin(
        futures::stream::iter(make())
            .map(|f| async move {
                f.await;
                Ok::<(), ()>(())
            })
            .try_in_flight(4),
    );
    assert!(fallible
        .poll_next_unpin(&mut Context::from_waker(Waker::noop()))
        .is_pending());
    drop(fallible);
    assert_eq!(alive.load(Ordering::SeqCst), 0);
}

#[test]
fn gather_returns_a_vec_whose_capacity_is_its_length() {
    // Collected in place, the `Option<u64>` buffer (16 bytes an output) would be kept as a
    // `Vec<u64>` of twice the capacity.
    let outputs = block_on(inflight::gather(
        (0..1_000u64).map(|i| async move { i }),
        10,
    ));
    assert_eq!((outputs.len(), outputs.capacity()), (1_000, 1_000));
    let outputs = block_on(inflight::try_gather(
        (0..1_000u64).map(|i| async move { Ok::<_, ()>(i) }),
        10,
    ))
    .unwrap();
    assert_eq!((outputs.len(), outputs.capacity()), (1_000, 1_000));
}
