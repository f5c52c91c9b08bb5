//! `fetch` options for crawls: headers (whose values are never shown), `--print` feeding a
//! real pipeline, `--layout` and `--save-as`, and `--compressed` with its size cap.
mod common;

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::server::{header, Server};
use common::*;

#[test]
fn headers_are_sent_and_their_values_never_shown() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let file = dir.path().join("headers");
    std::fs::write(
        &file,
        "# secrets\nX-Token: s3cret-file\nAuthorization: Bearer overridden\n",
    )
    .unwrap();
    let input = format!("{}\n{}\n", s.url("/with-headers"), s.url("/404"));
    let r = run(
        &[
            "fetch",
            "-H",
            "Authorization: Bearer s3cret-cli",
            "--header",
            "X-Custom: v1",
            "-H",
            "X-Custom: v2",
            "--header-file",
            file.to_str().unwrap(),
            "-A",
            "crawler/2",
            "--log",
            log.to_str().unwrap(),
            "--print",
            "json",
        ],
        Some(&input),
    );
    assert_eq!(r.code(), 1, "{r:?}");
    let heads = s.state.heads_for("/with-headers");
    let head = &heads[0];
    assert_eq!(header(head, "authorization").unwrap(), "Bearer s3cret-cli");
    assert_eq!(header(head, "x-token").unwrap(), "s3cret-file");
    assert_eq!(header(head, "user-agent").unwrap(), "crawler/2");
    assert_eq!(header(head, "x-custom").unwrap(), "v2", "the last one wins");
    assert!(
        header(&s.state.heads_for("/404")[0], "x-token").is_some(),
        "every request gets them"
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    for shown in [&r.stderr, &r.stdout, &logged] {
        assert!(
            !shown.contains("s3cret"),
            "a header value was shown: {shown}"
        );
    }
    assert!(r.stderr.contains("HTTP 404"), "{}", r.stderr);
    // Redirects carry the headers to the same host, and no Referer (as curl).
    run(
        &["fetch", "-H", "X-Token: t"],
        Some(&format!("{}\n", s.url("/redirect"))),
    );
    let head = &s.state.heads_for("/target")[0];
    assert_eq!(header(head, "x-token").as_deref(), Some("t"), "{head}");
    assert_eq!(header(head, "referer"), None, "{head}");
    // The default User-Agent, and 'Name:' removing it.
    run(&["fetch"], Some(&format!("{}\n", s.url("/default-agent"))));
    let head = &s.state.heads_for("/default-agent")[0];
    assert!(header(head, "user-agent").unwrap().starts_with("inflight/"));
    run(
        &["fetch", "-H", "User-Agent:"],
        Some(&format!("{}\n", s.url("/no-agent"))),
    );
    assert_eq!(
        header(&s.state.heads_for("/no-agent")[0], "user-agent"),
        None
    );
}

#[test]
fn bad_headers_are_usage_errors_that_do_not_show_the_value() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("headers");
    std::fs::write(&file, "X-Ok: 1\nAuthorization Bearer s3cret\n").unwrap();
    for args in [
        vec!["fetch", "-H", "Authorization Bearer s3cret"],
        vec!["fetch", "-H", "X-Token: s3cret\u{7}"],
        vec!["fetch", "--header-file", file.to_str().unwrap()],
        vec!["fetch", "--header-file", "/no/such/file"],
    ] {
        let r = run(&args, Some("http://127.0.0.1:9/\n"));
        assert_usage_error(&r);
        assert!(!r.stderr.contains("s3cret"), "{}", r.stderr);
        assert!(r.stderr.contains("header"), "{}", r.stderr);
    }
}

