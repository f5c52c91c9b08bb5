//! `inflight dashboard` on a real redis-server with real workers: the page in headless
//! Chromium (Playwright), its JSON, and its `/metrics` through prometheus_client's parser.
mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::http;
use common::procs::{spawn, Proc};
use common::python;
use serde_json::Value;

/// 300 inputs; every 37th a URL with a password, which the job fails on.
fn inputs() -> String {
    (1..=300)
        .map(|i| {
            if i % 37 == 0 {
                format!("http://alice:s3cret@127.0.0.1:1/fail-{i}\n")
            } else {
                format!("item-{i}\n")
            }
        })
        .collect()
}

/// A worker: 4 jobs at once, under the shared limit `q` of 6; 40 ms a job; "fail" inputs
/// exit 3.
fn worker(url: &str, queue: &str, dir: &Path, tag: &str) -> Proc {
    let args = [
        "exec",
        "--queue",
        queue,
        "--redis",
        url,
        "-j",
        "4",
        "--global-jobs",
        "6",
        "--",
        "sh",
        "-c",
        r#"case "$1" in *fail*) exit 3;; esac; sleep 0.04"#,
        "_",
        "{}",
    ];
    spawn(&args, dir, tag, None, &[])
}

/// The dashboard on a free port; its address.
fn dashboard(url: &str, dir: &Path, extra: &[&str]) -> (Proc, String) {
    let mut args = vec![
        "dashboard",
        "--listen",
        "127.0.0.1:0",
        "--interval",
        "300ms",
        "--redis",
        url,
    ];
    args.extend(extra);
    let proc = spawn(&args, dir, "dashboard", None, &[]);
    let addr = http::address_in(|| proc.stderr(), "dashboard on");
    (proc, addr)
}

/// `queue status NAME --json`, parsed.
fn status(url: &str, queue: &str) -> Value {
    let r = common::run(
        &[
            "queue",
            "status",
            queue,
            "--json",
            "--interval",
            "100ms",
            "--redis",
            url,
        ],
        None,
    );
    assert_eq!(r.code(), 0, "{r:?}");
    serde_json::from_str(r.stdout.trim()).unwrap()
}

const COUNTERS: [&str; 6] = ["pushed", "waiting", "in_flight", "done", "failed", "dead"];

/// A worker that stopped sending heartbeats two minutes ago, still holding an input.
fn ghost(server: &common::redis::Server, queue: &str) {
    let (secs, micros): (String, String) = {
        let t: Vec<String> = server.query(&["TIME"]);
        (t[0].clone(), t[1].clone())
    };
    let now_ms: u64 = secs.parse::<u64>().unwrap() * 1000 + micros.parse::<u64>().unwrap() / 1000;
    let key = format!("inflight:queue:{{{queue}}}:workers");
    let _: i64 = server.query(&["HSET", &key, "ghost", &(now_ms - 120_000).to_string()]);
}

