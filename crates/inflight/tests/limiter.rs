//! Limiter: FIFO service, hand-off, cancelled waiters, resizing, weights, threads.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures::task::noop_waker;
use futures::FutureExt;
use inflight::Limiter;

fn poll_once<F: std::future::Future + Unpin>(future: &mut F) -> Poll<F::Output> {
    let waker = noop_waker();
    future.poll_unpin(&mut Context::from_waker(&waker))
}

#[tokio::test(start_paused = true)]
async fn waiters_are_served_in_arrival_order() {
    common::deadline(async move {
        let limiter = Limiter::new(1);
        let order = Arc::new(Mutex::new(Vec::new()));
        let held = limiter.acquire().await;
        let mut waiters = Vec::new();
        for i in 0..10 {
            let limiter = limiter.clone();
            let order = order.clone();
            waiters.push(tokio::spawn(async move {
                let _permit = limiter.acquire().await;
                order.lock().unwrap().push(i);
                tokio::time::sleep(Duration::from_millis(1)).await;
            }));
            // Let waiter i queue up before waiter i + 1 exists.
            tokio::task::yield_now().await;
        }
        drop(held);
        for waiter in waiters {
            waiter.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), (0..10).collect::<Vec<_>>());
    })
    .await
}

#[test]
fn a_released_permit_is_reserved_for_the_waiter_it_wakes() {
    let limiter = Limiter::new(1);
    let held = limiter.try_acquire().unwrap();
    let mut waiter = Box::pin(limiter.acquire());
    assert!(poll_once(&mut waiter).is_pending());
    drop(held);
    // A newcomer arriving between the release and the waiter's next poll gets nothing.
    assert!(limiter.try_acquire().is_none());
    let Poll::Ready(permit) = poll_once(&mut waiter) else {
        panic!("the woken waiter was not served");
    };
    assert_eq!(limiter.in_flight(), 1);
    drop(permit);
    assert_eq!(limiter.in_flight(), 0);
}

#[test]
fn a_waiter_dropped_before_service_loses_no_capacity() {
    let limiter = Limiter::new(2);
    let a = limiter.try_acquire().unwrap();
    let b = limiter.try_acquire().unwrap();
    let mut waiter = Box::pin(limiter.acquire());
    assert!(poll_once(&mut waiter).is_pending());
    drop(a); // assigned to the waiter...
    drop(waiter); // ...which goes away before taking it
    drop(b);
    let both = (limiter.try_acquire(), limiter.try_acquire());
    assert!(both.0.is_some() && both.1.is_some(), "capacity was lost");
    assert!(limiter.try_acquire().is_none());
}

#[test]
fn raising_the_limit_serves_waiters_at_once() {
    let limiter = Limiter::new(1);
    let _held = limiter.try_acquire().unwrap();
    let mut first = Box::pin(limiter.acquire());
    let mut second = Box::pin(limiter.acquire());
    assert!(poll_once(&mut first).is_pending());
    assert!(poll_once(&mut second).is_pending());
    limiter.set_limit(3);
    let (Poll::Ready(_a), Poll::Ready(_b)) = (poll_once(&mut first), poll_once(&mut second)) else {
        panic!("both waiters should be served at once");
    };
    assert_eq!(limiter.in_flight(), 3);
}

#[test]
fn lowering_the_limit_lets_holders_finish_then_holds_to_it() {
    let limiter = Limiter::new(3);
    let held: Vec<_> = (0..3).map(|_| limiter.try_acquire().unwrap()).collect();
    limiter.set_limit(1);
    assert_eq!(limiter.in_flight(), 3, "no permit is revoked");
    let mut waiter = Box::pin(limiter.acquire());
    assert!(poll_once(&mut waiter).is_pending());
    let mut held = held.into_iter();
    drop(held.next());
    assert!(poll_once(&mut waiter).is_pending(), "2 held, limit 1");
    drop(held.next());
    assert!(poll_once(&mut waiter).is_pending(), "1 held, limit 1");
    drop(held.next());
    let Poll::Ready(permit) = poll_once(&mut waiter) else {
        panic!("the waiter should be served once all holders are gone");
    };
    assert!(limiter.try_acquire().is_none());
    drop(permit);
    assert!(limiter.try_acquire().is_some());
    // Raising again after lowering restores exactly the new limit.
    limiter.set_limit(2);
    let two: Vec<_> = (0..2).filter_map(|_| limiter.try_acquire()).collect();
    assert_eq!(two.len(), 2);
    assert!(limiter.try_acquire().is_none());
}

