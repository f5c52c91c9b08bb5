//! A Redis Cluster of three nodes: each queue and each limit lives whole on one shard (its
//! keys share a hash tag), different ones spread over the shards, and a `redis://` URL to a
//! node is told to use `redis+cluster://`.

mod common;

use std::time::Duration;

use std::sync::{Arc, Mutex};
use std::time::Instant;

use common::topology::{cluster, cluster_with};
use futures::StreamExt;
use inflight_redis::{GlobalLimit, LimitOptions, Queue, Redis, RedisEvent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_queues_and_six_limits_spread_over_the_shards_and_each_works_whole() {
    let Some(c) = cluster() else {
        return;
    };
    let redis = Redis::connect(&c.url()).await.unwrap();
    let names: Vec<String> = (0..6).map(|i| format!("crawl-{i}")).collect();

    // Six limits of 2 each, a waiter woken through the shard's BLPOP.
    let options = LimitOptions::default().poll(Duration::from_millis(500));
    for name in &names {
        let limit = GlobalLimit::with_options(&redis, name, 2, options);
        let a = limit.acquire(None).await.unwrap();
        let _b = limit.acquire(None).await.unwrap();
        assert!(limit.try_acquire().await.unwrap().is_none());
        let waiter = {
            let limit = limit.clone();
            tokio::spawn(async move { limit.acquire(None).await.unwrap() })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        drop(a);
        let third = tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .expect("the waiter was woken")
            .unwrap();
        assert_eq!(limit.state().await.unwrap().held, 2);
        drop(third);
    }

    // Six queues of 50 inputs, each worked to the end.
    for name in &names {
        let queue = Queue::new(&redis, name);
        queue
            .push((0..50).map(|i| format!("{name}-{i}")))
            .await
            .unwrap();
        queue.close().await.unwrap();
    }
    for name in &names {
        let queue = Queue::new(&redis, name);
        let mut items = queue.items();
        let mut done = 0;
        while let Some(item) = items.next().await {
            let item = item.unwrap();
            assert!(item.input().starts_with(name.as_str()));
            item.ack(true, &serde_json::json!({})).await.unwrap();
            done += 1;
        }
        assert_eq!(done, 50);
        let status = queue.status().await.unwrap();
        assert_eq!((status.pushed, status.done, status.waiting), (50, 50, 0));
        let results: Vec<_> = queue.results(false).collect().await;
        assert_eq!(results.len(), 50);
    }

    // Spread: every shard holds some of them.
    let per_node = c.keys_per_node();
    assert!(
        per_node.iter().all(|&n| n > 0),
        "each shard holds a part: {per_node:?}"
    );
    // What a dashboard lists finds them on every shard, not on the seed's alone.
    assert_eq!(redis.queue_names().await.unwrap(), names);
    assert_eq!(redis.shared_limit_names().await.unwrap(), names);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plain_url_to_a_cluster_node_says_to_use_redis_cluster() {
    let Some(c) = cluster() else {
        return;
    };
    let e = Redis::connect(&c.nodes[0].url()).await.unwrap_err();
    assert!(e.to_string().contains("use redis+cluster://"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shard_that_fails_over_is_followed_and_its_limit_holds_back_for_a_lease() {
    let Some(mut c) = cluster_with(1) else {
        return;
    };
    let events: Arc<Mutex<Vec<RedisEvent>>> = Arc::default();
    let seen = events.clone();
    let redis = Redis::builder(&c.url())
        .on_event(move |e| seen.lock().unwrap().push(e.clone()))
        .connect()
        .await
        .unwrap();
    // Longer than the shard's failover (node timeout 2 s, then the election), so that the
    // places held across it are not simply expired.
    let lease = Duration::from_secs(8);
    let options = LimitOptions::default()
        .lease(lease)
        .poll(Duration::from_millis(200));
    let limit = GlobalLimit::with_options(&redis, "shard", 2, options);
    let a = limit.acquire(None).await.unwrap();
    let b = limit.acquire(None).await.unwrap();
    let master = c.master_of("inflight:limit:{shard}:holders");
    let took = c.fail_over(master);
    eprintln!("shard failover took {took:?}");

    // Goes on against the promoted replica; a freed place waits for the grace period.
    a.release().await.unwrap();
    let started = Instant::now();
    let third = tokio::time::timeout(Duration::from_secs(20), limit.acquire(None))
        .await
        .expect("granted on the new master")
        .unwrap();
    let waited = started.elapsed();
    assert_eq!(limit.state().await.unwrap().held, 2);
    assert!(limit.try_acquire().await.unwrap().is_none());
    assert!(!b.is_lost());
    drop((b, third));
    let events = events.lock().unwrap().clone();
    let failovers = events
        .iter()
        .filter(|e| matches!(e, RedisEvent::FailedOver { .. }))
        .count();
    assert_eq!(failovers, 1, "{events:?}");
    assert!(
        waited >= lease / 2,
        "the grant waited for the grace period: {waited:?}"
    );
}
