//! How a run and its jobs stop: every fatal signal kills the jobs' process groups and keeps
//! the log; a closed stdout is an error and a closed stderr is harmless; `--timeout` sends
//! SIGTERM, waits `--term-grace`, then SIGKILL, and prints what the job wrote.
mod common;

use std::io::{Read, Write};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn hangup_and_quit_kill_the_jobs_and_keep_the_log() {
    for (sig, status) in [("HUP", 129), ("QUIT", 131), ("USR1", 138), ("ALRM", 142)] {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let script = r#"[ "$1" = quick ] && exit 0; echo $$ > "$2/$1.pid"; exec sleep 30"#;
        let d = dir.path().to_str().unwrap();
        let child = inflight()
            .args([
                "exec",
                "-j",
                "3",
                "--log",
                log.to_str().unwrap(),
                "--",
                "sh",
                "-c",
                script,
                "_",
                "{}",
                d,
                ":::",
                "quick",
                "slow1",
                "slow2",
            ])
            .spawn()
            .unwrap();
        let started = Instant::now();
        let pidfiles = [dir.path().join("slow1.pid"), dir.path().join("slow2.pid")];
        assert!(wait_for(Duration::from_secs(20), || {
            pidfiles
                .iter()
                .all(|p| std::fs::read_to_string(p).is_ok_and(|s| s.ends_with('\n')))
                && log_records(&log, true).len() == 1
        }));
        signal(child.id(), sig);
        let r = finish(child, started, Duration::from_secs(20));
        assert_eq!(r.code(), status, "SIG{sig}: {r:?}");
        for p in &pidfiles {
            let pid = std::fs::read_to_string(p).unwrap();
            assert!(
                wait_for(Duration::from_secs(5), || is_dead(&pid)),
                "SIG{sig} left job {} running",
                pid.trim()
            );
        }
        let records = log_records(&log, false);
        assert_eq!(records.len(), 1, "{records:?}");
        assert_eq!(records[0]["input"], "quick");
    }
}

#[test]
fn a_closed_stdout_pipe_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let mut child = inflight()
        .args([
            "exec",
            "-j",
            "4",
            "--log",
            log.to_str().unwrap(),
            "--",
            "echo",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut stdin = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        let lines: String = (1..=100_000).map(|i| format!("{i}\n")).collect();
        let _ = stdin.write_all(lines.as_bytes());
    });
    // Read one line, as `| head -1` does, then close the pipe.
    let mut stdout = child.stdout.take().unwrap();
    let mut first = [0u8; 2];
    stdout.read_exact(&mut first).unwrap();
    drop(stdout);
    let r = finish_without_stdout(child, started);
    assert_eq!(r.0, Some(141), "128 + SIGPIPE, as GNU parallel: {}", r.1);
    assert!(!r.1.contains("panicked"), "{}", r.1);
    assert!(log_records(&log, true).len() < 100_000, "the run stopped");
}

/// Waits for a child whose stdout the test already closed; returns its status and stderr.
fn finish_without_stdout(
    mut child: std::process::Child,
    started: Instant,
) -> (Option<i32>, String) {
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), err);
        }
        assert!(started.elapsed() < Duration::from_secs(60), "still running");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn a_closed_stderr_pipe_never_panics() {
    let s = common::server::Server::start();
    let urls: String = (0..50).map(|_| format!("{}\n", s.url("/404"))).collect();
    let lines: String = (1..=2000).map(|i| format!("{i}\n")).collect();
    for (args, input, status) in [
        (
            vec![
                "exec",
                "-j",
                "4",
                "--",
                "sh",
                "-c",
                r#"echo "$1" >&2"#,
                "_",
                "{}",
            ],
            lines,
            0,
        ),
        (
            vec!["exec", "-j", "4", "--", "./no-such-command"],
            "a\nb\n".into(),
            2,
        ),
        (vec!["fetch", "-j", "8"], urls, 50),
    ] {
        let mut child = inflight()
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        drop(child.stderr.take()); // nobody reads stderr
        let mut stdin = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            let _ = stdin.write_all(input.as_bytes());
        });
        let started = Instant::now();
        let code = loop {
            if let Some(st) = child.try_wait().unwrap() {
                break st.code();
            }
            assert!(started.elapsed() < Duration::from_secs(60));
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(code, Some(status), "{args:?} (101 is a panic)");
    }
}

