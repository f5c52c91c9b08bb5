//! The global concurrency limit against a real redis-server.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use inflight_redis::{GlobalLimit, LimitOptions, Redis, RedisEvent};

fn fast() -> LimitOptions {
    LimitOptions::default()
        .lease(Duration::from_secs(2))
        .poll(Duration::from_millis(300))
}

/// Counts jobs running at once and remembers the peak.
#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    peak: AtomicUsize,
    done: AtomicUsize,
}

impl Gauge {
    fn enter(&self) {
        let n = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(n, Ordering::SeqCst);
    }
    fn leave(&self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
        self.done.fetch_add(1, Ordering::SeqCst);
    }
}

/// `clients` processes' worth of connections, `tasks` each, `rounds` jobs per task.
async fn hammer(
    url: &str,
    name: &str,
    limit: u64,
    clients: usize,
    tasks: usize,
    rounds: usize,
) -> Arc<Gauge> {
    let gauge = Arc::new(Gauge::default());
    let mut handles = Vec::new();
    for _ in 0..clients {
        let redis = Redis::connect(url).await.unwrap();
        let limit = GlobalLimit::with_options(&redis, name, limit, fast());
        for t in 0..tasks {
            let limit = limit.clone();
            let gauge = gauge.clone();
            handles.push(tokio::spawn(async move {
                for r in 0..rounds {
                    let permit = limit.acquire(None).await.unwrap();
                    gauge.enter();
                    tokio::time::sleep(Duration::from_millis(2 + ((t + r) % 5) as u64)).await;
                    gauge.leave();
                    drop(permit);
                }
            }));
        }
    }
    for h in handles {
        h.await.unwrap();
    }
    gauge
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_limit_is_reached_and_never_exceeded_by_several_clients() {
    let Some(server) = common::server() else {
        return;
    };
    let gauge = hammer(&server.url(), "reach", 5, 3, 6, 15).await;
    assert_eq!(gauge.done.load(Ordering::SeqCst), 3 * 6 * 15);
    assert_eq!(
        gauge.peak.load(Ordering::SeqCst),
        5,
        "peak must be exactly the limit"
    );
    // Every place comes back: the drops' background releases land.
    let redis = Redis::connect(&server.url()).await.unwrap();
    let limit = GlobalLimit::new(&redis, "reach", 5);
    let mut state = limit.state().await.unwrap();
    for _ in 0..50 {
        if state.held == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        state = limit.state().await.unwrap();
    }
    assert_eq!((state.held, state.waiting), (0, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_are_served_in_arrival_order_across_clients() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let redis = Redis::connect(&url).await.unwrap();
    let limit = GlobalLimit::with_options(&redis, "fifo", 1, fast());
    let holder = limit.acquire(None).await.unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut handles = Vec::new();
    for i in 0..6 {
        // each waiter its own client, as if each were a process of its own
        let redis = Redis::connect(&url).await.unwrap();
        let mine = GlobalLimit::with_options(&redis, "fifo", 1, fast());
        let order = order.clone();
        handles.push(tokio::spawn(async move {
            let permit = mine.acquire(None).await.unwrap();
            order.lock().unwrap().push(i);
            tokio::time::sleep(Duration::from_millis(10)).await;
            permit.release().await.unwrap();
        }));
        // the next one arrives only once this one is queued
        while limit.state().await.unwrap().waiting < i + 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    holder.release().await.unwrap();
    for h in handles {
        h.await.unwrap();
    }
    assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4, 5]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_wakes_the_next_waiter_without_waiting_for_its_poll() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    // A poll of 10 s: only the BLPOP wake-up can explain a quick grant.
    let slow_poll = LimitOptions::default().poll(Duration::from_secs(10));
    let a = GlobalLimit::with_options(&Redis::connect(&url).await.unwrap(), "wake", 1, slow_poll);
    let b = GlobalLimit::with_options(&Redis::connect(&url).await.unwrap(), "wake", 1, slow_poll);
    let held = a.acquire(None).await.unwrap();
    let waiter = tokio::spawn(async move {
        let p = b.acquire(None).await.unwrap();
        (Instant::now(), p)
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let calls_before = evalsha_calls(&server);
    let released_at = Instant::now();
    held.release().await.unwrap();
    let (granted_at, _p) = waiter.await.unwrap();
    let latency = granted_at - released_at;
    assert!(
        latency < Duration::from_millis(300),
        "woken after {latency:?}"
    );
    // The waiter slept in BLPOP meanwhile: a handful of script calls, not a polling loop.
    assert!(evalsha_calls(&server) - calls_before <= 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wake_up_that_comes_before_the_waiter_is_queued_is_not_lost() {
    let Some(server) = common::server() else {
        return;
    };
    // Each permit is dropped (released in the background) and the next acquire starts at
    // once, so the release's wake-up token often reaches this process's hub while the
    // acquire's reply is still on its way. With a poll of 10 s, one dropped token would
    // hold the loop for seconds.
    let slow_poll = LimitOptions::default().poll(Duration::from_secs(10));
    let redis = Redis::connect(&server.url()).await.unwrap();
    let limit = GlobalLimit::with_options(&redis, "early-wake", 1, slow_poll);
    let started = Instant::now();
    for _ in 0..40 {
        drop(limit.acquire(None).await.unwrap());
    }
    let took = started.elapsed();
    assert!(took < Duration::from_secs(8), "40 acquires took {took:?}");
}

fn evalsha_calls(server: &common::Server) -> u64 {
    let stats = server.info("commandstats");
    stats
        .get("cmdstat_evalsha")
        .and_then(|v| v.split(',').next())
        .and_then(|c| c.strip_prefix("calls="))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn flush_waits_for_the_releases_that_drops_started() {
    let Some(server) = common::server() else {
        return;
    };
    let redis = Redis::connect(&server.url()).await.unwrap();
    let limit = GlobalLimit::with_options(&redis, "flush", 8, fast());
    let permits: Vec<_> = futures::future::join_all((0..8).map(|_| limit.acquire(None)))
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    assert_eq!(limit.state().await.unwrap().held, 8);
    drop(permits); // eight releases in the background
    assert!(redis.flush(Duration::from_secs(5)).await);
    assert_eq!(
        limit.state().await.unwrap().held,
        0,
        "flush returned before the releases were done"
    );
    assert!(redis.flush(Duration::from_millis(1)).await, "nothing left");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_acquire_and_release_without_waiting_cost_two_round_trips() {
    let Some(server) = common::server() else {
        return;
    };
    let redis = Redis::connect(&server.url()).await.unwrap();
    let limit = GlobalLimit::with_options(&redis, "trips", 4, fast());
    limit.acquire(None).await.unwrap().release().await.unwrap(); // scripts loaded
    let before = redis.round_trips();
    for _ in 0..10 {
        limit.acquire(None).await.unwrap().release().await.unwrap();
    }
    assert_eq!(redis.round_trips() - before, 20);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_holders_permits_come_back_within_one_lease() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let (mut child, mut out) = common::child("hold", &url, &["killed", "3"]);
    common::wait_line(&mut out, "READY");
    let redis = Redis::connect(&url).await.unwrap();
    let limit = GlobalLimit::with_options(&redis, "killed", 3, fast());
    assert_eq!(limit.state().await.unwrap().held, 3);
    let killed = Instant::now();
    common::kill9(&mut child);
    let mut permits = Vec::new();
    for _ in 0..3 {
        permits.push(limit.acquire(None).await.unwrap());
    }
    let back = killed.elapsed();
    assert!(
        back <= fast().lease_time() + Duration::from_secs(1),
        "back after {back:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_holder_that_lives_keeps_its_permits_past_many_leases() {
    let Some(server) = common::server() else {
        return;
    };
    let redis = Redis::connect(&server.url()).await.unwrap();
    let opts = LimitOptions::default().lease(Duration::from_millis(600));
    let limit = GlobalLimit::with_options(&redis, "renewed", 1, opts);
    let permit = limit.acquire(None).await.unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await; // over three leases
    assert!(limit.try_acquire().await.unwrap().is_none());
    assert!(!permit.is_lost());
    assert!(permit.release().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn release_never_frees_someone_elses_permit_and_double_release_is_a_no_op() {
    let Some(server) = common::server() else {
        return;
    };
    let redis = Redis::connect(&server.url()).await.unwrap();
    let limit = GlobalLimit::with_options(&redis, "owners", 1, fast());
    let a = limit.acquire(None).await.unwrap();
    let a_token = a.token().to_string();
    // a forged token, and a token that looks like ours but is not
    assert!(!limit.release_token("0123456789abcdef:0").await.unwrap());
    assert!(!limit.release_token(&format!("{a_token}x")).await.unwrap());
    assert_eq!(limit.state().await.unwrap().held, 1);
    assert!(a.release().await.unwrap());
    // the same token again: nothing left to free
    assert!(!limit.release_token(&a_token).await.unwrap());
    let b = limit.acquire(None).await.unwrap();
    // A's old token cannot free B's place
    assert!(!limit.release_token(&a_token).await.unwrap());
    assert_eq!(limit.state().await.unwrap().held, 1);
    assert!(limit.try_acquire().await.unwrap().is_none());
    drop(b);
}

/// A holder whose process stalls (here: its runtime's only thread blocked) for longer than a
/// lease loses its permit to a waiter; when it resumes, its permit says it is lost, a
/// PermitLost event is reported, the job itself goes on (the limit is exceeded by it for its
/// remaining time), and its late release does not free the waiter's permit.
#[test]
fn a_stalled_holder_loses_its_permit_to_a_waiter_and_is_told() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let events = Arc::new(Mutex::new(Vec::new()));
    let (tx_held, rx_held) = std::sync::mpsc::channel();
    let (tx_go, rx_go) = std::sync::mpsc::channel::<()>();
    let holder_events = events.clone();
    let holder_url = url.clone();
    let holder = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let redis = Redis::builder(&holder_url)
                .on_event(move |e| holder_events.lock().unwrap().push(e.clone()))
                .connect()
                .await
                .unwrap();
            let limit = GlobalLimit::with_options(&redis, "stalled", 1, fast());
            let permit = limit.acquire(None).await.unwrap();
            tx_held.send(()).unwrap();
            // The stall: nothing on this runtime runs, the renewer included.
            std::thread::sleep(Duration::from_secs(3));
            rx_go.recv().unwrap();
            // Back: the renewer's next round finds the lease gone and the place taken.
            let deadline = Instant::now() + Duration::from_secs(3);
            while !permit.is_lost() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            let lost = permit.is_lost();
            let released = permit.release().await.unwrap();
            (lost, released)
        })
    });
    rx_held.recv().unwrap();
    let rt = common::runtime();
    rt.block_on(async {
        let redis = Redis::connect(&url).await.unwrap();
        let limit = GlobalLimit::with_options(&redis, "stalled", 1, fast());
        let started = Instant::now();
        let mine = limit.acquire(None).await.unwrap();
        assert!(started.elapsed() <= fast().lease_time() + Duration::from_secs(1));
        tx_go.send(()).unwrap();
        let (lost, released) = tokio::task::spawn_blocking(move || holder.join().unwrap())
            .await
            .unwrap();
        assert!(lost, "the stalled holder's permit must say it is lost");
        assert!(!released, "its late release frees nothing");
        assert_eq!(
            limit.state().await.unwrap().held,
            1,
            "the waiter keeps its place"
        );
        assert!(!mine.is_lost());
        let limit_name = "stalled".to_string();
        assert!(events
            .lock()
            .unwrap()
            .contains(&RedisEvent::PermitLost { limit: limit_name }));
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_limit_change_applies_to_every_client() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let a = GlobalLimit::with_options(&Redis::connect(&url).await.unwrap(), "live", 2, fast());
    let b = GlobalLimit::with_options(&Redis::connect(&url).await.unwrap(), "live", 2, fast());
    let mut held = vec![
        a.acquire(None).await.unwrap(),
        a.acquire(None).await.unwrap(),
    ];
    let waiting = tokio::spawn({
        let a = a.clone();
        async move { a.acquire(None).await.unwrap() }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    // raised from another client: the waiter is woken at once
    let raised = Instant::now();
    b.set_limit(4).await.unwrap();
    held.push(waiting.await.unwrap());
    assert!(
        raised.elapsed() < Duration::from_secs(1),
        "{:?}",
        raised.elapsed()
    );
    held.push(b.acquire(None).await.unwrap());
    assert!(b.try_acquire().await.unwrap().is_none());
    assert_eq!(a.state().await.unwrap().limit, 4);
    assert_eq!(a.stored_limit().await.unwrap(), Some(4));
    // lowered: nothing is revoked, new ones wait until the holders are under the new limit
    a.set_limit(1).await.unwrap();
    for p in held.drain(..3) {
        p.release().await.unwrap();
    }
    assert!(
        b.try_acquire().await.unwrap().is_none(),
        "one held, limit 1"
    );
    held.pop().unwrap().release().await.unwrap();
    let one = b.try_acquire().await.unwrap().expect("room for one");
    // cleared: back to each client's own limit (2)
    a.clear_limit().await.unwrap();
    assert_eq!(b.stored_limit().await.unwrap(), None);
    let two = b.try_acquire().await.unwrap().expect("room for two");
    assert!(b.try_acquire().await.unwrap().is_none());
    drop((one, two));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_waiter_leaves_the_queue() {
    let Some(server) = common::server() else {
        return;
    };
    let redis = Redis::connect(&server.url()).await.unwrap();
    let limit = GlobalLimit::with_options(&redis, "cancel", 1, fast());
    let held = limit.acquire(None).await.unwrap();
    let r = tokio::time::timeout(Duration::from_millis(200), limit.acquire(None)).await;
    assert!(r.is_err());
    let cleared = async {
        while limit.state().await.unwrap().waiting > 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(1), cleared)
        .await
        .unwrap();
    // and its place in the queue does not hold up the next one
    held.release().await.unwrap();
    let next = tokio::time::timeout(Duration::from_millis(500), limit.acquire(None)).await;
    assert!(next.is_ok());
}

/// The test binary's entry point when run as a child by `common::child`.
#[test]
fn child_entry() {
    let Some((role, url, args)) = common::child_role() else {
        return;
    };
    let rt = common::runtime();
    rt.block_on(async move {
        let redis = Redis::connect(&url).await.unwrap();
        match role.as_str() {
            "hold" => {
                let n: u64 = args[1].parse().unwrap();
                let limit = GlobalLimit::with_options(&redis, &args[0], n, fast());
                let mut permits = Vec::new();
                for _ in 0..n {
                    permits.push(limit.acquire(None).await.unwrap());
                }
                println!("READY");
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
            other => panic!("unknown child role {other}"),
        }
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_limit_of_zero_pauses_and_a_raise_resumes() {
    let Some(server) = common::server() else {
        return;
    };
    let url = server.url();
    let a = GlobalLimit::with_options(&Redis::connect(&url).await.unwrap(), "pause", 2, fast());
    let b = GlobalLimit::with_options(&Redis::connect(&url).await.unwrap(), "pause", 2, fast());
    let held = a.acquire(None).await.unwrap();
    a.set_limit(0).await.unwrap();
    // Nothing is granted, in any process, while the limit is 0; the holder keeps its place.
    let waiting = tokio::spawn(async move { b.acquire(None).await.unwrap() });
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert!(!waiting.is_finished(), "granted while paused");
    assert!(!held.is_lost());
    a.set_limit(2).await.unwrap();
    let granted = tokio::time::timeout(Duration::from_secs(2), waiting)
        .await
        .expect("the raise resumes the waiter")
        .unwrap();
    drop((held, granted));
}