#[test]
fn the_page_follows_a_run_to_its_end_masks_passwords_and_asks_only_its_own_server() {
    let Some(server) = common::redis::server() else {
        return;
    };
    let Some(python) = python::with("playwright") else {
        return;
    };
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let push = common::run(&["queue", "push", "jobs", "--redis", &url], Some(&inputs()));
    assert_eq!(push.code(), 0, "{push:?}");
    ghost(&server, "jobs");
    let (mut dash, addr) = dashboard(&url, dir.path(), &[]);
    let base = format!("http://{addr}");

    let shot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    let mut page = Command::new(&python)
        .arg(python::script("dashboard_page.py"))
        .args([&format!("{base}/"), "jobs", shot.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run the Playwright script");
    let mut out = BufReader::new(page.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert!(
        line.starts_with("READY "),
        "the page did not load: {line:?}"
    );
    let first: Value = serde_json::from_str(&line["READY ".len()..]).unwrap();
    assert_eq!(
        (first["pushed"].as_u64(), first["done"].as_u64()),
        (Some(300), Some(0))
    );

    // The workers start only now: everything the page shows next came without a reload.
    let workers = [
        worker(&url, "jobs", dir.path(), "w1"),
        worker(&url, "jobs", dir.path(), "w2"),
    ];
    // Each exits with the number of its failures: 8 in all.
    let failed: i32 = workers
        .into_iter()
        .map(|w| w.wait(Duration::from_secs(120)).code)
        .sum();
    assert_eq!(failed, 8);
    line.clear();
    out.read_line(&mut line).unwrap();
    assert!(
        page.wait().unwrap().success(),
        "the Playwright script failed"
    );
    let seen: Value = serde_json::from_str(&line).expect("the script's report");

    // The numbers moved, without a reload, and ended on `queue status --json`'s.
    assert_eq!(
        seen["navigations"].as_array().unwrap().len(),
        1,
        "the page was reloaded: {}",
        seen["navigations"]
    );
    let done_seen: Vec<u64> = seen["seen_done"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert!(
        done_seen.len() >= 3,
        "the numbers did not follow the run: {done_seen:?}"
    );
    assert!(done_seen.windows(2).all(|w| w[0] < w[1]), "{done_seen:?}");
    let expected = status(&url, "jobs");
    for field in COUNTERS {
        assert_eq!(
            seen["final"][field], expected[field],
            "{field}: page {} vs status {expected}",
            seen["final"]
        );
    }
    assert_eq!(seen["final"]["state"], "finished");
    assert_eq!(
        (expected["done"].as_u64(), expected["failed"].as_u64()),
        (Some(292), Some(8))
    );

    // A failure shows with its error, and without the URL's password, anywhere on the page.
    let failures = seen["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 8, "{failures:?}");
    let fail_37 = failures
        .iter()
        .find(|row| row[0] == "37")
        .expect("input 37's failure");
    assert_eq!(fail_37[1], "http://alice:***@127.0.0.1:1/fail-37");
    assert_eq!(fail_37[2], "exit status 3");
    assert!(
        !seen["text"].as_str().unwrap().contains("s3cret"),
        "a password on the page"
    );
    // The silent worker stands out; the shared limit is there with its limit.
    assert_eq!(seen["stale"], serde_json::json!(["ghost"]));
    let limits = seen["limits"].as_array().unwrap();
    assert!(
        limits.iter().any(|row| row[0] == "jobs" && row[1] == "6"),
        "{limits:?}"
    );

    // No request left this server.
    let requests = seen["requests"].as_array().unwrap();
    assert!(requests.len() >= 3, "{requests:?}");
    for r in requests {
        assert!(
            r.as_str().unwrap().starts_with(&format!("{base}/")),
            "a request elsewhere: {r}"
        );
    }
    let size = std::fs::metadata(&shot).map(|m| m.len()).unwrap_or(0);
    assert!(size > 10_000, "no screenshot at {}", shot.display());
    dash.kill9();
}

#[test]
fn the_json_and_metrics_end_on_the_queue_status_and_the_server_only_reads() {
    let Some(server) = common::redis::server() else {
        return;
    };
    let Some(python) = python::with("prometheus_client") else {
        return;
    };
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let push = common::run(&["queue", "push", "jobs", "--redis", &url], Some(&inputs()));
    assert_eq!(push.code(), 0, "{push:?}");
    let (mut dash, addr) = dashboard(&url, dir.path(), &["jobs"]);
    let metrics = |addr: &str| {
        let (code, head, body) = http::get(addr, "/metrics");
        assert_eq!(code, 200, "{head}");
        assert!(head.contains("application/openmetrics-text"), "{head}");
        python::parse_metrics(&python, &body)
    };
    let queue = [("queue", "jobs")];
    let wait = Instant::now();
    let before = loop {
        let m = metrics(&addr);
        if python::sample(&m, "inflight_queue_pushed_total", &queue) == Some(300.0) {
            break m;
        }
        assert!(wait.elapsed() < Duration::from_secs(10), "no reading");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(before["families"]["inflight_queue_done"], "counter");
    assert_eq!(before["families"]["inflight_queue_waiting"], "gauge");
    assert_eq!(
        python::sample(&before, "inflight_queue_done_total", &queue),
        Some(0.0)
    );

    let w = worker(&url, "jobs", dir.path(), "w1");
    // During the run the counters move.
    let wait = Instant::now();
    loop {
        let m = metrics(&addr);
        let done = python::sample(&m, "inflight_queue_done_total", &queue).unwrap();
        if done > 0.0 && done < 292.0 {
            assert!(python::sample(&m, "inflight_queue_workers", &queue).unwrap() >= 1.0);
            assert_eq!(
                python::sample(&m, "inflight_limit_limit", &[("limit", "jobs")]),
                Some(6.0)
            );
            break;
        }
        assert!(
            wait.elapsed() < Duration::from_secs(30),
            "done did not move: {done}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(w.wait(Duration::from_secs(120)).code, 8);

    // At the end /api/status and /metrics say what `queue status --json` says.
    let expected = status(&url, "jobs");
    let wait = Instant::now();
    let api = loop {
        let (code, _, body) = http::get(&addr, "/api/status");
        assert_eq!(code, 200);
        let v: Value = serde_json::from_str(&body).unwrap();
        if v["queues"][0]["finished"] == true {
            break v;
        }
        assert!(wait.elapsed() < Duration::from_secs(5), "not finished: {v}");
        std::thread::sleep(Duration::from_millis(100));
    };
    let q = &api["queues"][0];
    for field in COUNTERS.iter().chain(&["closed", "finished"]) {
        assert_eq!(q[field], expected[field], "{field}");
    }
    assert!(!api.to_string().contains("s3cret"), "{api}");
    assert_eq!(
        q["failures"][0]["input"],
        "http://alice:***@127.0.0.1:1/fail-296"
    );
    let m = metrics(&addr);
    for (field, name) in [
        ("done", "inflight_queue_done_total"),
        ("failed", "inflight_queue_failed_total"),
        ("waiting", "inflight_queue_waiting"),
    ] {
        assert_eq!(
            python::sample(&m, name, &queue),
            expected[field].as_f64(),
            "{name}"
        );
    }
    let (_, _, history) = http::get(&addr, "/api/history");
    let history: Value = serde_json::from_str(&history).unwrap();
    assert!(
        history["queues"]["jobs"].as_array().unwrap().len() >= 2,
        "{history}"
    );

    // Read-only, and only for loopback names.
    assert_eq!(http::request("POST", &addr, "/api/status", &addr).0, 405);
    assert_eq!(http::request("DELETE", &addr, "/", &addr).0, 405);
    assert_eq!(
        http::request("GET", &addr, "/api/status", "evil.example:80").0,
        403
    );
    assert_eq!(http::request("GET", &addr, "/", "localhost").0, 200);
    let (code, head, page) = http::get(&addr, "/");
    assert_eq!(code, 200);
    assert!(
        head.to_ascii_lowercase()
            .contains("content-security-policy: default-src 'none'"),
        "{head}"
    );
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "the page names another host"
    );
    dash.kill9();
}

#[test]
fn a_bad_listen_address_or_interval_is_a_one_line_error() {
    let r = common::run(
        &[
            "dashboard",
            "--listen",
            "nowhere:x",
            "--redis",
            "redis://127.0.0.1:1",
        ],
        None,
    );
    assert_eq!(r.code(), 255, "{r:?}");
    let r = common::run(
        &[
            "dashboard",
            "--interval",
            "1ms",
            "--redis",
            "redis://127.0.0.1:1",
        ],
        None,
    );
    common::assert_usage_error(&r);
}

#[test]
fn with_redis_away_the_page_says_so_keeps_the_last_reading_and_comes_back() {
    let Some(mut server) = common::redis::server() else {
        return;
    };
    let url = server.url();
    let dir = tempfile::tempdir().unwrap();
    let push = common::run(&["queue", "push", "jobs", "--redis", &url], Some("a\nb\n"));
    assert_eq!(push.code(), 0, "{push:?}");
    let (mut dash, addr) = dashboard(&url, dir.path(), &[]);
    let status =
        |addr: &str| -> Value { serde_json::from_str(&http::get(addr, "/api/status").2).unwrap() };
    let redis_up = |addr: &str| {
        let text = http::get(addr, "/metrics").2;
        text.lines().find_map(|l| {
            l.strip_prefix("inflight_dashboard_redis_up ")
                .map(str::to_string)
        })
    };
    assert!(common::wait_for(Duration::from_secs(10), || status(&addr)
        ["queues"][0]["pushed"]
        == 2));
    assert_eq!(redis_up(&addr).as_deref(), Some("1"));

    server.kill9();
    assert!(
        common::wait_for(Duration::from_secs(15), || !status(&addr)["error"]
            .is_null()),
        "no error said with Redis gone"
    );
    let away = status(&addr);
    assert_eq!(
        away["queues"][0]["pushed"], 2,
        "the last reading is kept: {away}"
    );
    assert_eq!(redis_up(&addr).as_deref(), Some("0"));

    server.start();
    assert!(
        common::wait_for(Duration::from_secs(20), || status(&addr)["error"].is_null()),
        "the dashboard did not come back with Redis"
    );
    assert_eq!(redis_up(&addr).as_deref(), Some("1"));
    dash.kill9();
}