#[test]
fn print_path_feeds_a_pipeline_page_by_page() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pages");
    // Three quick pages, then one that takes 12 s: the consumer must have handled the quick
    // ones while the producer still waits for the slow one.
    let urls = dir.path().join("urls");
    let list: String = ["/p/a.html", "/p/b.html", "/p/c.html", "/slow/12000"]
        .iter()
        .map(|p| format!("{}\n", s.url(p)))
        .collect();
    std::fs::write(&urls, list).unwrap();
    let mut producer = Command::new(bin())
        .args(["fetch", "-q", "-j", "4", "-o", out.to_str().unwrap()])
        .args(["--print", "path", urls.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pipe = producer.stdout.take().unwrap();
    let mut consumer = Command::new(bin())
        .args(["exec", "-q", "-j", "2", "--", "sh", "-c"])
        .arg(r#"wc -c < "$1" > "$1.count"; echo "$1""#)
        .args(["_", "{}"])
        .stdin(Stdio::from(pipe))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let counted = wait_for(Duration::from_secs(8), || {
        ["a.html", "b.html", "c.html"]
            .iter()
            .all(|n| out.join(format!("{n}.count")).exists())
    });
    let producer_running = producer.try_wait().unwrap().is_none();
    assert!(counted, "the quick pages were not processed within 8 s");
    assert!(
        producer_running,
        "the pages were processed only after the whole fetch"
    );
    assert!(producer.wait().unwrap().success());
    let started = Instant::now();
    let status = consumer.wait().unwrap();
    assert!(status.success() && started.elapsed() < Duration::from_secs(30));
    let mut printed = String::new();
    consumer
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut printed)
        .unwrap();
    let mut lines: Vec<&str> = printed.lines().collect();
    lines.sort();
    let expected: Vec<String> = ["a.html", "b.html", "c.html", "12000"]
        .iter()
        .map(|n| out.join(n).display().to_string())
        .collect();
    let mut expected: Vec<&str> = expected.iter().map(String::as_str).collect();
    expected.sort();
    assert_eq!(lines, expected);
    assert_eq!(
        std::fs::read_to_string(out.join("a.html.count"))
            .unwrap()
            .trim(),
        "body of /p/a.html".len().to_string()
    );
}

#[test]
fn print_waits_for_a_slow_reader_instead_of_running_ahead() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let urls = dir.path().join("urls");
    // 5000 lines of about 60 bytes: four times what a 64 KiB pipe holds.
    let list: String = (0..5000)
        .map(|i| format!("{}\n", s.url(&format!("/bounded/{i:020}"))))
        .collect();
    std::fs::write(&urls, list).unwrap();
    let mut producer = Command::new(bin())
        .args(["fetch", "-q", "-j", "8", "--print", "url"])
        .arg(&urls)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Nobody reads the pipe: once it is full, fetch must stop starting requests.
    let mut last = usize::MAX;
    let settled = wait_for(Duration::from_secs(20), || {
        std::thread::sleep(Duration::from_millis(500));
        let now = s.state.requests.load(std::sync::atomic::Ordering::SeqCst);
        std::mem::replace(&mut last, now) == now && now > 0
    });
    let requests = s.state.requests.load(std::sync::atomic::Ordering::SeqCst);
    assert!(settled, "requests kept coming: {requests}");
    assert!(
        producer.try_wait().unwrap().is_none(),
        "fetch ended without its reader"
    );
    assert!(
        requests < 2500,
        "{requests} requests for a reader that read nothing"
    );
    // Reading it all lets the run finish.
    let mut printed = String::new();
    producer
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut printed)
        .unwrap();
    assert!(producer.wait().unwrap().success());
    assert_eq!(printed.lines().count(), 5000);
}

#[test]
fn print_url_and_json_one_line_per_input() {
    let s = Server::start();
    let input = format!("{}\n{}\n", s.url("/one"), s.url("/404"));
    let r = run(&["fetch", "--print", "url"], Some(&input));
    assert_eq!(r.stdout, format!("{}\n", s.url("/one")), "successes only");
    let r = run(&["fetch", "--print", "json"], Some(&input));
    let records: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(records.len(), 2, "{}", r.stdout);
    assert!(
        records
            .iter()
            .any(|r| r["status"] == 404 && r["ok"] == false && r["error"] == "HTTP 404 Not Found"),
        "the failure's record, error included: {}",
        r.stdout
    );
    assert_usage_error(&run(&["fetch", "--print", "path"], Some(&input)));
    assert_usage_error(&run(&["fetch", "--print", "lines"], Some(&input)));
}