#[test]
fn timeout_sends_term_then_kill_and_keeps_the_output() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let log_s = log.to_str().unwrap();
    // A job that cleans up on SIGTERM: its goodbye is printed, after what it wrote before.
    let polite = r#"echo partial; trap 'echo got TERM; exit 3' TERM; sleep 30 & wait"#;
    let r = run(
        &[
            "exec",
            "--timeout",
            "500ms",
            "--log",
            log_s,
            "--",
            "sh",
            "-c",
            polite,
            ":::",
            "x",
        ],
        None,
    );
    assert_eq!(r.code(), 1, "{r:?}");
    assert_eq!(r.stdout, "partial\ngot TERM\n");
    assert!(r.took < Duration::from_secs(10), "{:?}", r.took);
    assert_eq!(
        log_records(&log, false)[0]["error"],
        "timed out after 500ms"
    );

    // A job that ignores SIGTERM is killed after the grace period.
    let log2 = dir.path().join("log2");
    let stubborn = r#"trap '' TERM; echo partial; sleep 30"#;
    let r = run(
        &[
            "exec",
            "--timeout",
            "300ms",
            "--term-grace",
            "400ms",
            "--log",
            log2.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            stubborn,
            ":::",
            "x",
        ],
        None,
    );
    assert_eq!(r.code(), 1, "{r:?}");
    assert_eq!(r.stdout, "partial\n");
    assert!(r.took >= Duration::from_millis(700), "{:?}", r.took);
    assert!(r.took < Duration::from_secs(10), "{:?}", r.took);
    assert_eq!(
        log_records(&log2, false)[0]["error"],
        "timed out after 300ms; killed after the 400ms grace period"
    );
}

#[test]
fn output_is_spooled_not_held_in_memory() {
    // Four jobs print 100 MB each, and one prints 60 MB before it times out: all of it is
    // printed, while inflight's own memory stays far below it.
    let dir = tempfile::tempdir().unwrap();
    let mut child = inflight()
        .args([
            "exec",
            "-j",
            "5",
            "--timeout",
            "3s",
            "--",
            "sh",
            "-c",
            r#"head -c "$1" /dev/zero; [ "$1" = 60M ] && sleep 30; exit 0"#,
            "_",
            "{}",
            ":::",
            "100M",
            "100M",
            "100M",
            "100M",
            "60M",
        ])
        .env("TMPDIR", dir.path())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let counter = std::thread::spawn(move || {
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0u64;
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            total += n as u64;
        }
        total
    });
    let mut stderr = child.stderr.take().unwrap();
    let errs = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let (status, peak) = wait_sampling_rss(&mut child, Duration::from_secs(120));
    let total = counter.join().unwrap();
    let stderr = errs.join().unwrap();
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(peak < 150 << 20, "peak memory {} MB", peak >> 20);
    assert_eq!(total, (400 + 60) << 20, "every byte printed");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file left"
    );
}

