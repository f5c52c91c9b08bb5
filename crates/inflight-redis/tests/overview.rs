//! What a dashboard reads (queue names, a queue's overview, the shared limits) against a real
//! redis-server.

mod common;

use std::time::Duration;

use futures::StreamExt;
use inflight_redis::{GlobalLimit, LimitOptions, Queue, QueueOptions, Redis};
use serde_json::json;

fn fast() -> QueueOptions {
    QueueOptions::default()
        .lease(Duration::from_secs(1))
        .poll(Duration::from_millis(200))
}

/// Takes `n` items as `worker` and acks each: inputs that start with "bad" fail.
async fn work(queue: &Queue, worker: &str, n: usize) {
    let mut items = queue.items_as(worker);
    for _ in 0..n {
        let item = items.next().await.unwrap().unwrap();
        let ok = !item.input().starts_with("bad");
        let record = json!({ "input": item.input(), "error": (!ok).then_some("exit status 3") });
        item.ack(ok, &record).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_overview_has_the_status_each_workers_tally_and_host_and_the_latest_failures() {
    let Some(server) = common::server() else {
        return;
    };
    let redis = Redis::connect(&server.url()).await.unwrap();
    let q = Queue::with_options(&redis, "over", fast().max_deliveries(1));
    let inputs = ["a", "bad-1", "b", "bad-2", "c", "d", "poison", "e"];
    q.push(inputs.iter().map(|s| s.to_string())).await.unwrap();
    q.close().await.unwrap();

    work(&q, "w1", 4).await; // a, bad-1, b, bad-2
    work(&q, "w2", 2).await; // c, d
                             // "poison" is taken by a worker that dies at once (a bare XREADGROUP): after the lease
                             // its second delivery is one too many, and it goes to the dead letters.
    let taken: redis::Value = server.query(&[
        "XREADGROUP",
        "GROUP",
        "workers",
        "crasher",
        "COUNT",
        "1",
        "STREAMS",
        "inflight:queue:{over}:inputs",
        ">",
    ]);
    assert!(format!("{taken:?}").contains("poison"));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    work(&q, "w2", 1).await; // e (the take that claims "poison" sends it to the dead letters)

    let o = q.overview(10, 10).await.unwrap();
    let mut status = q.status().await.unwrap();
    for (a, b) in status.workers.iter_mut().zip(&o.status.workers) {
        a.last_seen = b.last_seen; // read a moment apart
    }
    assert_eq!(o.status, status, "the counters are the status's");
    assert_eq!(
        (o.status.done, o.status.failed, o.status.dead),
        (5, 2, 1),
        "{o:?}"
    );
    let w: Vec<_> = o
        .workers
        .iter()
        .map(|w| (w.name.as_str(), w.done, w.failed))
        .collect();
    // The crasher holds nothing now (its input was claimed) and never sent a heartbeat.
    assert_eq!(w, [("w1", 2, 2), ("w2", 3, 0)]);
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let hosts: Vec<_> = o.workers.iter().map(|w| w.host.as_deref()).collect();
    assert_eq!(hosts, [Some(host.trim()), Some(host.trim())]);
    // Newest first, with the record the worker gave.
    let failed: Vec<_> = o.failures.iter().map(|r| r.input.as_str()).collect();
    assert_eq!(failed, ["bad-2", "bad-1"]);
    assert_eq!(o.failures[0].worker, "w1");
    assert_eq!(o.failures[0].record["error"], "exit status 3");
    assert!(!o.failures[0].ok);
    assert_eq!(o.dead_letters.len(), 1);
    assert_eq!(o.dead_letters[0].input, "poison");
    // Asking for fewer gives fewer.
    assert_eq!(q.overview(1, 0).await.unwrap().failures.len(), 1);
    assert!(q.overview(1, 0).await.unwrap().dead_letters.is_empty());

    assert_eq!(redis.queue_names().await.unwrap(), ["over"]);
    q.delete().await.unwrap();
    assert!(redis.queue_names().await.unwrap().is_empty());
    // Only the marker that tells a deletion from a data loss (an hour) stays.
    let left: Vec<String> = server.query(&["KEYS", "inflight:queue:*"]);
    assert_eq!(
        left,
        ["inflight:queue:{over}:deleted"],
        "delete left {left:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_limits_lists_each_limit_with_its_limit_holders_and_waiters() {
    let Some(server) = common::server() else {
        return;
    };
    let redis = Redis::connect(&server.url()).await.unwrap();
    assert!(redis.shared_limits().await.unwrap().is_empty());
    let options = LimitOptions::default().poll(Duration::from_millis(100));
    let api = GlobalLimit::with_options(&redis, "api", 2, options);
    let held = [
        api.acquire(None).await.unwrap(),
        api.acquire(None).await.unwrap(),
    ];
    let waiter = tokio::spawn({
        let api = api.clone();
        async move { api.acquire(None).await.map(drop) }
    });
    let other = GlobalLimit::new(&redis, "db", 5);
    drop(other.acquire(None).await.unwrap());
    assert!(redis.flush(Duration::from_secs(5)).await);
    tokio::time::sleep(Duration::from_millis(200)).await;

    let limits = redis.shared_limits().await.unwrap();
    let seen: Vec<_> = limits
        .iter()
        .map(|l| (l.name.as_str(), l.limit, l.stored, l.held, l.waiting))
        .collect();
    assert_eq!(
        seen,
        [("api", Some(2), false, 2, 1), ("db", Some(5), false, 0, 0)]
    );
    // A stored limit wins over the declared one.
    api.set_limit(7).await.unwrap();
    waiter.await.unwrap().unwrap();
    let api_now = &redis.shared_limits().await.unwrap()[0];
    assert_eq!(
        (api_now.limit, api_now.stored, api_now.waiting),
        (Some(7), true, 0)
    );
    drop(held);
}