#[test]
fn lowering_then_raising_before_holders_finish_keeps_the_count_right() {
    let limiter = Limiter::new(4);
    let held: Vec<_> = (0..4).map(|_| limiter.try_acquire().unwrap()).collect();
    limiter.set_limit(1);
    limiter.set_limit(3);
    drop(held);
    let got: Vec<_> = (0..5).filter_map(|_| limiter.try_acquire()).collect();
    assert_eq!(got.len(), 3);
}

#[test]
fn a_limit_of_zero_pauses_until_raised() {
    let limiter = Limiter::new(1);
    limiter.set_limit(0);
    assert!(limiter.try_acquire().is_none());
    limiter.set_limit(1);
    assert!(limiter.try_acquire().is_some());
}

#[test]
fn weighted_permits_count_by_weight_and_a_heavy_waiter_is_not_starved() {
    let limiter = Limiter::new(4);
    let light = limiter.try_acquire().unwrap();
    let mut heavy = Box::pin(limiter.acquire_many(4));
    assert!(poll_once(&mut heavy).is_pending());
    // A light newcomer must queue behind the heavy waiter rather than overtake it forever.
    assert!(limiter.try_acquire().is_none());
    drop(light);
    let Poll::Ready(permit) = poll_once(&mut heavy) else {
        panic!("the heavy waiter should be served");
    };
    assert_eq!(permit.weight(), 4);
    assert_eq!(limiter.in_flight(), 4);
}

#[test]
fn lowering_below_a_weighted_holder_repays_part_of_its_weight() {
    let limiter = Limiter::new(4);
    let heavy = limiter.try_acquire_many(3).unwrap();
    limiter.set_limit(2);
    drop(heavy);
    let got: Vec<_> = (0..4).filter_map(|_| limiter.try_acquire()).collect();
    assert_eq!(got.len(), 2);
}

#[test]
fn works_from_plain_threads() {
    let limiter = Limiter::new(2);
    let now = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let (limiter, now, peak) = (limiter.clone(), now.clone(), peak.clone());
            std::thread::spawn(move || {
                for _ in 0..50 {
                    let _permit = limiter.acquire_blocking();
                    let running = now.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(running, Ordering::SeqCst);
                    std::thread::yield_now();
                    now.fetch_sub(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    assert_eq!(peak.load(Ordering::SeqCst), 2);
    assert_eq!(limiter.in_flight(), 0);
}

#[test]
fn works_on_another_executor_and_across_runtimes() {
    // The seeds' decorator was bound to one event loop; a Limiter is bound to none.
    let limiter = Limiter::new(1);
    futures::executor::block_on(limiter.run(async {}));
    for _ in 0..2 {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        assert_eq!(runtime.block_on(limiter.run(async { 3 })), 3);
    }
}

#[tokio::test(start_paused = true)]
async fn run_limits_concurrency_of_wrapped_calls() {
    common::deadline(async move {
        let limiter = Limiter::new(3);
        let start = tokio::time::Instant::now();
        let calls = (0..9).map(|_| {
            let limiter = limiter.clone();
            tokio::spawn(async move {
                // The sleep is made inside, so its deadline starts with the permit.
                limiter
                    .run(async { tokio::time::sleep(Duration::from_secs(1)).await })
                    .await
            })
        });
        for call in calls.collect::<Vec<_>>() {
            call.await.unwrap();
        }
        assert_eq!(start.elapsed(), Duration::from_secs(3));
    })
    .await
}
