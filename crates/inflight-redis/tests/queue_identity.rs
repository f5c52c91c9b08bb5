//! A queue's identity against a real redis-server: a queue deleted, flushed or lost in a
//! restart under its workers stops them with an error naming it, and none of their writes makes
//! its keys again; a queue that does not exist is said to be missing and never made by a
//! reader, a close or a waiting worker; a live worker's name is not shared; given-back inputs
//! wait; long-gone workers leave the status.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use inflight_redis::{Error, Queue, QueueOptions, Redis, RedisEvent};
use serde_json::json;

fn fast() -> QueueOptions {
    QueueOptions::default()
        .lease(Duration::from_secs(1))
        .poll(Duration::from_millis(100))
}

type Events = Arc<Mutex<Vec<RedisEvent>>>;

/// A connection whose events are kept, and a queue on it.
async fn queue_with_events(url: &str, name: &str, options: QueueOptions) -> (Queue, Events) {
    let events: Events = Arc::default();
    let kept = events.clone();
    let redis = Redis::builder(url)
        .on_event(move |e| kept.lock().unwrap().push(e.clone()))
        .connect()
        .await
        .unwrap();
    (Queue::with_options(&redis, name, options), events)
}

async fn queue(url: &str, name: &str, options: QueueOptions) -> Queue {
    queue_with_events(url, name, options).await.0
}

/// Every key of queue `name` that Redis holds.
fn keys_of(server: &common::Server, name: &str) -> Vec<String> {
    let mut keys: Vec<String> = server.query(&["KEYS", &format!("inflight:queue:{{{name}}}:*")]);
    keys.sort();
    keys
}

