//! Acquires and releases of one process go to Redis in batches, against a real redis-server:
//! fewer round trips than jobs, and never more holders than the limit over every client.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use inflight_redis::{GlobalLimit, Redis};

/// `clients` processes' worth of clients (each its own connection and client id), each with
/// `tasks` tasks that acquire, hold for `hold`, and release, `rounds` times. Returns the most
/// permits held at once (counted here, between grant and release) and the round trips per job.
async fn hammer(
    url: &str,
    name: &str,
    limit: u64,
    clients: usize,
    tasks: usize,
    rounds: usize,
    hold: Duration,
) -> (usize, f64) {
    let now = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let mut conns = Vec::new();
    let mut handles = Vec::new();
    for _ in 0..clients {
        let redis = Redis::connect(url).await.unwrap();
        conns.push(redis.clone());
        let l = GlobalLimit::new(&redis, name, limit);
        for _ in 0..tasks {
            let (l, now, peak) = (l.clone(), now.clone(), peak.clone());
            handles.push(tokio::spawn(async move {
                for _ in 0..rounds {
                    let permit = l.acquire(None).await.unwrap();
                    let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                    peak.fetch_max(n, Ordering::SeqCst);
                    tokio::time::sleep(hold).await;
                    now.fetch_sub(1, Ordering::SeqCst);
                    assert!(permit.release().await.unwrap(), "a live place");
                }
            }));
        }
    }
    for h in handles {
        h.await.unwrap();
    }
    let jobs = (clients * tasks * rounds) as f64;
    // connecting sends one INFO per client
    let trips: u64 = conns.iter().map(|c| c.round_trips() - 1).sum();
    (peak.load(Ordering::SeqCst), trips as f64 / jobs)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_jobs_of_one_process_share_acquire_and_release_scripts() {
    let Some(server) = common::server() else {
        return;
    };
    // Room for all: each job alone would cost 2 round trips (acquire, release).
    let (peak, per_job) = hammer(&server.url(), "roomy", 1000, 1, 50, 20, Duration::ZERO).await;
    assert!(peak <= 50);
    assert!(per_job < 1.5, "{per_job} round trips per job");
    let l = GlobalLimit::new(&Redis::connect(&server.url()).await.unwrap(), "roomy", 1000);
    assert_eq!(l.state().await.unwrap().held, 0, "every place given back");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batched_acquires_never_hold_more_than_the_limit_over_several_clients() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    for (limit, hold) in [(1, 0), (5, 0), (7, 30), (20, 30)] {
        let name = format!("tight{limit}");
        let (peak, _) = hammer(&url, &name, limit, 3, 16, 8, Duration::from_millis(hold)).await;
        assert!(peak <= limit as usize, "{peak} held at once, limit {limit}");
        if hold > 0 {
            // held long enough for the 48 waiting tasks to fill every place
            assert_eq!(peak, limit as usize, "limit {limit} never reached");
        }
        let l = GlobalLimit::new(&Redis::connect(&url).await.unwrap(), &name, limit);
        let s = l.state().await.unwrap();
        assert_eq!((s.held, s.waiting), (0, 0), "limit {limit}: {s:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acquire_dropped_while_batched_leaves_no_place_behind() {
    let Some(server) = common::server() else {
        return;
    };
    let redis = Redis::connect(&server.url()).await.unwrap();
    let l = GlobalLimit::new(&redis, "dropped", 3);
    for round in 0..30u64 {
        // Many acquires at once, each given up after a moment that falls anywhere: before
        // its batch is sent, while it is under way, or after its grant.
        let attempts: Vec<_> = (0..12u64)
            .map(|i| {
                let l = l.clone();
                tokio::spawn(async move {
                    let wait = Duration::from_micros((round * 37 + i * 53) % 900);
                    tokio::time::timeout(wait, l.acquire(None))
                        .await
                        .ok()
                        .map(|p| p.unwrap())
                })
            })
            .collect();
        for a in attempts {
            drop(a.await.unwrap());
        }
    }
    assert!(redis.flush(Duration::from_secs(5)).await);
    let s = l.state().await.unwrap();
    assert_eq!((s.held, s.waiting), (0, 0), "{s:?}");
    // And the limit is whole: three at once are granted without waiting.
    let three = futures::future::join_all((0..3).map(|_| l.try_acquire())).await;
    assert!(three.iter().all(|p| matches!(p, Ok(Some(_)))), "{three:?}");
}