#[test]
fn layouts_and_name_templates_spread_files_inside_dir() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let host = s.addr.to_string().replace(':', "_");
    let input = format!(
        "{}\n{}\n{}\n",
        s.url("/a/b/page.html"),
        s.url("/a/..%2fb/x/"),
        s.url("/top")
    );
    let paths = |args: &[&str]| -> Vec<String> {
        let log = dir
            .path()
            .join(format!("log{}", args.join("_").replace('/', "")));
        let mut argv = vec!["fetch", "-j", "1", "--log", log.to_str().unwrap()];
        argv.extend_from_slice(args);
        let r = run(&argv, Some(&input));
        assert_eq!(r.code(), 0, "{r:?}");
        let mut paths: Vec<String> = log_records(&log, false)
            .iter()
            .map(|r| r["path"].as_str().unwrap().to_string())
            .collect();
        paths.sort();
        paths
    };
    let tree = dir.path().join("tree");
    assert_eq!(
        paths(&["-o", tree.to_str().unwrap(), "--layout", "tree"]),
        [
            format!("{host}/a/_._b/x/index.html"),
            format!("{host}/a/b/page.html"),
            format!("{host}/top"),
        ]
    );
    assert_eq!(
        std::fs::read_to_string(tree.join(format!("{host}/a/b/page.html"))).unwrap(),
        "body of /a/b/page.html"
    );
    let hosts = dir.path().join("hosts");
    // A link planted where the host's directory goes is refused, not followed.
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::fs::create_dir_all(&hosts).unwrap();
    std::os::unix::fs::symlink(&elsewhere, hosts.join(&host)).unwrap();
    assert_eq!(
        paths(&["-o", hosts.to_str().unwrap(), "--layout", "host"]),
        [
            format!("{host}-1/page.html"),
            format!("{host}-1/top"),
            format!("{host}-1/x"),
        ]
    );
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
    let named = dir.path().join("named");
    assert_eq!(
        paths(&["-o", named.to_str().unwrap(), "--save-as", "{#}.html"]),
        ["1.html", "2.html", "3.html"]
    );
    for bad in ["../{#}", "a/{#}", ".{#}", "{url}"] {
        let r = run(
            &["fetch", "-o", named.to_str().unwrap(), "--save-as", bad],
            Some(""),
        );
        assert_usage_error(&r);
        assert!(r.stderr.contains("--save-as"), "{}", r.stderr);
    }
    assert_usage_error(&run(&["fetch", "--layout", "tree"], Some("")));
}

#[test]
fn threads_drive_the_requests() {
    let s = Server::start();
    let input: String = (0..20)
        .map(|i| format!("{}\n", s.url(&format!("/t{i}"))))
        .collect();
    for threads in ["1", "3"] {
        let r = run(&["fetch", "-j", "8", "--threads", threads], Some(&input));
        assert_eq!(r.code(), 0, "{r:?}");
        assert!(r.stderr.contains("20 jobs, 20 ok"), "{}", r.stderr);
    }
    let r = run(&["fetch", "--threads", "0"], Some(&input));
    assert_usage_error(&r);
    assert!(r.stderr.contains("--threads"), "{}", r.stderr);
}

#[test]
fn one_thread_still_stops_on_signals() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let urls = dir.path().join("urls");
    let list: String = (0..10)
        .map(|_| format!("{}\n", s.url("/slow/1500")))
        .collect();
    std::fs::write(&urls, list).unwrap();
    for (sig, code) in [("INT", 130), ("TERM", 143)] {
        let log = dir.path().join(format!("log-{sig}"));
        let child = inflight()
            .args(["fetch", "-j", "2", "--log", log.to_str().unwrap()])
            .arg(&urls)
            .spawn()
            .unwrap();
        assert!(wait_for(Duration::from_secs(10), || s
            .state
            .slow_max
            .load(std::sync::atomic::Ordering::SeqCst)
            > 0));
        std::thread::sleep(Duration::from_millis(200));
        signal(child.id(), sig);
        let started = Instant::now();
        let r = finish(child, started, Duration::from_secs(20));
        assert_eq!(r.code(), code, "{sig}: {r:?}");
        // INT lets the two running requests finish (1.5 s); TERM stops at once.
        assert!(r.took < Duration::from_secs(8), "{sig}: took {:?}", r.took);
        let done = log_records(&log, false).len();
        assert!(done < 10, "{sig}: the run stopped early, {done} records");
    }
}

#[test]
fn compressed_bodies_are_decoded_and_the_cap_counts_decoded_bytes() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let log = dir.path().join("log");
    let input: String = ["gzip", "br", "zstd"]
        .iter()
        .map(|k| format!("{}\n", s.url(&format!("/enc/{k}"))))
        .collect();
    let r = run(
        &[
            "fetch",
            "--compressed",
            "-o",
            out.to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
        ],
        Some(&input),
    );
    assert_eq!(r.code(), 0, "{r:?}");
    let plain = "compressed body\n".repeat(2000);
    for rec in log_records(&log, false) {
        assert_eq!(rec["bytes"], plain.len(), "{rec}");
        let saved = std::fs::read_to_string(out.join(rec["path"].as_str().unwrap())).unwrap();
        assert!(saved == plain, "{} was not decoded", rec["input"]);
    }
    let accept = header(&s.state.heads_for("/enc/gzip")[0], "accept-encoding").unwrap();
    for kind in ["gzip", "br", "zstd"] {
        assert!(accept.contains(kind), "{accept}");
    }
    // Without --compressed nothing is asked for, and nothing is decoded.
    run(&["fetch"], Some(&format!("{}\n", s.url("/plain-please"))));
    let head = &s.state.heads_for("/plain-please")[0];
    assert_eq!(header(head, "accept-encoding"), None, "{head}");
}

