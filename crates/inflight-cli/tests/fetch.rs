//! `inflight fetch` as a user runs it, against a misbehaving server started by the test.
mod common;

use std::collections::HashMap;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use common::server::Server;
use common::*;
use serde_json::Value;

fn by_input(records: Vec<Value>) -> HashMap<String, Value> {
    records
        .into_iter()
        .map(|r| (r["input"].as_str().unwrap().to_string(), r))
        .collect()
}

#[test]
fn fetches_and_discards_without_output_dir() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let input = format!(
        "{}\n\n  \n{}\n{}\n",
        s.url("/a"),
        s.url("/b"),
        s.url("/redirect")
    );
    let r = run(&["fetch", "--log", log.to_str().unwrap()], Some(&input));
    assert_eq!(r.code(), 0, "{r:?}");
    assert_eq!(r.stdout, "");
    assert!(r.stderr.contains("3 jobs, 3 ok, 0 failed"), "{}", r.stderr);
    let recs = by_input(log_records(&log, false));
    let a = &recs[&s.url("/a")];
    assert_eq!(a["ok"], true);
    assert_eq!(a["status"], 200);
    assert_eq!(a["bytes"], "body of /a".len());
    assert_eq!(a["attempts"], 1);
    assert!(a.get("path").is_none());
    assert_eq!(recs[&s.url("/redirect")]["bytes"], "body of /target".len());
}

#[test]
fn reads_urls_from_a_file_and_saves_bodies() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let list = dir.path().join("urls.txt");
    std::fs::write(
        &list,
        format!(
            "{}\n{}\n{}\n",
            s.url("/x/one.txt"),
            s.url("/y/one.txt"),
            s.url("/")
        ),
    )
    .unwrap();
    let log = dir.path().join("log");
    let r = run(
        &[
            "fetch",
            "-o",
            out.to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
            list.to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(r.code(), 0, "{r:?}");
    for rec in log_records(&log, false) {
        let path = rec["path"].as_str().unwrap();
        let url = rec["input"].as_str().unwrap();
        let body = std::fs::read_to_string(out.join(path)).unwrap();
        assert_eq!(
            body,
            format!("body of {}", url.trim_start_matches(&s.url("")))
        );
    }
    let mut names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["index.html", "one-1.txt", "one.txt"]);
}

#[test]
fn every_bad_input_is_a_clear_record_and_the_run_goes_on() {
    let s = Server::start();
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let out = dir.path().join("out");
    let cases: Vec<(String, &str)> = vec![
        (s.url("/404"), "HTTP 404 Not Found"),
        ("not a url".into(), "malformed URL"),
        ("ftp://example.invalid/x".into(), "unsupported scheme 'ftp'"),
        (s.url("/hang"), "timed out after 700ms"),
        (s.url("/reset"), "reset"),
        (s.url("/dribble"), "timed out after 700ms"),
        (s.url("/endless"), "too large"),
        (s.url("/big"), "too large"),
        (s.url("/big-chunked"), "too large"),
        (
            s.url("/loop/0"),
            "too many redirects (more than 10), the last to http",
        ),
        (format!("http://{closed}/x"), "connection failed"),
        (s.url("/fine"), ""),
    ];
    let input: String = cases.iter().map(|(u, _)| format!("{u}\n")).collect();
    let r = run(
        &[
            "fetch",
            "-j",
            "16",
            "--timeout",
            "700ms",
            "--max-size",
            "8K",
            "--retries",
            "0",
            "-o",
            out.to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
        ],
        Some(&input),
    );
    assert_eq!(r.code(), 11, "{r:?}");
    assert!(r.took < Duration::from_secs(10), "{:?}", r.took);
    let recs = by_input(log_records(&log, false));
    assert_eq!(recs.len(), cases.len());
    for (url, expected) in &cases {
        let rec = &recs[url];
        let error = rec["error"].as_str().unwrap_or("");
        if expected.is_empty() {
            assert_eq!(rec["ok"], true, "{rec}");
        } else {
            assert_eq!(rec["ok"], false, "{rec}");
            assert!(
                error.to_lowercase().contains(&expected.to_lowercase()),
                "{url}: expected {expected:?} in {error:?}"
            );
            assert!(!error.contains('\n'), "one-line errors: {error:?}");
        }
    }
    assert_eq!(recs[&s.url("/404")]["status"], 404);
    // Only the good body was saved, and no partial file is left behind.
    let names: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, ["fine"]);
}

#[test]
fn retries_transient_failures_honouring_retry_after() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let input = format!(
        "{}\n{}\n{}\n",
        s.url("/flaky/a/2/0"),
        s.url("/flaky/b/1/1"),
        s.url("/404")
    );
    let r = run(
        &["fetch", "--retries", "3", "--log", log.to_str().unwrap()],
        Some(&input),
    );
    assert_eq!(r.code(), 1, "{r:?}");
    let recs = by_input(log_records(&log, false));
    assert_eq!(recs[&s.url("/flaky/a/2/0")]["attempts"], 3);
    assert_eq!(recs[&s.url("/flaky/a/2/0")]["ok"], true);
    assert_eq!(recs[&s.url("/flaky/b/1/1")]["attempts"], 2);
    assert!(
        recs[&s.url("/flaky/b/1/1")]["ms"].as_u64().unwrap() >= 1000,
        "Retry-After: 1 was honoured"
    );
    assert_eq!(recs[&s.url("/404")]["attempts"], 1, "404 is not retried");

    let r = run(
        &["fetch", "--log", log.to_str().unwrap()],
        Some(&format!("{}\n", s.url("/flaky/c/1/0"))),
    );
    assert_eq!(r.code(), 1, "no retries by default");
}

