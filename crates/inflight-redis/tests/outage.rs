//! Redis away, restarted with or without its data, or refusing us: limits wait, never run
//! over, and say so once; bad settings are one-line errors.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use inflight_redis::{Error, GlobalLimit, LimitOptions, Redis, RedisEvent};

fn fast() -> LimitOptions {
    LimitOptions::default()
        .lease(Duration::from_secs(2))
        .poll(Duration::from_millis(300))
}

#[derive(Default)]
struct Gauge {
    now: AtomicUsize,
    peak: AtomicUsize,
    done: AtomicUsize,
}

/// Three clients of a limit of 4 run jobs for `run` while `disturb` does something to the
/// server; returns the peak, the jobs done, and each client's events.
async fn run_through(
    server: common::Server,
    run: Duration,
    disturb: impl FnOnce(&mut common::Server) + Send + 'static,
) -> (usize, usize, Vec<Vec<RedisEvent>>, common::Server) {
    let url = server.url();
    let gauge = Arc::new(Gauge::default());
    let mut handles = Vec::new();
    let mut logs = Vec::new();
    for _ in 0..3 {
        let log = Arc::new(Mutex::new(Vec::new()));
        logs.push(log.clone());
        let redis = Redis::builder(&url)
            .response_timeout(Duration::from_millis(500))
            .on_event(move |e| log.lock().unwrap().push(e.clone()))
            .connect()
            .await
            .unwrap();
        let limit = GlobalLimit::with_options(&redis, "restart", 4, fast());
        for t in 0..4 {
            let limit = limit.clone();
            let gauge = gauge.clone();
            handles.push(tokio::spawn(async move {
                let end = Instant::now() + run;
                while Instant::now() < end {
                    let permit = limit.acquire(None).await.unwrap();
                    let n = gauge.now.fetch_add(1, Ordering::SeqCst) + 1;
                    gauge.peak.fetch_max(n, Ordering::SeqCst);
                    // long enough that jobs hold their permits across the restart
                    tokio::time::sleep(Duration::from_millis(500 + 250 * t)).await;
                    gauge.now.fetch_sub(1, Ordering::SeqCst);
                    gauge.done.fetch_add(1, Ordering::SeqCst);
                    drop(permit);
                }
            }));
        }
    }
    let server = tokio::task::spawn_blocking(move || {
        let mut server = server;
        std::thread::sleep(Duration::from_millis(800));
        disturb(&mut server);
        server
    })
    .await
    .unwrap();
    for h in handles {
        h.await.unwrap();
    }
    let logs = logs.iter().map(|l| l.lock().unwrap().clone()).collect();
    (
        gauge.peak.load(Ordering::SeqCst),
        gauge.done.load(Ordering::SeqCst),
        logs,
        server,
    )
}