#[test]
fn a_full_spool_disk_cuts_the_output_says_so_and_fails_the_job() {
    // A 1 MB tmpfs as $TMPDIR, in a mount namespace of its own (skipped where none can be made).
    let dir = tempfile::tempdir().unwrap();
    let small = dir.path().join("small");
    std::fs::create_dir(&small).unwrap();
    let script = format!(
        "mount -t tmpfs -o size=1m tmpfs {0} && TMPDIR={0} exec \"$0\" \"$@\"",
        small.display()
    );
    let probe = std::process::Command::new("unshare")
        .args([
            "-m",
            "sh",
            "-c",
            &format!("mount -t tmpfs tmpfs {}", small.display()),
        ])
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        eprintln!("skipped: cannot make a mount namespace here");
        return;
    }
    let child = std::process::Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .arg(bin())
        .args([
            "exec",
            "--",
            "sh",
            "-c",
            "head -c 5M /dev/zero; echo done >&2",
            ":::",
            "a",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let r = finish(child, Instant::now(), Duration::from_secs(30));
    // Output that could not be kept fails the job (GNU parallel exits 255 on it): a log
    // record that said ok would make `--resume` skip a job whose output was lost.
    assert_eq!(r.code(), 1, "{}", r.stderr);
    assert!(r.stdout.len() < 5 << 20);
    assert!(
        r.stderr.contains("inflight: job 1: output cut after about")
            && r.stderr.contains("No space left on device"),
        "{}",
        r.stderr
    );
}

#[test]
fn an_unusable_temporary_directory_is_refused_before_any_job() {
    let r = run_with_env(
        &["exec", "--", "echo", ":::", "a"],
        &[("TMPDIR", "/nonexistent/inflight-test")],
    );
    assert_usage_error(&r);
    assert!(
        r.stderr
            .contains("cannot make temporary files in /nonexistent/inflight-test"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty(), "a job ran: {}", r.stdout);
}

fn run_with_env(args: &[&str], env: &[(&str, &str)]) -> common::Run {
    let child = std::process::Command::new(bin())
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    finish(child, Instant::now(), Duration::from_secs(30))
}

/// Review: with -k, SIGTERM while a slow first job held the others back lost the records of
/// the jobs that had finished behind it, and called them killed; `--resume` ran them again.
#[test]
fn keep_order_killed_keeps_the_records_of_jobs_finished_behind_a_slow_one() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let script = r#"[ "$1" = 1 ] && exec sleep 30; echo out$1"#;
    let child = inflight()
        .args([
            "exec",
            "-k",
            "-j",
            "2",
            "--log",
            log.to_str().unwrap(),
            "--",
        ])
        .args([
            "sh", "-c", script, "_", "{}", ":::", "1", "2", "3", "4", "5",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    assert!(wait_for(Duration::from_secs(20), || log_records(
        &log, true
    )
    .len()
        == 4));
    signal(child.id(), "TERM");
    let r = finish(child, started, Duration::from_secs(20));
    assert_eq!(r.code(), 143, "{r:?}");
    let mut seqs: Vec<u64> = log_records(&log, false)
        .iter()
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, [2, 3, 4, 5], "the jobs that finished are in the log");
    assert!(r.stderr.contains("killing 1 running jobs"), "{}", r.stderr);
    // Their outputs would come out of order before job 1's: not printed.
    assert_eq!(r.stdout, "", "{r:?}");
}

/// Review: the first Ctrl-C did not end a job waiting out a server's long Retry-After: it
/// waited up to a minute and then made another attempt.
#[test]
fn the_first_ctrl_c_ends_a_wait_for_a_retry_without_another_attempt() {
    let s = common::server::Server::start();
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let child = inflight()
        .args(["fetch", "--retries", "3", "--log", log.to_str().unwrap()])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = child;
    let url = s.url("/flaky/ctrl-c/9/60"); // 503 with Retry-After: 60, nine times
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{url}\n").as_bytes())
        .unwrap();
    let started = Instant::now();
    assert!(wait_for(Duration::from_secs(20), || {
        s.state.requests.load(std::sync::atomic::Ordering::SeqCst) == 1
    }));
    std::thread::sleep(Duration::from_millis(200)); // now in the 60 s wait
    signal(child.id(), "INT");
    let r = finish(child, started, Duration::from_secs(30));
    assert_eq!(r.code(), 130, "{r:?}");
    assert!(
        r.took < Duration::from_secs(20),
        "waited for the retry: {r:?}"
    );
    let records = log_records(&log, false);
    assert_eq!(records.len(), 1, "the failure is recorded: {records:?}");
    assert_eq!(records[0]["attempts"], 1);
    assert_eq!(
        s.state.requests.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
}
