//! The work queue against a real redis-server.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use inflight_redis::{Acked, Error, Queue, QueueOptions, QueueResult, Redis};
use serde_json::json;

fn input(i: u64) -> String {
    format!("input-{i}")
}

fn fast() -> QueueOptions {
    QueueOptions::default()
        .lease(Duration::from_secs(1))
        .poll(Duration::from_millis(200))
}

async fn queue(url: &str, name: &str, options: QueueOptions) -> Queue {
    Queue::with_options(&Redis::connect(url).await.unwrap(), name, options)
}

/// Runs a worker to the end: acks every item with a record of the input, its worker and its
/// delivery count, `concurrency` at a time.
async fn work(queue: Queue, concurrency: usize) -> Vec<u64> {
    let items = queue.items();
    let mut positions = Vec::new();
    let mut acks = items
        .map(|item| async move {
            let item = item.unwrap();
            let position = item.position();
            let record = json!({ "input": item.input(), "deliveries": item.deliveries() });
            let acked = item.ack(true, &record).await.unwrap();
            (position, acked)
        })
        .buffer_unordered(concurrency);
    while let Some((position, acked)) = acks.next().await {
        if acked == Acked::Recorded {
            positions.push(position);
        }
    }
    positions
}

async fn all_results(queue: &Queue) -> Vec<QueueResult> {
    queue.results(false).map(|r| r.unwrap()).collect().await
}

/// Every position 0..n exactly once, each with its own input.
fn assert_once_each(results: &[QueueResult], n: u64) {
    let mut seen = HashSet::new();
    for r in results {
        assert!(
            seen.insert(r.position),
            "input {} has two results",
            r.position
        );
        assert_eq!(r.input, input(r.position));
        assert_eq!(r.record["input"], input(r.position));
    }
    assert_eq!(seen.len() as u64, n, "results missing");
    assert!(seen.iter().all(|p| *p < n));
}

/// Settled inputs are trimmed off the stream's front while the queue runs (memory stays
/// bounded by what is unsettled, plus one node of the stream), and the status counts what
/// waits exactly although the stream still holds settled inputs for a while.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn settled_inputs_leave_the_stream_while_the_queue_runs_and_the_counts_stay_exact() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let key = "inflight:queue:{trim}:inputs";
    let q = queue(&url, "trim", fast().push_batch(500)).await;
    q.push((0..2000).map(input)).await.unwrap();
    let mut items = queue(
        &url,
        "trim",
        fast().read_batch(50).ack_batch(50, Duration::ZERO),
    )
    .await
    .items();
    // 1200 settled in order; then 30 more taken and held (pending), the rest untaken.
    for i in 0..1200u64 {
        let item = items.next().await.unwrap().unwrap();
        assert_eq!(item.position(), i);
        item.ack(true, &json!({})).await.unwrap();
    }
    let mut held = Vec::new();
    for _ in 0..30 {
        held.push(items.next().await.unwrap().unwrap());
    }
    let status = q.status().await.unwrap();
    // The read batch took 50 at a time: 1250 handed out, 1230 settled or held.
    assert_eq!(
        (status.done, status.in_flight, status.waiting),
        (1200, 50, 750),
        "{status:?}"
    );
    let len: u64 = server.query(&["XLEN", key]);
    // Stream nodes hold up to 100 entries (stream-node-max-entries): what is not settled, plus
    // at most one node of settled entries before the oldest pending one.
    assert!(
        (800..=900).contains(&len),
        "{len} entries for 800 unsettled"
    );
    // The rest finish; the queue closed and finished holds no input at all.
    q.close().await.unwrap();
    for item in held {
        item.ack(true, &json!({})).await.unwrap();
    }
    while let Some(item) = items.next().await {
        item.unwrap().ack(true, &json!({})).await.unwrap();
    }
    let status = q.status().await.unwrap();
    assert_eq!(
        (status.done, status.in_flight, status.waiting),
        (2000, 0, 0)
    );
    assert!(status.is_finished());
    assert_eq!(server.query::<u64>(&["XLEN", key]), 0);
}

