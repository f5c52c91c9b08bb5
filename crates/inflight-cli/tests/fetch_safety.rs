//! `fetch` against a hostile output directory, runs that share one, an unwritable one,
//! passwords in URLs and redirects out of http.
mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::Ordering::SeqCst;
use std::time::{Duration, Instant};

use common::server::Server;
use common::*;

#[test]
fn planted_symlinks_never_receive_a_body() {
    let s = Server::start();
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let victim = root.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let log = root.path().join("log");
    let mut child = inflight()
        .args([
            "fetch",
            "-j",
            "1",
            "-o",
            out.to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    // Knowing the PID, an attacker who can write to DIR plants links at every name a
    // predictable scheme could use, and at the final name.
    let pid = child.id();
    for seq in 1..=5 {
        std::os::unix::fs::symlink(&victim, out.join(format!(".inflight-{pid}-{seq}.part")))
            .unwrap();
    }
    std::os::unix::fs::symlink(&victim, out.join("one.txt")).unwrap();
    let urls: String = (0..3)
        .map(|_| format!("{}\n", s.url("/x/one.txt")))
        .collect();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(urls.as_bytes()).unwrap();
    drop(stdin);
    let r = finish(child, started, Duration::from_secs(30));
    assert_eq!(r.code(), 0, "{r:?}");
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    for rec in log_records(&log, false) {
        let path = out.join(rec["path"].as_str().unwrap());
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert!(meta.is_file(), "{} is a regular file", path.display());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "body of /x/one.txt"
        );
    }
    assert!(std::fs::symlink_metadata(out.join("one.txt"))
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn two_runs_with_the_same_pid_keep_their_bodies_apart() {
    // Two containers: each run is PID 1 of its own PID namespace, so a PID-based temporary
    // name is the same for both. Needs unshare(1) and the right to make a namespace.
    if !Command::new("unshare")
        .args(["--pid", "--fork", "true"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        eprintln!("skipped: cannot make a PID namespace here (the symlink test covers the name)");
        return;
    }
    let s = Server::start();
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let len = 4 << 20;
    let runs: Vec<_> = ["a", "b"]
        .iter()
        .map(|tag| {
            let log = root.path().join(format!("log-{tag}"));
            let mut child = Command::new("unshare")
                .args(["--pid", "--fork"])
                .arg(bin())
                .args(["fetch", "-o", out.to_str().unwrap(), "--log"])
                .arg(&log)
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            // 4 MB, 64 KiB every 30 ms: both downloads run for about 2 s, side by side.
            let url = format!("{}\n", s.url(&format!("/fill/{tag}/{len}/30")));
            child
                .stdin
                .take()
                .unwrap()
                .write_all(url.as_bytes())
                .unwrap();
            (tag, log, child)
        })
        .collect();
    for (tag, log, child) in runs {
        let r = finish(child, Instant::now(), Duration::from_secs(60));
        assert_eq!(r.code(), 0, "run {tag}: {r:?}");
        let rec = &log_records(&log, false)[0];
        assert_eq!(rec["ok"], true);
        let body = std::fs::read(out.join(rec["path"].as_str().unwrap())).unwrap();
        assert_eq!(body.len(), len, "run {tag}");
        assert!(
            body.iter().all(|&b| b == tag.as_bytes()[0]),
            "run {tag}'s file holds the other run's bytes"
        );
    }
    assert_eq!(
        std::fs::read_dir(&out).unwrap().count(),
        2,
        "no temporary left"
    );
}

#[test]
fn an_unwritable_output_dir_fails_before_any_request() {
    let s = Server::start();
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let urls: String = (0..20)
        .map(|i| format!("{}\n", s.url(&format!("/f{i}"))))
        .collect();
    let root_user = std::fs::metadata("/proc/self").is_ok_and(|m| {
        use std::os::unix::fs::MetadataExt;
        m.uid() == 0
    });
    let mut cmd = if root_user {
        // Root writes anywhere: run as nobody, in a directory nobody may write to.
        let bin_copy = root.path().join("inflight");
        std::fs::copy(bin(), &bin_copy).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(bin_copy);
        cmd
    } else {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o555)).unwrap();
        Command::new(bin())
    };
    let mut child = cmd
        .args(["fetch", "-o", out.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        let _ = stdin.write_all(urls.as_bytes());
    });
    let r = finish(child, Instant::now(), Duration::from_secs(30));
    assert_usage_error(&r);
    assert!(r.stderr.contains("output directory"), "{}", r.stderr);
    assert_eq!(s.state.requests.load(SeqCst), 0, "no request was sent");
}

#[test]
fn passwords_in_urls_are_masked() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let with_password = |path: &str| s.url(path).replace("http://", "http://user:secret@");
    let input = format!("{}\n{}\n", with_password("/ok"), with_password("/404"));
    let args = ["fetch", "--log", log.to_str().unwrap()];
    let r = run(&args, Some(&input));
    assert_eq!(r.code(), 1, "{r:?}");
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains("secret") && !r.stderr.contains("secret"),
        "{text}{}",
        r.stderr
    );
    assert!(text.contains("user:***@"), "{text}");
    assert!(r.stderr.contains("user:***@"), "{}", r.stderr);
    // Resume knows the masked URL that succeeded.
    let resume = ["fetch", "--log", log.to_str().unwrap(), "--resume"];
    let r = run(&resume, Some(&input));
    assert!(r.stderr.contains("1 skipped"), "{}", r.stderr);

    // The spellings a URL parser accepts for http, and a line without a scheme, are masked
    // too, in the log and on stderr (the review found each of these in clear).
    let host = s.addr.to_string();
    let odd = [
        format!("http:/u:LEAK1@{host}/404"),
        format!("http:\\\\u:LEAK2@{host}/404"),
        format!("http:u:LEAK3@{host}/404"),
        format!("http:///u:LEAK4@{host}/404"),
        format!("user:LEAK5@{host}/x"),
    ];
    let log = dir.path().join("odd");
    let r = run(
        &["fetch", "--log", log.to_str().unwrap()],
        Some(&(odd.join("\n") + "\n")),
    );
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        !text.contains("LEAK") && !r.stderr.contains("LEAK"),
        "{text}{}",
        r.stderr
    );
}

#[test]
fn a_redirect_to_another_scheme_says_why() {
    let s = Server::start();
    let r = run(&["fetch"], Some(&format!("{}\n", s.url("/to-file"))));
    assert_eq!(r.code(), 1, "{r:?}");
    assert!(
        r.stderr.contains(
            "redirect to file:///etc/passwd refused: only http and https redirects are followed (HTTP 302 Found)"
        ),
        "{}",
        r.stderr
    );
    // Other schemes too (reqwest said "URL scheme is not allowed", with no status).
    for (target, says) in [
        (
            "ftp://example.invalid/x",
            "redirect to ftp://example.invalid/x refused",
        ),
        (
            "javascript:alert(1)",
            "redirect to javascript:alert(1) refused",
        ),
        ("file://u:p@h/x", "redirect to an invalid URL refused"),
    ] {
        let url = s.url(&format!(
            "/redirect-to/{}",
            target.replace(':', "%3A").replace('/', "%2F")
        ));
        let r = run(&["fetch"], Some(&format!("{url}\n")));
        assert_eq!(r.code(), 1, "{r:?}");
        assert!(r.stderr.contains(says), "{target}: {}", r.stderr);
        assert!(r.stderr.contains("(HTTP 302 Found)"), "{}", r.stderr);
    }
}