#[test]
fn output_names_never_escape_the_directory() {
    let s = Server::start();
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    let paths = [
        "/a/..%2f..%2fescape.txt",
        "/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
        "/%2e%2e",
        "/..%5c..%5cwin.txt",
        "/%2fabsolute",
        "/.hidden",
        "/%252e%252e%252fdouble",
        "/same.txt",
        "/other/same.txt",
        "/a/b/c/",
    ];
    let input: String = paths.iter().map(|p| format!("{}\n", s.url(p))).collect();
    let log = root.path().join("log");
    let r = run(
        &[
            "fetch",
            "-o",
            out.to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
        ],
        Some(&input),
    );
    assert_eq!(r.code(), 0, "{r:?}");
    let top: Vec<String> = std::fs::read_dir(root.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    let mut top_sorted = top.clone();
    top_sorted.sort();
    assert_eq!(
        top_sorted,
        ["log", "out"],
        "nothing written beside the output dir"
    );
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&out).unwrap() {
        let entry = entry.unwrap();
        assert!(
            entry.file_type().unwrap().is_file(),
            "only plain files, no dirs: {entry:?}"
        );
        let name = entry.file_name().into_string().unwrap();
        assert!(!name.starts_with('.'), "{name}");
        names.push(name);
    }
    assert_eq!(names.len(), paths.len());
    let recs = log_records(&log, false);
    for rec in recs {
        let path = rec["path"].as_str().unwrap();
        assert!(
            !path.contains('/') && path != ".." && !path.starts_with('.'),
            "{path}"
        );
        assert!(out.join(path).is_file());
    }
    assert!(
        names.contains(&"same.txt".to_string()) && names.contains(&"same-1.txt".to_string()),
        "{names:?}"
    );
}

#[test]
fn per_host_limit_holds() {
    let s = Server::start();
    let input: String = (0..8)
        .map(|_| format!("{}\n", s.url("/slow/150")))
        .collect();
    let r = run(&["fetch", "-j", "8", "--per-host", "2"], Some(&input));
    assert_eq!(r.code(), 0, "{r:?}");
    assert_eq!(s.state.slow_max.load(SeqCst), 2);

    let s = Server::start();
    let input: String = (0..8)
        .map(|_| format!("{}\n", s.url("/slow/150")))
        .collect();
    let r = run(&["fetch", "-j", "3"], Some(&input));
    assert_eq!(r.code(), 0, "{r:?}");
    assert_eq!(
        s.state.slow_max.load(SeqCst),
        3,
        "-j bounds requests in flight"
    );
}

#[test]
fn resume_after_kill_9_fetches_each_url_once() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let log_s = log.to_str().unwrap();
    let n = 200;
    let input: String = (0..n)
        .map(|i| format!("{}\n", s.url(&format!("/slow/20?i={i}"))))
        .collect();
    kill_9_after(
        &["fetch", "-j", "4", "--log", log_s],
        input.clone(),
        &log,
        30,
    );
    assert!(log_records(&log, true).len() < n);

    let r = run(
        &["fetch", "-j", "8", "--log", log_s, "--resume"],
        Some(&input),
    );
    assert_eq!(r.code(), 0, "{r:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    let mut ok: HashMap<String, usize> = HashMap::new();
    let mut torn = 0;
    for line in text.lines() {
        match serde_json::from_str::<Value>(line) {
            Ok(rec) if rec["ok"] == true => {
                *ok.entry(rec["input"].as_str().unwrap().to_string())
                    .or_default() += 1
            }
            Ok(_) => {}
            Err(_) => torn += 1,
        }
    }
    assert!(torn <= 1);
    assert_eq!(ok.len(), n);
    assert!(ok.values().all(|&c| c == 1), "an input succeeded twice");
}

/// A server that answers the first request on each connection, keeps it alive, then reads the
/// next request and closes without a word: as a server does whose idle timeout or request cap
/// ends a connection just as the client reuses it.
fn one_answer_per_connection() -> (
    std::net::SocketAddr,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = connections.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            counted.fetch_add(1, SeqCst);
            std::thread::spawn(move || {
                let mut buf = [0u8; 4096];
                let mut seen = Vec::new();
                // The first request, to its blank line.
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
                // The next one is read and never answered.
                let _ = stream.read(&mut buf);
            });
        }
    });
    (addr, connections)
}

#[test]
fn a_kept_alive_connection_closed_by_the_server_is_not_a_failure() {
    let (addr, connections) = one_answer_per_connection();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let input: String = (0..6).map(|i| format!("http://{addr}/{i}\n")).collect();
    let r = run(
        &["fetch", "-j", "1", "--log", log.to_str().unwrap()],
        Some(&input),
    );
    assert_eq!(r.code(), 0, "{r:?}");
    let recs = log_records(&log, false);
    assert_eq!(recs.len(), 6);
    for rec in &recs {
        assert_eq!(rec["ok"], true, "{rec}");
        assert_eq!(rec["attempts"], 1, "{rec}");
    }
    assert_eq!(
        connections.load(SeqCst),
        6,
        "one new connection per request"
    );
    // A server that never answers is still a failure (asked once more, not for ever).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        use std::io::Read;
        for stream in silent.incoming() {
            let Ok(mut stream) = stream else { return };
            count.fetch_add(1, SeqCst);
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
        }
    });
    let r = run(&["fetch", "-"], Some(&format!("http://{silent_addr}/x\n")));
    assert_eq!(r.code(), 1, "{r:?}");
    assert!(r.stderr.contains("closed"), "{}", r.stderr);
    assert_eq!(accepted.load(SeqCst), 2);
}