/// One input running long does not keep everything settled after it in the stream: past a
/// thousand such, they are deleted as they settle, so the stream stays bounded while the
/// queue goes on; when the long one settles, all of it goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_running_input_does_not_keep_the_settled_ones_behind_it_in_the_stream() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let key = "inflight:queue:{long}:inputs";
    let q = queue(
        &url,
        "long",
        fast().lease(Duration::from_secs(30)).push_batch(500),
    )
    .await;
    q.push((0..4000).map(input)).await.unwrap();
    q.close().await.unwrap();
    let options = fast()
        .lease(Duration::from_secs(30))
        .read_batch(20)
        .ack_batch(20, Duration::ZERO);
    let mut items = queue(&url, "long", options).await.items();
    let long = items.next().await.unwrap().unwrap();
    // Settled inputs in the stream: its length less the 4000 - `settled` that are not.
    let mut most = 0;
    for settled in 1..4000u64 {
        let item = items.next().await.unwrap().unwrap();
        item.ack(true, &json!({})).await.unwrap();
        let len: u64 = server.query(&["XLEN", key]);
        most = most.max(len.saturating_sub(4000 - settled));
    }
    // At most SETTLED_KEPT (1000), plus a stream node (100) and a batch of acks (20).
    assert!(
        most <= 1000 + 100 + 20,
        "{most} settled inputs in the stream"
    );
    assert!(most >= 900, "{most}: trimmed up to the long one only");
    long.ack(true, &json!({})).await.unwrap();
    assert!(items.next().await.is_none());
    assert_eq!(server.query::<u64>(&["XLEN", key]), 0);
    let status = q.status().await.unwrap();
    assert_eq!(
        (status.done, status.waiting, status.in_flight),
        (4000, 0, 0)
    );
}

/// The counts survive a restart from the append-only file (and so a failover to a replica,
/// which gets the same writes): Redis does not keep a consumer group's lag across either, so
/// the queue keeps its own count of inputs taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_counts_stay_exact_across_a_restart_from_the_append_only_file() {
    let Some(mut server) = common::server_with(common::Config {
        appendonly: true,
        ..Default::default()
    }) else {
        return;
    };
    let url = server.url();
    let q = queue(&url, "aof", fast()).await;
    q.push((0..700).map(input)).await.unwrap();
    {
        let mut items = queue(
            &url,
            "aof",
            fast().read_batch(10).ack_batch(10, Duration::ZERO),
        )
        .await
        .items();
        for _ in 0..300 {
            let item = items.next().await.unwrap().unwrap();
            item.ack(true, &json!({})).await.unwrap();
        }
        drop(items);
    }
    let before = q.status().await.unwrap();
    assert_eq!((before.done, before.waiting), (300, 400), "{before:?}");
    server.restart(true);
    let q = queue(&url, "aof", fast()).await;
    let after = q.status().await.unwrap();
    assert_eq!(
        (after.pushed, after.done, after.waiting, after.in_flight),
        (700, 300, 400, 0),
        "{after:?}"
    );
}

/// A queue that finished before it was closed holds no input once closed: here its last
/// input went to the dead letters in a take (its worker died holding it), which trims nothing
/// while the queue is open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_queue_whose_inputs_all_settled_empties_its_stream() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let options = fast().lease(Duration::from_millis(300)).max_deliveries(1);
    let q = queue(&url, "late-close", options).await;
    q.push([input(0)]).await.unwrap();
    // A worker that dies holding it: never acknowledged, never given back, and its runtime
    // (with the task that renews its leases) gone.
    let dying_url = url.clone();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let mut dying = queue(&dying_url, "late-close", options).await.items();
            std::mem::forget(dying.next().await.unwrap().unwrap());
            std::mem::forget(dying);
        });
    })
    .join()
    .unwrap();
    tokio::time::sleep(Duration::from_millis(400)).await;
    let key = "inflight:queue:{late-close}:inputs";
    let mut items = queue(&url, "late-close", options).await.items();
    let status = loop {
        // The next take claims it, past its one delivery: a dead letter.
        tokio::select! {
            _ = items.next() => panic!("handed out past max_deliveries"),
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
        let status = q.status().await.unwrap();
        if status.dead == 1 {
            break status;
        }
    };
    assert_eq!((status.waiting, status.in_flight), (0, 0));
    assert_eq!(
        server.query::<u64>(&["XLEN", key]),
        1,
        "the open queue keeps it"
    );
    q.close().await.unwrap();
    assert_eq!(server.query::<u64>(&["XLEN", key]), 0);
}

