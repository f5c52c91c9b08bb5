//! Sentinel: the master is found through the sentinels and followed when they promote its
//! replica; a shared limit holds back new grants for a lease after the failover, so places
//! the new master lost are re-registered before anything more is granted.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::topology::sentinel;
use futures::StreamExt;
use inflight_redis::{GlobalLimit, LimitOptions, Queue, QueueOptions, Redis, RedisEvent};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_master_name_the_sentinel_does_not_know_is_said() {
    let Some(s) = sentinel() else {
        return;
    };
    let url = s.url().replace("inflight-test", "nosuchmaster");
    let e = Redis::connect(&url).await.unwrap_err();
    assert!(
        e.to_string()
            .contains("does not know a master named 'nosuchmaster'"),
        "{e}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_master_is_followed_to_the_promoted_replica_and_the_limit_holds() {
    let Some(mut s) = sentinel() else {
        return;
    };
    let events: Arc<Mutex<Vec<RedisEvent>>> = Arc::default();
    let seen = events.clone();
    let redis = Redis::builder(&s.url())
        .on_event(move |e| seen.lock().unwrap().push(e.clone()))
        .connect()
        .await
        .unwrap();
    let lease = Duration::from_secs(2);
    let options = LimitOptions::default()
        .lease(lease)
        .poll(Duration::from_millis(200));
    let limit = GlobalLimit::with_options(&redis, "fo", 2, options);
    let a = limit.acquire(None).await.unwrap();
    let b = limit.acquire(None).await.unwrap();
    let queue = Queue::with_options(
        &redis,
        "fo",
        QueueOptions::default()
            .lease(Duration::from_secs(2))
            .poll(Duration::from_millis(200)),
    );
    queue
        .push((0..20).map(|i| format!("in-{i}")))
        .await
        .unwrap();
    queue.close().await.unwrap();
    // The replica has it all; then it loses b's place, as if the master had granted it just
    // before dying and never sent it; then the master dies.
    let holders = "inflight:limit:{fo}:holders";
    let replicated = common::eventually(Duration::from_secs(5), || {
        s.replica
            .query::<i64>(&["EXISTS", "inflight:queue:{fo}:meta"])
            == 1
            && s.replica.query::<i64>(&["ZCARD", holders]) == 2
    });
    assert!(replicated.is_some());
    let tokens: Vec<String> = s.master.query(&["ZRANGE", holders, "0", "-1"]);
    let replica_port = s.replica.port;
    let _: i64 = s.replica.query(&["ZREM", holders, &tokens[1]]);
    let took = s.fail_over();
    eprintln!("failover took {took:?}");

    // Both places are still held, so nothing is granted: not in the moment the new master
    // lacks one (the grace period), nor after (the holder re-registered it).
    let until = Instant::now() + lease * 2;
    while Instant::now() < until {
        assert!(
            limit.try_acquire().await.unwrap().is_none(),
            "granted past the limit after the failover"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!a.is_lost() && !b.is_lost());
    assert_eq!(limit.state().await.unwrap().held, 2);
    a.release().await.unwrap();
    let third = tokio::time::timeout(Duration::from_secs(5), limit.acquire(None))
        .await
        .expect("granted once a place is free")
        .unwrap();
    drop((b, third));

    // The queue goes on: every input gets exactly one result.
    let mut items = queue.items();
    let mut done = 0;
    while let Some(item) = items.next().await {
        item.unwrap()
            .ack(true, &serde_json::json!({}))
            .await
            .unwrap();
        done += 1;
    }
    assert_eq!(done, 20);
    let results: Vec<_> = queue.results(false).map(|r| r.unwrap()).collect().await;
    let mut positions: Vec<u64> = results.iter().map(|r| r.position).collect();
    positions.sort();
    assert_eq!(positions, (0..20).collect::<Vec<_>>());

    // Said once each, in order: away, failed over to the replica, back.
    let events = events.lock().unwrap().clone();
    let kinds: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            RedisEvent::Down { .. } => Some("down"),
            RedisEvent::FailedOver { .. } => Some("failover"),
            RedisEvent::Up { .. } => Some("up"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, ["down", "failover", "up"], "{events:?}");
    assert!(events.iter().any(|e| matches!(
        e,
        RedisEvent::FailedOver { master } if master.ends_with(&format!(":{replica_port}"))
    )));
}