fn downs_and_ups(events: &[RedisEvent]) -> (usize, usize) {
    let downs = events
        .iter()
        .filter(|e| matches!(e, RedisEvent::Down { .. }))
        .count();
    let ups = events
        .iter()
        .filter(|e| matches!(e, RedisEvent::Up { .. }))
        .count();
    (downs, ups)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_that_loses_the_data_never_runs_over_the_limit() {
    let Some(server) = common::server() else {
        return;
    };
    let (peak, done, logs, server) = run_through(server, Duration::from_secs(7), |s| {
        s.stop();
        s.wipe();
        s.start();
    })
    .await;
    eprintln!("peak {peak}, {done} jobs");
    assert!(peak <= 4, "peak {peak} over the limit of 4");
    assert!(done > 12, "only {done} jobs: the run did not go on");
    for events in &logs {
        // said once when it went, once when it came back
        assert_eq!(downs_and_ups(events), (1, 1), "{events:?}");
    }
    // The holders put their permits back; the rest of the run was under the limit again.
    let redis = Redis::connect(&server.url()).await.unwrap();
    let state = GlobalLimit::new(&redis, "restart", 4)
        .state()
        .await
        .unwrap();
    assert!(state.held <= 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_with_appendonly_keeps_every_permit() {
    let Some(server) = common::server_with(common::Config {
        appendonly: true,
        ..Default::default()
    }) else {
        return;
    };
    let (peak, done, logs, _server) = run_through(server, Duration::from_secs(5), |s| {
        s.kill9();
        std::thread::sleep(Duration::from_millis(500));
        s.start();
    })
    .await;
    assert!(peak <= 4, "peak {peak}");
    assert!(done > 12, "only {done} jobs");
    for events in &logs {
        assert_eq!(downs_and_ups(events), (1, 1), "{events:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_losing_its_data_redis_gets_the_held_permits_back_before_granting_new_ones() {
    let Some(mut server) = common::server() else {
        return;
    };
    let url = server.url();
    let holder =
        GlobalLimit::with_options(&Redis::connect(&url).await.unwrap(), "relost", 2, fast());
    let a = holder.acquire(None).await.unwrap();
    let b = holder.acquire(None).await.unwrap();
    // Another process that has used the limit before the loss (so it knows its epoch).
    let other =
        GlobalLimit::with_options(&Redis::connect(&url).await.unwrap(), "relost", 2, fast());
    assert!(other.try_acquire().await.unwrap().is_none());
    server = tokio::task::spawn_blocking(move || {
        server.restart(false);
        server
    })
    .await
    .unwrap();
    // It asks at once, before the holder's renewer has run: it must wait for the holders
    // to re-register, then for one of them to finish.
    let waiting = tokio::spawn(async move { other.acquire(None).await.unwrap() });
    // the holder's renewer puts both permits back within a renewal period
    let back = common::eventually(Duration::from_secs(3), || {
        let held: Vec<String> =
            server.query(&["ZRANGE", "inflight:limit:{relost}:holders", "0", "-1"]);
        held.len() == 2
    });
    assert!(back.is_some(), "permits not re-registered");
    tokio::time::sleep(Duration::from_millis(2500)).await; // past the grace period too
    assert!(
        !waiting.is_finished(),
        "granted over two re-registered holders"
    );
    assert!(!a.is_lost() && !b.is_lost());
    drop(a);
    let _c = tokio::time::timeout(Duration::from_secs(3), waiting)
        .await
        .unwrap()
        .unwrap();
    drop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_outage_becomes_an_error_after_the_outage_timeout() {
    let Some(mut server) = common::server() else {
        return;
    };
    let events = Arc::new(Mutex::new(Vec::new()));
    let log = events.clone();
    let redis = Redis::builder(&server.url())
        .outage_timeout(Some(Duration::from_secs(1)))
        .on_event(move |e| log.lock().unwrap().push(e.clone()))
        .connect()
        .await
        .unwrap();
    let limit = GlobalLimit::with_options(&redis, "timeout", 1, fast());
    drop(limit.acquire(None).await.unwrap());
    server.stop();
    let started = Instant::now();
    let err = limit.acquire(None).await.unwrap_err();
    let took = started.elapsed();
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(4),
        "{took:?}"
    );
    let line = err.to_string();
    assert!(
        line.starts_with("Redis at redis://127.0.0.1:") && !line.contains('\n'),
        "{line}"
    );
    assert!(matches!(
        redis.health(),
        inflight_redis::Health::Down { .. }
    ));
    let downs = events
        .lock()
        .unwrap()
        .iter()
        .filter(|e| matches!(e, RedisEvent::Down { .. }))
        .count();
    assert_eq!(downs, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_url_is_a_one_line_error() {
    for url in ["http://127.0.0.1:6379", "redis://[::1", "not a url"] {
        let err = Redis::connect(url).await.unwrap_err();
        assert!(matches!(err, Error::BadUrl { .. }), "{url}: {err:?}");
        assert!(!err.to_string().contains('\n'));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_is_a_one_line_error_that_hides_the_password() {
    let Some(server) = common::server_with(common::Config {
        password: Some("right".into()),
        ..Default::default()
    }) else {
        return;
    };
    let url = format!("redis://:wrong@127.0.0.1:{}", server.port);
    let err = Redis::connect(&url).await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    let line = err.to_string();
    assert!(
        !line.contains("wrong") && line.contains("***") && !line.contains('\n'),
        "{line}"
    );
    // and no password at all
    let url = format!("redis://127.0.0.1:{}", server.port);
    let err = Redis::connect(&url).await.unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
    // the right one works
    Redis::connect(&server.url()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connecting_to_nothing_waits_then_fails_with_the_outage_timeout() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let started = Instant::now();
    let err = Redis::builder(&format!("redis://127.0.0.1:{port}"))
        .outage_timeout(Some(Duration::from_millis(600)))
        .connect()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unreachable { .. }), "{err:?}");
    assert!(started.elapsed() >= Duration::from_millis(600));
}