/// A worker whose results wait for Redis (an outage being retried, or a Redis slower than the
/// jobs) stops taking inputs once more wait than one batch beyond its slots, and goes on as
/// they are recorded: otherwise it would run on, its unsent results piling up, and a kill -9
/// would lose them all. Here the results wait because their futures are not polled to the end.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_stops_taking_while_more_results_wait_than_a_batch_beyond_its_slots() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let q = queue(&url, "backlog", fast()).await;
    q.push((0..40).map(input)).await.unwrap();
    // 2 slots and batches of 5: at most 7 results waiting.
    let options = fast().slots(2).ack_batch(5, Duration::ZERO);
    let mut items = queue(&url, "backlog", options).await.items();
    let record = json!({});
    let mut waiting = Vec::new();
    for _ in 0..8 {
        let item = items.next().await.unwrap().unwrap();
        let mut ack = Box::pin(item.ack(true, &record));
        assert!(
            futures::poll!(&mut ack).is_pending(),
            "an ack waits for its batch"
        );
        waiting.push(ack);
    }
    let blocked = tokio::time::timeout(Duration::from_millis(500), items.next()).await;
    assert!(blocked.is_err(), "took more inputs with 8 results waiting");
    // As they are recorded, taking goes on.
    for ack in waiting {
        assert_eq!(ack.await.unwrap(), Acked::Recorded);
    }
    let next = tokio::time::timeout(Duration::from_secs(5), items.next()).await;
    assert!(next.unwrap().unwrap().is_ok());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_inputs_through_three_workers_give_each_result_once() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let n = 10_000;
    let q = queue(&url, "big", fast().push_batch(500)).await;
    let report = q.push((0..n).map(input)).await.unwrap();
    assert_eq!((report.added, report.skipped), (n, 0));
    q.close().await.unwrap();
    let mut workers = Vec::new();
    for w in 0..3u64 {
        let url = url.clone();
        workers.push(tokio::spawn(async move {
            // started at different times
            tokio::time::sleep(Duration::from_millis(50 * w)).await;
            work(queue(&url, "big", fast().read_batch(8)).await, 8).await
        }));
    }
    let mut union = Vec::new();
    for w in workers {
        let done = w.await.unwrap();
        assert!(!done.is_empty(), "every worker took a share");
        union.extend(done);
    }
    union.sort();
    assert_eq!(union, (0..n).collect::<Vec<_>>());
    assert_once_each(&all_results(&q).await, n);
    let status = q.status().await.unwrap();
    assert_eq!(
        (status.pushed, status.done, status.waiting, status.in_flight),
        (n, n, 0, 0)
    );
    assert!(status.is_finished());
    // The inputs stream is empty: acknowledged inputs are deleted, so memory stays bounded.
    assert_eq!(
        server.query::<u64>(&["XLEN", "inflight:queue:{big}:inputs"]),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_input_costs_two_round_trips_to_take_and_ack_and_batches_save_takes() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    for (batch, expected) in [(1, 2.0), (10, 1.1)] {
        let name = format!("trips{batch}");
        let redis = Redis::connect(&url).await.unwrap();
        // Each result on its own (no batch, no linger), as one input at a time would be.
        let options = fast().read_batch(batch).ack_batch(1, Duration::ZERO);
        let q = Queue::with_options(&redis, &name, options);
        q.push((0..100).map(input)).await.unwrap();
        let mut items = q.items();
        let before = redis.round_trips();
        for _ in 0..100 {
            let item = items.next().await.unwrap().unwrap();
            let record = json!({ "input": item.input() });
            item.ack(true, &record).await.unwrap();
        }
        let per_input = (redis.round_trips() - before) as f64 / 100.0;
        assert!(
            (per_input - expected).abs() < 1e-9,
            "batch {batch}: {per_input} per input"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_workers_inputs_are_done_by_the_others_within_the_lease() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let q = queue(&url, "dies", fast()).await;
    q.push((0..20).map(input)).await.unwrap();
    q.close().await.unwrap();
    let (mut child, mut out) = common::child("take", &url, &["dies", "5"]);
    let line = common::wait_line(&mut out, "READY");
    let taken: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(taken.len(), 5);
    common::kill9(&mut child);
    let killed = Instant::now();
    let done = work(queue(&url, "dies", fast()).await, 4).await;
    let took = killed.elapsed();
    assert!(
        took <= Duration::from_secs(1) + Duration::from_millis(1500),
        "took {took:?}"
    );
    assert_eq!(done.len(), 20);
    let results = all_results(&q).await;
    assert_once_each(&results, 20);
    for r in results {
        let expected = if taken.contains(&r.position) { 2 } else { 1 };
        assert_eq!(r.record["deliveries"], expected, "input {}", r.position);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_killed_midway_and_run_again_pushes_nothing_twice_and_misses_nothing() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let n = 6_000u64;
    // The child pushes against a slow trickle of workers, so it is killed mid-way.
    let (mut child, mut out) = common::child("push", &url, &["pushed", &n.to_string(), "3000"]);
    common::wait_line(&mut out, "READY");
    let q = queue(&url, "pushed", fast().max_pending(3000)).await;
    let mut items = q.items();
    let mut held = Vec::new();
    while q.pushed().await.unwrap() < 3000 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for _ in 0..500 {
        held.push(items.next().await.unwrap().unwrap());
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    common::kill9(&mut child);
    let before = q.pushed().await.unwrap();
    assert!(
        before > 3000 && before < n,
        "killed mid-way: {before} pushed"
    );
    let pusher = {
        let q = q.clone();
        tokio::spawn(async move {
            let r = q.push((0..n).map(input)).await.unwrap();
            q.close().await.unwrap();
            r
        })
    };
    for item in held {
        let record = json!({ "input": input(item.position()) });
        item.ack(true, &record).await.unwrap();
    }
    drop(items);
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move {
                work(queue(&url, "pushed", fast().read_batch(16)).await, 16).await
            })
        })
        .collect();
    for w in workers {
        w.await.unwrap();
    }
    let report = pusher.await.unwrap();
    assert_eq!(report.skipped, before);
    assert_eq!(report.skipped + report.added, n);
    assert_once_each(&all_results(&q).await, n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_queue_never_holds_more_than_max_pending_untaken_inputs() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let n = 3000;
    let options = fast().max_pending(100).push_batch(64);
    let q = queue(&url, "bounded", options).await;
    let pusher = {
        let q = q.clone();
        tokio::spawn(async move {
            q.push((0..n).map(input)).await.unwrap();
            q.close().await.unwrap();
        })
    };
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            tokio::spawn(async move { work(queue(&url, "bounded", fast()).await, 4).await })
        })
        .collect();
    let (mut peak, mut samples) = (0, 0);
    while !pusher.is_finished() {
        // No queue until the first push makes it.
        let waiting = match q.status().await {
            Ok(s) => s.waiting,
            Err(Error::NoQueue { .. }) => 0,
            Err(e) => panic!("{e}"),
        };
        peak = peak.max(waiting);
        samples += 1;
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    for w in workers {
        w.await.unwrap();
    }
    assert!(samples > 20, "only {samples} samples");
    assert!(peak <= 100, "{peak} untaken inputs, bound 100");
    assert!(
        peak >= 50,
        "the bound was never approached ({peak}): push did not run ahead"
    );
    assert_once_each(&all_results(&q).await, n);
}

/// A worker that dies holding the poison input: it runs on its own runtime, which is dropped
/// (its renewer with it) after it forgets the poison item.
fn crash_on_poison(url: String) -> bool {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let q = queue(&url, "poison", fast()).await;
            let mut items = q.items();
            while let Some(item) = items.next().await {
                let item = item.unwrap();
                if item.input() == "poison" {
                    std::mem::forget(item);
                    return true;
                }
                let record = json!({ "input": item.input() });
                item.ack(true, &record).await.unwrap();
            }
            false
        })
    })
    .join()
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_input_goes_to_the_dead_letters_after_max_deliveries() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let q = queue(&url, "poison", fast()).await;
    let inputs: Vec<String> = (0..10)
        .map(|i| if i == 3 { "poison".into() } else { input(i) })
        .collect();
    q.push(inputs).await.unwrap();
    q.close().await.unwrap();
    let mut crashes = 0;
    let started = Instant::now();
    while tokio::task::spawn_blocking({
        let url = url.clone();
        move || crash_on_poison(url)
    })
    .await
    .unwrap()
    {
        crashes += 1;
        assert!(crashes <= 3, "delivered more than 3 times");
    }
    assert_eq!(crashes, 3);
    assert!(started.elapsed() < Duration::from_secs(8));
    let dead = q.dead_letters(10).await.unwrap();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0].position, dead[0].input.as_str(), dead[0].deliveries),
        (3, "poison", 3)
    );
    let status = q.status().await.unwrap();
    assert_eq!(
        (status.done, status.dead, status.in_flight, status.waiting),
        (9, 1, 0, 0)
    );
    assert!(status.is_finished());
    assert_eq!(all_results(&q).await.len(), 9);
}

