//! The global per-key limit against a real redis-server.

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use inflight_redis::{GlobalPerKey, LimitOptions, Redis};

fn fast() -> LimitOptions {
    LimitOptions::default()
        .lease(Duration::from_secs(2))
        .poll(Duration::from_millis(300))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_key_does_not_hold_up_another() {
    let Some(server) = common::server() else {
        return;
    };
    let redis = Redis::connect(&server.url()).await.unwrap();
    let hosts = GlobalPerKey::with_options(&redis, "hosts", 1, fast());
    let a = hosts.acquire(Some("a.example")).await.unwrap();
    let waiting = tokio::spawn({
        let hosts = hosts.clone();
        async move { hosts.acquire(Some("a.example")).await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(50)).await;
    // b is free although a has a waiter
    let started = Instant::now();
    let b = hosts.acquire(Some("b.example")).await.unwrap();
    assert!(started.elapsed() < Duration::from_millis(100));
    assert_eq!(b.key(), Some("b.example"));
    assert!(!waiting.is_finished());
    drop(a);
    let again = tokio::time::timeout(Duration::from_millis(500), waiting)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.key(), Some("a.example"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_key_is_limited_across_clients_and_forgotten_when_idle() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let running: Arc<Mutex<HashMap<String, (usize, usize)>>> = Arc::default();
    let mut handles = Vec::new();
    for _ in 0..2 {
        let redis = Redis::connect(&url).await.unwrap();
        let hosts = GlobalPerKey::with_options(&redis, "crawl", 2, fast());
        for t in 0..9 {
            let hosts = hosts.clone();
            let running = running.clone();
            handles.push(tokio::spawn(async move {
                for r in 0..6 {
                    let key = format!("host{}", (t + r) % 3);
                    let permit = hosts.acquire(Some(&key)).await.unwrap();
                    {
                        let mut map = running.lock().unwrap();
                        let (now, peak) = map.entry(key.clone()).or_default();
                        *now += 1;
                        *peak = (*peak).max(*now);
                    }
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    running.lock().unwrap().get_mut(&key).unwrap().0 -= 1;
                    permit.release().await.unwrap();
                }
            }));
        }
    }
    for h in handles {
        h.await.unwrap();
    }
    let peaks: Vec<usize> = {
        let map = running.lock().unwrap();
        let mut keys: Vec<_> = map.keys().cloned().collect();
        keys.sort();
        keys.iter().map(|k| map[k].1).collect()
    };
    assert_eq!(
        peaks,
        vec![2, 2, 2],
        "each key reaches its limit and never more"
    );
    // Nothing of any key is left once no one holds or waits.
    let keys: Vec<String> = server.query(&["KEYS", "inflight:perkey:{crawl}:key:*"]);
    assert!(keys.is_empty(), "{keys:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_key_limit_changes_live() {
    let Some(server) = common::server() else {
        return;
    };
    let redis = Redis::connect(&server.url()).await.unwrap();
    let hosts = GlobalPerKey::with_options(&redis, "live", 1, fast());
    let a = hosts.acquire(Some("k")).await.unwrap();
    assert!(hosts.try_acquire("k").await.unwrap().is_none());
    hosts.set_limit(2).await.unwrap();
    let b = hosts.try_acquire("k").await.unwrap().expect("raised to 2");
    assert_eq!(hosts.state("k").await.unwrap().held, 2);
    hosts.clear_limit().await.unwrap();
    drop((a, b));
}
