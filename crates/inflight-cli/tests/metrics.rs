//! `--metrics` on `exec` and `fetch`: `/metrics` read during a run, parsed by
//! prometheus_client's own parser, its counters moving.
mod common;

use std::time::{Duration, Instant};

use common::http;
use common::procs::spawn;
use common::python;

/// Scrapes `/metrics` at `addr` and parses it.
fn scrape(python: &std::path::PathBuf, addr: &str) -> serde_json::Value {
    let (code, head, body) = http::get(addr, "/metrics");
    assert_eq!(code, 200, "{head}");
    assert!(head.contains("application/openmetrics-text"), "{head}");
    python::parse_metrics(python, &body)
}

#[test]
fn exec_metrics_count_jobs_by_outcome_while_the_run_goes_on() {
    let Some(python) = python::with("prometheus_client") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // 60 jobs of 100 ms, 2 at once (3 s); every 10th fails.
    let input: String = (1..=60).map(|i| format!("{i}\n")).collect();
    let script = r#"case "$1" in *0) exit 4;; esac; sleep 0.1"#;
    let run = spawn(
        &[
            "exec",
            "-j",
            "2",
            "--metrics",
            "127.0.0.1:0",
            "--",
            "sh",
            "-c",
            script,
            "_",
            "{}",
        ],
        dir.path(),
        "exec",
        Some(input),
        &[],
    );
    let addr = http::address_in(|| run.stderr(), "metrics on");
    let worker = format!(
        "{}-{}",
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap()
            .trim(),
        run.pid()
    );
    let labels = [("command", "exec"), ("worker", worker.as_str())];
    let first = scrape(&python, &addr);
    assert_eq!(first["families"]["inflight_jobs_started"], "counter");
    assert_eq!(first["families"]["inflight_jobs_in_flight"], "gauge");
    assert_eq!(
        first["families"]["inflight_job_duration_seconds"],
        "histogram"
    );
    assert_eq!(
        python::sample(&first, "inflight_jobs_limit", &labels),
        Some(2.0)
    );
    let started =
        |m: &serde_json::Value| python::sample(m, "inflight_jobs_started_total", &labels).unwrap();
    let ok = |m: &serde_json::Value| {
        python::sample(
            m,
            "inflight_jobs_finished_total",
            &[labels[0], labels[1], ("outcome", "ok")],
        )
        .unwrap()
    };
    // Scrapes during the run (raw, every 100 ms: parsing waits for the end, so that a slow
    // Python on a busy machine does not thin them out) see the counters move.
    let mut texts = Vec::new();
    let begin = Instant::now();
    while begin.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(100));
        let Ok(text) = std::panic::catch_unwind(|| http::get(&addr, "/metrics").2) else {
            break; // the run ended and its server with it
        };
        texts.push(text);
    }
    let mut seen = vec![(started(&first), ok(&first))];
    for text in &texts {
        let m = python::parse_metrics(&python, text);
        assert!(python::sample(&m, "inflight_jobs_in_flight", &labels).unwrap() <= 2.0);
        let now = (started(&m), ok(&m));
        if now != *seen.last().unwrap() {
            seen.push(now);
        }
    }
    assert!(
        seen.len() >= 3,
        "the counters did not move during the run: {seen:?}"
    );
    assert!(
        seen.windows(2)
            .all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1),
        "{seen:?}"
    );
    let done = run.wait(Duration::from_secs(60));
    assert_eq!(done.code, 6, "6 jobs fail: {}", done.stderr);
}

#[test]
fn fetch_metrics_count_bytes_retries_and_failures() {
    let Some(python) = python::with("prometheus_client") else {
        return;
    };
    let server = common::server::Server::start();
    let dir = tempfile::tempdir().unwrap();
    // A reset connection, retried once; then 20 bodies of 70000 bytes taking 300 ms each (the
    // server waits after its first 64 KiB), one at a time.
    let mut input = server.url("/reset\n");
    input += &(0..20)
        .map(|i| server.url(&format!("/fill/{}/70000/300\n", i % 10)))
        .collect::<String>();
    let run = spawn(
        &[
            "fetch",
            "-j",
            "1",
            "--retries",
            "1",
            "--metrics",
            "127.0.0.1:0",
        ],
        dir.path(),
        "fetch",
        Some(input),
        &[],
    );
    let addr = http::address_in(|| run.stderr(), "metrics on");
    let worker = format!(
        "{}-{}",
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .unwrap()
            .trim(),
        run.pid()
    );
    let labels = [("command", "fetch"), ("worker", worker.as_str())];
    let first = scrape(&python, &addr);
    assert_eq!(first["families"]["inflight_fetch_body_bytes"], "counter");
    // Mid-run: the reset counted as failed after its retry, and some bodies' bytes.
    let begin = Instant::now();
    let m = loop {
        let m = scrape(&python, &addr);
        let bytes = python::sample(&m, "inflight_fetch_body_bytes_total", &labels).unwrap();
        if bytes >= 210_000.0 {
            break m;
        }
        assert!(
            begin.elapsed() < Duration::from_secs(20),
            "bytes did not move: {bytes}"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let bytes = python::sample(&m, "inflight_fetch_body_bytes_total", &labels).unwrap();
    assert!(bytes < 1_400_000.0, "the run was over already");
    assert_eq!(bytes % 70_000.0, 0.0, "whole bodies: {bytes}");
    let outcome = |o| {
        python::sample(
            &m,
            "inflight_jobs_finished_total",
            &[labels[0], labels[1], ("outcome", o)],
        )
    };
    assert_eq!(outcome("failed"), Some(1.0));
    assert!(outcome("ok").unwrap() >= 3.0);
    assert_eq!(
        python::sample(&m, "inflight_job_retries_total", &labels),
        Some(1.0)
    );
    assert_eq!(
        python::sample(&m, "inflight_jobs_limit", &labels),
        Some(1.0)
    );
    // Bodies of about 300 ms: none under 0.16 s (the reset may be).
    let bucket = |le| {
        python::sample(
            &m,
            "inflight_job_duration_seconds_bucket",
            &[labels[0], labels[1], ("le", le)],
        )
        .unwrap()
    };
    assert!(bucket("0.16") <= 1.0, "{m}");
    let count = python::sample(&m, "inflight_job_duration_seconds_count", &labels).unwrap();
    assert_eq!(bucket("+Inf"), count);
    assert!(count >= 4.0);
    let done = run.wait(Duration::from_secs(60));
    assert_eq!(done.code, 1, "{}", done.stderr);
}

#[test]
fn a_metrics_address_that_cannot_be_bound_is_a_one_line_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let r = common::run(&["exec", "--metrics", &addr, "--", "true"], Some("a\n"));
    assert_eq!(r.code(), 255, "{r:?}");
    assert_eq!(r.stderr.lines().count(), 1, "{}", r.stderr);
    assert!(r.stderr.contains("--metrics"), "{}", r.stderr);
}