/// The stalled-worker case: A takes an input and stalls (its runtime's thread blocked) past
/// the lease; B claims it, runs it and records its result; A wakes, finishes and acks: its
/// result is dropped as a duplicate. One result per input, although it ran twice.
#[test]
fn an_input_that_ran_twice_has_one_result() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let rt = common::runtime();
    let q = rt.block_on(async {
        let q = queue(&url, "twice", fast()).await;
        q.push([input(0)]).await.unwrap();
        q.close().await.unwrap();
        q
    });
    let (tx_taken, rx_taken) = std::sync::mpsc::channel();
    let a_url = url.clone();
    let a = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let q = queue(&a_url, "twice", fast()).await;
            let mut items = q.items_as("A");
            let item = items.next().await.unwrap().unwrap();
            tx_taken.send(()).unwrap();
            std::thread::sleep(Duration::from_millis(2500)); // the stall
            item.ack(true, &json!({ "input": input(0), "by": "A" }))
                .await
                .unwrap()
        })
    });
    rx_taken.recv().unwrap();
    let b_acked = rt.block_on(async {
        let q = queue(&url, "twice", fast()).await;
        let mut items = q.items_as("B");
        let item = items.next().await.unwrap().unwrap();
        assert_eq!(item.deliveries(), 2);
        item.ack(true, &json!({ "input": input(0), "by": "B" }))
            .await
            .unwrap()
    });
    assert_eq!(b_acked, Acked::Recorded);
    assert_eq!(a.join().unwrap(), Acked::Duplicate);
    rt.block_on(async {
        let results = all_results(&q).await;
        assert_eq!(results.len(), 1);
        assert_eq!(
            (results[0].worker.as_str(), &results[0].record["by"]),
            ("B", &json!("B"))
        );
        let s = q.status().await.unwrap();
        assert_eq!((s.done, s.in_flight), (1, 0));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_job_keeps_its_input_by_renewing_the_lease() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let options = fast().lease(Duration::from_millis(600));
    let q = queue(&url, "long", options).await;
    q.push([input(0)]).await.unwrap();
    q.close().await.unwrap();
    let mut a = q.items_as("A");
    let item = a.next().await.unwrap().unwrap();
    let other = queue(&url, "long", options).await;
    let mut b = other.items_as("B");
    // Three leases pass: B gets nothing, since A renews.
    let got = tokio::time::timeout(Duration::from_millis(2000), b.next()).await;
    assert!(got.is_err(), "B took a running input: {got:?}");
    assert!(!item.is_lost());
    assert_eq!(
        item.ack(true, &json!({ "input": input(0) })).await.unwrap(),
        Acked::Recorded
    );
    assert!(tokio::time::timeout(Duration::from_secs(2), b.next())
        .await
        .unwrap()
        .is_none());
    assert!(a.next().await.is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopping_worker_gives_back_everything_it_holds_at_once() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    // A long lease: only the give-back can let B have the inputs within the test.
    let options = fast().lease(Duration::from_secs(60)).read_batch(4);
    let q = queue(&url, "stopping", options).await;
    q.push((0..6).map(input)).await.unwrap();
    q.close().await.unwrap();
    let mut a = q.items_as("A");
    // One item handed out (and forgotten without a drop, as after a kill), three buffered.
    let first = a.next().await.unwrap().unwrap();
    std::mem::forget(first);
    std::mem::forget(a);
    assert_eq!(q.give_back_worker("A").await.unwrap(), 4);
    assert_eq!(
        q.give_back_worker("A").await.unwrap(),
        0,
        "no double listing"
    );
    let other = queue(&url, "stopping", options).await;
    let done = tokio::time::timeout(Duration::from_secs(10), work(other, 4))
        .await
        .expect("B finished the queue without waiting for A's lease");
    assert_eq!(done.len(), 6);
    let results = all_results(&q).await;
    assert_once_each(&results, 6);
    // Given back, not delivered again: no delivery counted against max_deliveries.
    assert!(
        results.iter().all(|r| r.record["deliveries"] == 1),
        "{results:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_counts_and_results_follow_the_run() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let q = queue(&url, "status", fast()).await;
    q.push((0..6).map(input)).await.unwrap();
    let s = q.status().await.unwrap();
    assert_eq!(
        (s.pushed, s.waiting, s.in_flight, s.closed),
        (6, 6, 0, false)
    );
    let follower = {
        let q = q.clone();
        tokio::spawn(async move {
            q.results(true)
                .map(|r| r.unwrap())
                .collect::<Vec<_>>()
                .await
        })
    };
    let mut items = q.items_as("W");
    let one = items.next().await.unwrap().unwrap();
    let two = items.next().await.unwrap().unwrap();
    let s = q.status().await.unwrap();
    assert_eq!((s.waiting, s.in_flight), (4, 2));
    assert_eq!(s.workers.len(), 1);
    assert_eq!(
        (s.workers[0].name.as_str(), s.workers[0].in_flight),
        ("W", 2)
    );
    assert!(s.workers[0].last_seen.unwrap() < Duration::from_secs(1));
    one.ack(true, &json!({ "input": input(0) })).await.unwrap();
    two.ack(false, &json!({ "input": input(1), "error": "exit 1" }))
        .await
        .unwrap();
    // given back: the next take gets it at once, not after a lease
    let three = items.next().await.unwrap().unwrap();
    let position = three.position();
    three.give_back().await.unwrap();
    let again = tokio::time::timeout(Duration::from_millis(500), items.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!((again.position(), again.deliveries()), (position, 1));
    drop(again); // dropped unacked: given back in the background
    q.close().await.unwrap();
    let rest = work(queue(&url, "status", fast()).await, 2).await;
    assert_eq!(rest.len(), 4);
    assert!(items.next().await.is_none());
    let followed = tokio::time::timeout(Duration::from_secs(3), follower)
        .await
        .unwrap()
        .unwrap();
    assert_once_each(&followed, 6);
    let s = q.status().await.unwrap();
    assert_eq!(
        (s.done, s.failed, s.dead, s.waiting, s.in_flight),
        (5, 1, 0, 0, 0)
    );
    assert!(s.workers.iter().all(|w| w.in_flight == 0));
    let failed: Vec<_> = followed.iter().filter(|r| !r.ok).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0].record["error"], "exit 1");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_restart_with_appendonly_loses_nothing() {
    let Some(server) = common::server_with(common::Config {
        appendonly: true,
        ..Default::default()
    }) else {
        return;
    };
    let url = server.url();
    let n = 1200; // every write is fsynced (appendfsync always): keep it short
    let options = fast().max_pending(300);
    let q = queue(&url, "durable", options).await;
    let pusher = {
        let q = q.clone();
        tokio::spawn(async move {
            q.push((0..n).map(input)).await.unwrap();
            q.close().await.unwrap();
        })
    };
    let acked = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            let acked = acked.clone();
            tokio::spawn(async move {
                let q = queue(&url, "durable", fast()).await;
                let mut items = q.items();
                while let Some(item) = items.next().await {
                    let item = item.unwrap();
                    tokio::time::sleep(Duration::from_micros(300)).await;
                    let record = json!({ "input": item.input() });
                    item.ack(true, &record).await.unwrap();
                    acked.fetch_add(1, Ordering::Relaxed);
                }
            })
        })
        .collect();
    while acked.load(Ordering::Relaxed) < 300 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let server = tokio::task::spawn_blocking(move || {
        let mut server = server;
        server.kill9();
        std::thread::sleep(Duration::from_millis(300));
        server.start();
        server
    })
    .await
    .unwrap();
    pusher.await.unwrap();
    for w in workers {
        w.await.unwrap();
    }
    assert_once_each(&all_results(&q).await, n);
    let s = q.status().await.unwrap();
    assert_eq!((s.pushed, s.done, s.in_flight, s.waiting), (n, n, 0, 0));
    drop(server);
}

/// The test binary's entry point when run as a child by `common::child`.
#[test]
fn child_entry() {
    let Some((role, url, args)) = common::child_role() else {
        return;
    };
    let rt = common::runtime();
    rt.block_on(async move {
        match role.as_str() {
            "take" => {
                let n: usize = args[1].parse().unwrap();
                let q = queue(&url, &args[0], fast().read_batch(n)).await;
                let mut items = q.items();
                let mut held = Vec::new();
                for _ in 0..n {
                    held.push(items.next().await.unwrap().unwrap());
                }
                let positions: Vec<String> =
                    held.iter().map(|i| i.position().to_string()).collect();
                println!("READY {}", positions.join(" "));
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            "push" => {
                let n: u64 = args[1].parse().unwrap();
                let max_pending: u64 = args[2].parse().unwrap();
                let q = queue(
                    &url,
                    &args[0],
                    fast().max_pending(max_pending).push_batch(50),
                )
                .await;
                println!("READY");
                q.push((0..n).map(input)).await.unwrap();
                println!("PUSHED");
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            "ack-unflushed" => {
                // Takes `n` inputs, acknowledges them into a batch that lingers a second,
                // then says READY (and is killed before the batch goes out).
                let n: usize = args[1].parse().unwrap();
                let options = fast().slots(n).ack_batch(1000, Duration::from_secs(1));
                let q = queue(&url, &args[0], options).await;
                let mut items = q.items_as("killed");
                let mut positions = Vec::new();
                for _ in 0..n {
                    let item = items.next().await.unwrap().unwrap();
                    positions.push(item.position().to_string());
                    let record = json!({ "input": item.input(), "deliveries": item.deliveries() });
                    tokio::spawn(async move { item.ack(true, &record).await });
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                println!("READY {}", positions.join(" "));
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            other => panic!("unknown child role {other}"),
        }
    });
    let _ = HashMap::<u8, u8>::new();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inputs_of_a_take_whose_reply_an_outage_cut_off_are_taken_up_without_a_lease() {
    let Some(mut server) = common::server_with(common::Config {
        appendonly: true,
        ..Default::default()
    }) else {
        return;
    };
    let url = server.url();
    // A long lease: only the recovery can hand the stranded inputs out within the test.
    let options = fast().lease(Duration::from_secs(60));
    let q = queue(&url, "cutoff", options).await;
    q.push((0..4).map(input)).await.unwrap();
    q.close().await.unwrap();
    let mut a = q.items_as("A");
    let first = a.next().await.unwrap().unwrap();
    // What a take whose reply was lost leaves: inputs pending for A that A never received.
    let stranded: redis::Value = server.query(&[
        "XREADGROUP",
        "GROUP",
        "workers",
        "A",
        "COUNT",
        "2",
        "STREAMS",
        "inflight:queue:{cutoff}:inputs",
        ">",
    ]);
    assert!(matches!(stranded, redis::Value::Array(_)), "{stranded:?}");
    // An outage while A takes: A cannot tell what its take did, so it looks afterwards.
    let restart = tokio::task::spawn_blocking(move || {
        std::thread::sleep(Duration::from_millis(300));
        server.restart(true);
        server
    });
    // The two stranded inputs and the last new one, within seconds (the lease is 60 s).
    let mut got = vec![first.position()];
    let record = json!({ "input": first.input() });
    first.ack(true, &record).await.unwrap();
    let _server = restart.await.unwrap();
    while let Ok(Some(item)) = tokio::time::timeout(Duration::from_secs(8), a.next()).await {
        let item = item.unwrap();
        got.push(item.position());
        assert_eq!(item.deliveries(), 1, "taken up, not delivered again");
        let record = json!({ "input": item.input() });
        item.ack(true, &record).await.unwrap();
    }
    got.sort();
    assert_eq!(got, [0, 1, 2, 3], "stranded inputs waited for their lease");
    assert_once_each(&all_results(&q).await, 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_takes_as_many_inputs_as_it_has_free_slots_and_no_more() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let redis = Redis::connect(&url).await.unwrap();
    let q = Queue::with_options(&redis, "slots", fast().slots(8));
    q.push((0..40).map(input)).await.unwrap();
    q.close().await.unwrap();
    let mut items = q.items();
    let before = redis.round_trips();
    let mut running = Vec::new();
    for _ in 0..8 {
        running.push(items.next().await.unwrap().unwrap());
    }
    assert_eq!(redis.round_trips() - before, 1, "8 free slots, one take");
    assert_eq!(items.held(), 8);
    // Three finish: the next take asks for three, not one and not eight.
    let acks: Vec<_> = running
        .drain(..3)
        .map(|item| {
            let record = json!({ "input": item.input() });
            tokio::spawn(async move { item.ack(true, &record).await.unwrap() })
        })
        .collect();
    for a in acks {
        a.await.unwrap();
    }
    assert_eq!(items.held(), 5);
    let before = redis.round_trips();
    for _ in 0..3 {
        running.push(items.next().await.unwrap().unwrap());
    }
    assert_eq!(redis.round_trips() - before, 1, "3 free slots, one take");
    assert_eq!(items.held(), 8);
    let s = q.status().await.unwrap();
    assert_eq!(s.in_flight, 8, "nothing taken beyond the slots");
    // A dead worker gives back at most what it ran: the rest is still untaken.
    assert_eq!(s.waiting, 40 - 11);
    for item in running {
        let record = json!({ "input": item.input() });
        item.ack(true, &record).await.unwrap();
    }
    let rest = work(queue(&url, "slots", fast().slots(8)).await, 8).await;
    assert_eq!(rest.len(), 29);
    assert_once_each(&all_results(&q).await, 40);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledgements_go_to_redis_in_batches() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let n = 400;
    let redis = Redis::connect(&url).await.unwrap();
    let q = Queue::with_options(&redis, "acks", fast().slots(50));
    q.push((0..n).map(input)).await.unwrap();
    q.close().await.unwrap();
    let before = redis.round_trips();
    let done = work(q.clone(), 50).await;
    let per_input = (redis.round_trips() - before) as f64 / n as f64;
    assert_eq!(done.len() as u64, n);
    // One take and one acknowledgement per input would be 2.
    assert!(per_input < 0.5, "{per_input} round trips per input");
    assert_once_each(&all_results(&q).await, n);
    let s = q.status().await.unwrap();
    assert_eq!((s.done, s.in_flight, s.waiting), (n, 0, 0));
}

/// kill -9 with acknowledgements waiting in an unsent batch: those inputs are pending in Redis
/// under the dead worker, and another worker runs them after the lease. Each input still ends
/// with exactly one result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_with_an_unsent_batch_loses_only_that_batch() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let q = queue(&url, "unsent", fast()).await;
    q.push((0..30).map(input)).await.unwrap();
    q.close().await.unwrap();
    let (mut child, mut out) = common::child("ack-unflushed", &url, &["unsent", "10"]);
    let line = common::wait_line(&mut out, "READY");
    let finished: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|p| p.parse().unwrap())
        .collect();
    assert_eq!(finished.len(), 10);
    common::kill9(&mut child);
    assert!(all_results(&q).await.is_empty(), "the batch was not sent");
    let done = work(queue(&url, "unsent", fast()).await, 4).await;
    assert_eq!(done.len(), 30);
    let results = all_results(&q).await;
    assert_once_each(&results, 30);
    for r in results {
        let expected = if finished.contains(&r.position) { 2 } else { 1 };
        assert_eq!(r.record["deliveries"], expected, "input {}", r.position);
    }
}

/// Workers with nothing left to take wait on the queue's events: the last acknowledgement of
/// a closed queue ends every worker's stream at once, not after a poll.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_workers_stop_as_soon_as_the_last_result_is_recorded() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    // A poll of 3 s: a worker that polled would stop up to 3 s late.
    let slow_poll = fast().poll(Duration::from_secs(3));
    let q = queue(&url, "prompt", slow_poll).await;
    q.push([input(0)]).await.unwrap();
    let mut a = q.items_as("A");
    let last = a.next().await.unwrap().unwrap();
    let idle: Vec<_> = ["B", "C"]
        .into_iter()
        .map(|name| {
            let url = url.clone();
            tokio::spawn(async move {
                let q = queue(&url, "prompt", slow_poll).await;
                let mut items = q.items_as(name);
                assert!(items.next().await.is_none(), "{name} got an input");
                Instant::now()
            })
        })
        .collect();
    // The idle workers block; then the queue is closed, with its last input still running.
    tokio::time::sleep(Duration::from_millis(300)).await;
    q.close().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        idle.iter().all(|w| !w.is_finished()),
        "stopped before the end"
    );
    last.ack(true, &json!({ "input": input(0) })).await.unwrap();
    let recorded = Instant::now();
    for w in idle {
        let stopped = w.await.unwrap();
        let after = stopped.saturating_duration_since(recorded);
        assert!(
            after < Duration::from_secs(1),
            "stopped {after:?} after the last result"
        );
    }
    let started = Instant::now();
    assert!(a.next().await.is_none());
    assert!(started.elapsed() < Duration::from_secs(1));
}

/// Closing a queue whose inputs are all done ends the idle workers at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_finished_queue_stops_its_idle_workers_at_once() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let slow_poll = fast().poll(Duration::from_secs(3));
    let q = queue(&url, "closing", slow_poll).await;
    q.push([input(0)]).await.unwrap();
    let mut items = q.items();
    let item = items.next().await.unwrap().unwrap();
    item.ack(true, &json!({ "input": input(0) })).await.unwrap();
    let waiter = tokio::spawn(async move {
        let end = items.next().await;
        (end.is_none(), Instant::now())
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished());
    q.close().await.unwrap();
    let closed = Instant::now();
    let (ended, at) = waiter.await.unwrap();
    assert!(ended);
    let after = at.saturating_duration_since(closed);
    assert!(
        after < Duration::from_secs(1),
        "stopped {after:?} after the close"
    );
}