fn count(events: &Events, f: impl Fn(&RedisEvent) -> bool) -> usize {
    events.lock().unwrap().iter().filter(|e| f(e)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_deleted_under_its_worker_stops_it_and_stays_deleted() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let (q, events) = queue_with_events(&url, "del", fast()).await;
    q.push((0..10).map(|i| format!("in-{i}"))).await.unwrap();
    let mut items = q.items_as("W");
    let held = items.next().await.unwrap().unwrap();
    let admin = queue(&url, "del", QueueOptions::default()).await;
    assert_eq!(admin.delete().await.unwrap(), vec!["W".to_string()]);
    // The worker's next take, its ack, its renewals (lease 1 s: every 333 ms) and its
    // give-backs are all refused.
    let next = items.next().await.unwrap();
    assert!(
        matches!(&next, Err(Error::QueueDeleted { queue }) if queue == "del"),
        "{next:?}"
    );
    assert_eq!(
        next.unwrap_err().to_string(),
        "the queue del was deleted while in use"
    );
    assert!(items.next().await.is_none(), "the stream ended");
    let acked = held.ack(true, &json!({"ok": true})).await;
    assert!(
        matches!(acked, Err(Error::QueueDeleted { .. })),
        "{acked:?}"
    );
    assert_eq!(q.give_back_worker("W").await.unwrap(), 0);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    // Nothing came back but the marker, which goes by itself.
    assert_eq!(
        keys_of(&server, "del"),
        vec!["inflight:queue:{del}:deleted"]
    );
    let ttl: i64 = server.query(&["PTTL", "inflight:queue:{del}:deleted"]);
    assert!(ttl > 0 && ttl <= 3_600_000, "{ttl}");
    assert_eq!(
        count(
            &events,
            |e| matches!(e, RedisEvent::QueueDeleted { queue } if queue == "del")
        ),
        1,
        "said once: {events:?}"
    );
    // A queue of the same name can be made again, and its workers go on as usual.
    let again = queue(&url, "del", fast()).await;
    again.push(["x"]).await.unwrap();
    again.close().await.unwrap();
    let mut items = again.items_as("W2");
    let item = items.next().await.unwrap().unwrap();
    assert_eq!(item.input(), "x");
    item.ack(true, &json!({})).await.unwrap();
    assert!(items.next().await.is_none());
    // The old handle knows the old queue: the new one is not its queue.
    let old = q.status().await;
    assert!(matches!(old, Err(Error::QueueDeleted { .. })), "{old:?}");
}

/// Pushes, takes one input, has `lose` make Redis lose everything, and checks that the worker
/// says so and writes nothing.
async fn lost_under_a_worker(server: &mut common::Server, lose: impl FnOnce(&mut common::Server)) {
    let url = server.url();
    let (q, events) = queue_with_events(&url, "lost", fast()).await;
    q.push((0..60).map(|i| format!("in-{i}"))).await.unwrap();
    let mut items = q.items_as("W");
    let held = items.next().await.unwrap().unwrap();
    lose(server);
    let next = tokio::time::timeout(Duration::from_secs(20), items.next())
        .await
        .expect("the worker saw the loss")
        .unwrap();
    assert!(
        matches!(&next, Err(Error::QueueLost { queue }) if queue == "lost"),
        "{next:?}"
    );
    assert!(next
        .unwrap_err()
        .to_string()
        .contains("Redis lost the data of the queue lost"));
    let acked = held.ack(true, &json!({})).await;
    assert!(matches!(acked, Err(Error::QueueLost { .. })), "{acked:?}");
    // The pusher that made it sees the loss too, and makes nothing.
    let pushed = q.push(["more"]).await;
    assert!(matches!(pushed, Err(Error::QueueLost { .. })), "{pushed:?}");
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(keys_of(server, "lost"), Vec::<String>::new());
    assert_eq!(
        count(
            &events,
            |e| matches!(e, RedisEvent::QueueLost { queue } if queue == "lost")
        ),
        1,
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flushall_under_a_worker_is_said_as_a_loss() {
    let Some(mut server) = common::server() else {
        return;
    };
    lost_under_a_worker(&mut server, |s| {
        let _: String = s.query(&["FLUSHALL"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_without_persistence_under_a_worker_is_said_as_a_loss() {
    let Some(mut server) = common::server() else {
        return;
    };
    lost_under_a_worker(&mut server, |s| s.restart(false)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queue_that_does_not_exist_is_never_made_by_readers_nor_a_waiting_worker() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let (q, events) = queue_with_events(&url, "nope", fast()).await;
    let no_queue =
        |r: Result<(), Error>| matches!(r, Err(Error::NoQueue { ref queue }) if queue == "nope");
    assert!(no_queue(q.status().await.map(drop)));
    assert!(no_queue(q.close().await));
    assert!(no_queue(q.delete().await.map(drop)));
    assert!(no_queue(q.dead_letters(10).await.map(drop)));
    assert!(no_queue(q.results(false).next().await.unwrap().map(drop)));
    assert!(no_queue(q.results(true).next().await.unwrap().map(drop)));
    assert_eq!(
        q.status().await.unwrap_err().to_string(),
        "no queue named nope"
    );
    // A worker waits, says so once, and makes nothing meanwhile.
    let worker = {
        let q = q.clone();
        tokio::spawn(async move {
            let mut items = q.items_as("W");
            let item = items.next().await.unwrap().unwrap();
            let input = item.input().to_string();
            item.ack(true, &json!({})).await.unwrap();
            (input, items.next().await.is_none())
        })
    };
    tokio::time::sleep(Duration::from_millis(700)).await;
    let dbsize: u64 = server.query(&["DBSIZE"]);
    assert_eq!(dbsize, 0, "nothing made: {:?}", keys_of(&server, "nope"));
    assert_eq!(
        count(
            &events,
            |e| matches!(e, RedisEvent::QueueMissing { queue } if queue == "nope")
        ),
        1,
        "{events:?}"
    );
    // Then a push makes it, and the worker takes it up.
    let pusher = queue(&url, "nope", fast()).await;
    pusher.push(["first"]).await.unwrap();
    pusher.close().await.unwrap();
    let (input, ended) = tokio::time::timeout(Duration::from_secs(10), worker)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((input.as_str(), ended), ("first", true));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_workers_name_is_refused_and_a_dead_or_stopped_ones_is_free() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let q = queue(&url, "names", fast()).await;
    q.push((0..10).map(|i| format!("in-{i}"))).await.unwrap();
    let mut a = q.items_as("W");
    let held = a.next().await.unwrap().unwrap();
    let other = queue(&url, "names", fast()).await;
    let refused = other.items_as("W").next().await.unwrap();
    match &refused {
        Err(Error::WorkerNameTaken {
            queue,
            worker,
            lease,
            ..
        }) => {
            assert_eq!((queue.as_str(), worker.as_str()), ("names", "W"));
            assert_eq!(*lease, Duration::from_secs(1));
        }
        other => panic!("{other:?}"),
    }
    assert!(refused
        .unwrap_err()
        .to_string()
        .contains("a live worker named W"));
    // The refused one gave nothing of the live one's back.
    assert_eq!(other.give_back_worker("W").await.unwrap(), 0);
    // A stops cleanly: its name is free at once.
    drop(held);
    drop(a);
    assert!(q.give_back_worker("W").await.unwrap() <= 1);
    let mut b = other.items_as("W");
    let item = b.next().await.unwrap().unwrap();
    item.give_back().await.unwrap();
    drop(b);
    assert_eq!(other.give_back_worker("W").await.unwrap(), 0);
    // A process that holds the name is killed: the name is taken until its lease (1 s) has
    // passed without a heartbeat, then free.
    let (mut child, mut out) = common::child("hold", &url, &["names", "W", "1000"]);
    common::wait_line(&mut out, "READY");
    common::kill9(&mut child);
    let third = queue(&url, "names", fast()).await;
    assert!(matches!(
        third.items_as("W").next().await.unwrap(),
        Err(Error::WorkerNameTaken { .. })
    ));
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let fourth = queue(&url, "names", fast()).await;
    let item = fourth.items_as("W").next().await.unwrap();
    assert!(item.is_ok(), "{item:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_counts_given_back_inputs_as_waiting_and_forgets_long_gone_workers() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let redis = Redis::connect(&url).await.unwrap();
    let q = Queue::with_options(&redis, "status", fast().read_batch(3));
    q.push((0..6).map(|i| format!("in-{i}"))).await.unwrap();
    let mut a = q.items_as("A");
    let first = a.next().await.unwrap().unwrap();
    let s = q.status().await.unwrap();
    assert_eq!((s.waiting, s.in_flight), (3, 3));
    assert!(s
        .workers
        .iter()
        .any(|w| w.name == "A" && w.live && w.in_flight == 3));
    // A stops: what it held waits again, under no worker, and A leaves the status. (Its
    // two buffered inputs are given back by their drops, in the background.)
    first.give_back().await.unwrap();
    drop(a);
    assert!(redis.flush(Duration::from_secs(5)).await);
    assert_eq!(q.give_back_worker("A").await.unwrap(), 0);
    let s = q.status().await.unwrap();
    assert_eq!((s.waiting, s.in_flight), (6, 0), "{s:?}");
    assert!(s.workers.is_empty(), "{s:?}");
    // B does them all; the queue stays open. D (lease 200 ms) is killed while it waits for
    // inputs: listed, not live once its lease has passed, then forgotten after FORGET_AFTER
    // leases.
    let b = queue(&url, "status", fast().read_batch(6)).await;
    let mut b_items = b.items_as("B");
    for _ in 0..6 {
        let item = b_items.next().await.unwrap().unwrap();
        item.ack(true, &json!({})).await.unwrap();
    }
    let (mut child, mut out) = common::child("hold", &url, &["status", "D", "200", "0"]);
    common::wait_line(&mut out, "READY");
    common::kill9(&mut child);
    let d = |s: &inflight_redis::QueueStatus| s.workers.iter().find(|w| w.name == "D").cloned();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let s = q.status().await.unwrap();
    let gone = d(&s).expect("D listed");
    assert!(!gone.live && gone.in_flight == 0, "{gone:?}");
    assert!(s.workers.iter().any(|w| w.name == "B" && w.live), "{s:?}");
    let forget = Duration::from_millis(200) * inflight_redis::FORGET_AFTER;
    tokio::time::sleep(forget).await;
    let s = q.status().await.unwrap();
    assert_eq!(d(&s), None, "forgotten: {s:?}");
    let heartbeats: Vec<String> = server.query(&["HKEYS", "inflight:queue:{status}:workers"]);
    assert!(!heartbeats.contains(&"D".to_string()), "{heartbeats:?}");
}

/// The roles of the child processes (this test binary run again): `hold QUEUE WORKER LEASE_MS
/// [TAKE]` works on QUEUE as WORKER, takes one input (unless TAKE is 0: then it only waits
/// for one), says READY and sleeps.
#[test]
fn child_entry() {
    let Some((role, url, args)) = common::child_role() else {
        return;
    };
    assert_eq!(role, "hold");
    common::runtime().block_on(async move {
        let lease = Duration::from_millis(args[2].parse().unwrap());
        let q = queue(&url, &args[0], fast().lease(lease)).await;
        let mut items = q.items_as(&args[1]);
        if args.get(3).map(String::as_str) == Some("0") {
            let waiting = tokio::time::timeout(Duration::from_millis(300), items.next()).await;
            assert!(waiting.is_err(), "nothing to take");
            println!("READY");
        } else {
            let _item = items.next().await.unwrap().unwrap();
            println!("READY");
        }
        tokio::time::sleep(Duration::from_secs(3600)).await;
    });
}

/// A worker started before its queue exists (beside the push that makes it, as a script starts
/// both) takes the first input as soon as the push lands, not a poll later; an empty queue
/// closed at once ends it as promptly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_waiting_for_its_queue_starts_at_the_push_not_a_poll_later() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    // A poll of 3 s: a worker that slept a poll would start up to 3 s after the push.
    let slow_poll = fast().poll(Duration::from_secs(3));
    for (name, inputs) in [("early", vec!["first"]), ("empty", vec![])] {
        let worker = {
            let q = queue(&url, name, slow_poll).await;
            tokio::spawn(async move {
                let mut items = q.items_as("W");
                let first = items.next().await.map(|item| item.unwrap());
                (first.map(|item| item.input().to_string()), Instant::now())
            })
        };
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(!worker.is_finished(), "{name}: the worker did not wait");
        let pusher = queue(&url, name, slow_poll).await;
        let pushed = Instant::now();
        if inputs.is_empty() {
            // An empty push makes the queue without an input; the close is what wakes.
            pusher.push(Vec::<String>::new()).await.unwrap();
            pusher.close().await.unwrap();
        } else {
            pusher.push(inputs.clone()).await.unwrap();
        }
        let (first, at) = tokio::time::timeout(Duration::from_secs(10), worker)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(first.as_deref(), inputs.first().copied(), "{name}");
        let after = at.saturating_duration_since(pushed);
        assert!(
            after < Duration::from_millis(500),
            "{name}: started {after:?} after the push"
        );
    }
}

/// A push to a closed queue is refused with an error of its own, which says so; a push of
/// inputs it holds already (a rerun of the same push) is not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_to_a_closed_queue_is_refused_and_says_so() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let q = queue(&url, "shut", fast()).await;
    q.push(["a", "b"]).await.unwrap();
    q.close().await.unwrap();
    let again = q.push(["a", "b"]).await.unwrap();
    assert_eq!((again.added, again.skipped), (0, 2));
    let refused = q.push(["a", "b", "c"]).await.unwrap_err();
    assert!(
        matches!(&refused, Error::QueueClosed { queue } if queue == "shut"),
        "{refused:?}"
    );
    assert_eq!(
        refused.to_string(),
        "the queue shut is closed: no more inputs can be pushed to it"
    );
}