#[test]
fn a_gzip_bomb_stops_at_the_cap_with_bounded_memory() {
    let s = Server::start();
    // 6.8 MB on the wire that decode to 1 GiB of zeros.
    let url = format!("{}\n", s.url("/gzip-bomb"));
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let mut child = inflight()
        .args(["fetch", "--compressed", "--max-size", "20MB", "-o"])
        .arg(dir.path().join("out"))
        .arg("--log")
        .arg(&log)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(url.as_bytes())
        .unwrap();
    let (status, peak) = wait_sampling_rss(&mut child, Duration::from_secs(60));
    assert_eq!(status.code(), Some(1));
    let rec = &log_records(&log, false)[0];
    assert!(
        rec["error"].as_str().unwrap().contains("too large"),
        "{rec}"
    );
    assert!(peak > 0 && peak < 120 << 20, "peak RSS {} MiB", peak >> 20);
    assert_eq!(
        std::fs::read_dir(dir.path().join("out")).unwrap().count(),
        0,
        "nothing saved"
    );
}

#[test]
fn a_reader_that_stops_for_a_while_holds_the_run_back_without_failing_requests() {
    // Paths long enough that the pipe fills: a write to it blocks until the reader reads.
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o".repeat(200));
    let log = dir.path().join("log");
    let input: String = (0..1500)
        .map(|i| format!("{}\n", s.url(&format!("/p{i}"))))
        .collect();
    let mut child = inflight()
        .args([
            "fetch",
            "-q",
            "-j",
            "10",
            "--timeout",
            "2s",
            "--print",
            "path",
            "-o",
        ])
        .arg(&out)
        .arg("--log")
        .arg(&log)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(input.as_bytes());
    });
    // Longer than --timeout: requests in flight while the output was blocked must not expire.
    std::thread::sleep(Duration::from_secs(4));
    let mut printed = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut printed)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert_eq!(printed.lines().count(), 1500);
    let records = log_records(&log, false);
    assert_eq!(records.len(), 1500);
    assert!(records
        .iter()
        .all(|r| r["ok"] == true && r["attempts"] == 1));
}

/// The files under `dir` (not hidden ones).
fn saved(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter(|e| {
                !e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count()
        })
        .unwrap_or(0)
}

#[test]
fn sigterm_logs_every_saved_file_so_resume_makes_no_second_copy() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("o".repeat(200));
    let log = dir.path().join("log");
    let input: String = (0..3000)
        .map(|i| format!("{}\n", s.url(&format!("/t{i}"))))
        .collect();
    let args = |resume: bool| {
        let mut cmd = inflight();
        cmd.args(["fetch", "-q", "-j", "50", "--print", "path", "-o"])
            .arg(&out)
            .arg("--log")
            .arg(&log);
        if resume {
            cmd.arg("--resume");
        }
        cmd
    };
    // A reader that never reads: the run is held back, with saved files waiting for output.
    let mut child = args(false)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let feed = input.clone();
    std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(feed.as_bytes());
    });
    std::thread::sleep(Duration::from_millis(1500));
    signal(child.id(), "TERM");
    // SIGTERM is heard even while the output is blocked.
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("SIGTERM not heard while stdout was blocked");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(143));
    let logged = log_records(&log, false)
        .iter()
        .filter(|r| r["ok"] == true)
        .count();
    assert!(logged > 0);
    assert_eq!(saved(&out), logged, "every saved file is in the log");
    // The rest, on resume: each URL saved once.
    let r = {
        let mut cmd = args(true);
        cmd.stdin(Stdio::piped()).stdout(Stdio::null());
        let mut child = cmd.spawn().unwrap();
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
        child.wait().unwrap()
    };
    assert_eq!(r.code(), Some(0));
    assert_eq!(saved(&out), 3000);
}
