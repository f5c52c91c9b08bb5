//! `--global-jobs`, `--global-rate`, `--global-per-host`, `--redis-timeout` and `inflight
//! limits` across real `inflight` processes, a real redis-server and a loopback HTTP server
//! that counts requests at once.
mod common;

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use common::counting::Counting;
use common::procs::{spawn, Proc};
use common::{log_records, wait_for};

/// `n` URLs `/wait/MS/TAG-i` of the counting server, one a line.
fn urls(http: &Counting, ms: u64, tag: &str, n: usize) -> String {
    (0..n)
        .map(|i| http.url(&format!("/wait/{ms}/{tag}-{i}")) + "\n")
        .collect()
}

/// Each input of the logs once, all ok; returns how many.
fn each_once_ok(logs: &[&Path]) -> usize {
    let mut seen = HashSet::new();
    for log in logs {
        for r in log_records(log, false) {
            assert_eq!(r["ok"], true, "{r}");
            let input = r["input"].as_str().unwrap().to_string();
            assert!(seen.insert(input.clone()), "{input} logged twice");
        }
    }
    seen.len()
}

#[test]
fn four_fetch_processes_at_j50_share_a_global_limit_of_20() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let http = Counting::start();
    let dir = tempfile::tempdir().unwrap();
    let procs: Vec<Proc> = (0..4)
        .map(|p| {
            let log = dir.path().join(format!("{p}.log"));
            let args = [
                "fetch",
                "-q",
                "-j",
                "50",
                "--global-jobs",
                "20",
                "--name",
                "four",
                "--redis",
                &redis.url(),
                "--log",
                log.to_str().unwrap(),
            ];
            spawn(
                &args,
                dir.path(),
                &p.to_string(),
                Some(urls(&http, 150, &format!("p{p}"), 60)),
                &[],
            )
        })
        .collect();
    for p in procs {
        let done = p.wait(Duration::from_secs(60));
        assert_eq!(done.code, 0, "{done:?}");
    }
    assert_eq!(http.peak(), 20, "the global limit: reached, never exceeded");
    let hits = http.hits();
    assert_eq!(hits.len(), 240);
    assert!(hits.values().all(|&n| n == 1), "a URL fetched twice");
    let logs: Vec<_> = (0..4)
        .map(|p| dir.path().join(format!("{p}.log")))
        .collect();
    let logs: Vec<&Path> = logs.iter().map(|p| p.as_path()).collect();
    assert_eq!(each_once_ok(&logs), 240);
}

#[test]
fn a_global_rate_holds_over_four_processes() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let http = Counting::start();
    let dir = tempfile::tempdir().unwrap();
    let per_process = 60;
    let procs: Vec<Proc> = (0..4)
        .map(|p| {
            let args = [
                "fetch",
                "-q",
                "-j",
                "10",
                "--global-rate",
                "50/s",
                "--name",
                "rate",
                "--redis",
                &redis.url(),
            ];
            spawn(
                &args,
                dir.path(),
                &p.to_string(),
                Some(urls(&http, 0, &format!("p{p}"), per_process)),
                &[],
            )
        })
        .collect();
    for p in procs {
        assert_eq!(p.wait(Duration::from_secs(60)).code, 0);
    }
    let mut arrivals = http.state.arrivals.lock().unwrap().clone();
    arrivals.sort();
    assert_eq!(arrivals.len(), 4 * per_process);
    // 240 starts at 50/s over all four: about 4.8 s, where each alone would take 1.2 s.
    let span = (arrivals[arrivals.len() - 1] - arrivals[0]).as_secs_f64();
    assert!(
        span >= 4.5,
        "240 starts in {span:.2}s: more than 50/s in all"
    );
    // At most burst (1) + 50 t starts in any window t, with 2 starts of slack: a start is
    // seen here after a connection is made, so a late one can fall next to the one after it.
    for i in 0..arrivals.len() {
        for j in i..arrivals.len() {
            let window = (arrivals[j] - arrivals[i]).as_secs_f64();
            let allowed = 1.0 + 50.0 * window + 2.0;
            assert!(
                (j - i + 1) as f64 <= allowed,
                "{} starts in a window of {window:.3}s",
                j - i + 1
            );
        }
    }
}

#[test]
fn two_fetch_processes_share_a_global_per_host_limit() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let http = Counting::start();
    let dir = tempfile::tempdir().unwrap();
    let procs: Vec<Proc> = (0..2)
        .map(|p| {
            let args = [
                "fetch",
                "-q",
                "-j",
                "10",
                "--global-per-host",
                "3",
                "--name",
                "hosts",
                "--redis",
                &redis.url(),
            ];
            spawn(
                &args,
                dir.path(),
                &p.to_string(),
                Some(urls(&http, 100, &format!("p{p}"), 20)),
                &[],
            )
        })
        .collect();
    for p in procs {
        assert_eq!(p.wait(Duration::from_secs(60)).code, 0);
    }
    assert_eq!(
        http.peak(),
        3,
        "3 at once to the one host, over both processes"
    );
    assert_eq!(http.hits().len(), 40);
}

/// Files in `dir` whose names start with `prefix`.
fn count(dir: &Path, prefix: &str) -> usize {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(prefix))
        .count()
}

#[test]
fn a_killed_holders_permits_come_back_within_a_lease() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let marks = dir.path().join("marks");
    std::fs::create_dir(&marks).unwrap();
    let m = marks.to_str().unwrap().to_string();
    let lease = Duration::from_secs(2);
    let common_args = [
        "--global-jobs",
        "5",
        "--lease",
        "2s",
        "--name",
        "holders",
        "--redis",
    ];
    // A holds all five places with jobs (each says its pid, to end it if its guard has not).
    let script_a = format!("echo $$ > {m}/a-$1; exec sleep 30");
    let mut args = vec!["exec", "-q", "-j", "5"];
    args.extend(common_args);
    let url = redis.url();
    args.push(&url);
    let a_args: Vec<&str> = args
        .iter()
        .copied()
        .chain([
            "--", "sh", "-c", &script_a, "_", "{}", ":::", "1", "2", "3", "4", "5",
        ])
        .collect();
    let mut a = spawn(&a_args, dir.path(), "a", None, &[]);
    assert!(wait_for(Duration::from_secs(20), || count(&marks, "a-") == 5));
    let script_b = format!("touch {m}/b-$1; sleep 2");
    let b_args: Vec<&str> = args
        .iter()
        .copied()
        .chain(["--", "sh", "-c", &script_b, "_", "{}", ":::"])
        .chain(["1", "2", "3", "4", "5", "6", "7", "8"])
        .collect();
    let b = spawn(&b_args, dir.path(), "b", None, &[]);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        count(&marks, "b-"),
        0,
        "B started a job while A held every place"
    );
    let killed = Instant::now();
    a.kill9();
    assert!(
        wait_for(Duration::from_secs(20), || count(&marks, "b-") == 5),
        "B never reached the full limit"
    );
    let took = killed.elapsed();
    eprintln!("B at the full limit {took:?} after A's kill (lease {lease:?})");
    // The promise is a lease plus a second (the waiters' poll); one more second for a
    // loaded machine to start five processes.
    assert!(
        took <= lease + Duration::from_secs(2),
        "B reached the full limit {took:?} after A died (lease {lease:?})"
    );
    let done = b.wait(Duration::from_secs(30));
    assert_eq!(done.code, 0, "{done:?}");
    assert_eq!(count(&marks, "b-"), 8);
    for entry in std::fs::read_dir(&marks).unwrap().flatten() {
        if entry.file_name().to_string_lossy().starts_with("a-") {
            // A's guard stops its jobs after A's death; end any that has not yet.
            let pid = std::fs::read_to_string(entry.path()).unwrap();
            let _ = std::process::Command::new("kill")
                .args(["-KILL", pid.trim()])
                .stderr(std::process::Stdio::null())
                .status();
        }
    }
}

#[test]
fn a_redis_restart_mid_run_crashes_nothing_exceeds_nothing_and_loses_nothing() {
    let Some(mut redis) = common::redis::server() else {
        return;
    };
    let http = Counting::start();
    let dir = tempfile::tempdir().unwrap();
    let logs: Vec<_> = (0..3)
        .map(|p| dir.path().join(format!("{p}.log")))
        .collect();
    let procs: Vec<Proc> = (0..3)
        .map(|p| {
            let args = [
                "fetch",
                "-j",
                "8",
                "--global-jobs",
                "5",
                "--lease",
                "2s",
                "--name",
                "restart",
                "--redis",
                &redis.url(),
                "--log",
                logs[p].to_str().unwrap(),
            ];
            spawn(
                &args,
                dir.path(),
                &p.to_string(),
                Some(urls(&http, 100, &format!("p{p}"), 40)),
                &[],
            )
        })
        .collect();
    assert!(wait_for(Duration::from_secs(20), || http.hits().len() >= 20));
    // Down for a while, and back empty (no persistence): the processes re-register what
    // they hold, and wait a lease before anything new is granted.
    redis.stop();
    std::thread::sleep(Duration::from_millis(1500));
    redis.restart(false);
    for p in procs {
        let done = p.wait(Duration::from_secs(60));
        assert_eq!(done.code, 0, "{done:?}");
        assert!(!done.stderr.contains("panicked"), "{}", done.stderr);
        // Said once each: the outage and its end.
        assert_eq!(
            done.stderr.matches("is unreachable").count(),
            1,
            "{}",
            done.stderr
        );
        assert_eq!(
            done.stderr.matches("is back after").count(),
            1,
            "{}",
            done.stderr
        );
        // The hold-back that follows is said, not silent.
        assert!(
            done.stderr
                .contains("Redis lost the data of the shared limit"),
            "{}",
            done.stderr
        );
    }
    assert!(http.peak() <= 5, "{} at once, limit 5", http.peak());
    assert!(http.hits().values().all(|&n| n == 1), "a URL fetched twice");
    let logs: Vec<&Path> = logs.iter().map(|p| p.as_path()).collect();
    assert_eq!(each_once_ok(&logs), 120);
}

#[test]
fn redis_timeout_stops_starting_jobs_and_keeps_the_finished_records() {
    let Some(mut redis) = common::redis::server() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("run.log");
    let inputs: Vec<String> = (1..=40).map(|i| i.to_string()).collect();
    let mut args = vec![
        "exec",
        "-j",
        "2",
        "--global-jobs",
        "2",
        "--redis-timeout",
        "1s",
        "--name",
        "timeout",
        "--redis",
    ];
    let url = redis.url();
    args.push(&url);
    args.extend([
        "--log",
        log.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "sleep 0.2; echo \"$1\"",
        "_",
        "{}",
        ":::",
    ]);
    args.extend(inputs.iter().map(String::as_str));
    let run = spawn(&args, dir.path(), "run", None, &[]);
    assert!(wait_for(Duration::from_secs(20), || log_records(
        &log, true
    )
    .len()
        >= 4));
    redis.stop();
    let done = run.wait(Duration::from_secs(30));
    assert_eq!(done.code, 255, "{done:?}");
    let giving_up: Vec<&str> = done
        .stderr
        .lines()
        .filter(|l| l.contains("giving up"))
        .collect();
    assert_eq!(giving_up.len(), 1, "said once: {}", done.stderr);
    assert!(
        giving_up[0].contains("starting no more jobs"),
        "{}",
        giving_up[0]
    );
    let records = log_records(&log, false);
    assert!(records.len() < 40, "every job ran despite the outage");
    assert!(records.iter().all(|r| r["ok"] == true), "{records:?}");
    // Every finished job is in the log, and printed.
    assert_eq!(done.stdout.lines().count(), records.len());
    // Redis back, --resume runs the rest: each input done once in all.
    redis.start();
    let mut again = args.clone();
    again.insert(1, "--resume");
    let rerun = spawn(&again, dir.path(), "rerun", None, &[]).wait(Duration::from_secs(60));
    assert_eq!(rerun.code, 0, "{rerun:?}");
    assert_eq!(each_once_ok(&[log.as_path()]), 40);
}

#[test]
fn bad_redis_settings_are_one_line_errors_before_any_job() {
    let Some(redis) = common::redis::server_with(false, Some("right-pw")) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // The job makes DIR/ran: the input is part of its one argument.
    let ran = dir.path().join("ran");
    let target = format!("{}/{{}}", dir.path().display());
    let touch = ["--", "touch", &target, ":::", "ran"];
    let wrong = format!("redis://:wrong-pw@127.0.0.1:{}", redis.port);
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec!["--redis", "reddis://x", "--global-jobs", "2"],
            "invalid Redis URL",
        ),
        (
            vec!["--redis", &wrong, "--global-jobs", "2"],
            "refused the credentials",
        ),
        (
            vec!["--global-jobs", "2"],
            "--global-jobs needs a Redis server",
        ),
        (
            vec!["--redis", "redis://127.0.0.1:1", "--queue", "q"],
            "--queue takes the inputs",
        ),
        (vec!["--global-jobs", "0"], "--global-jobs"),
        (
            vec!["--name", "a{b}", "--global-jobs", "1"],
            "not allowed in a name",
        ),
        (vec!["--lease", "10ms", "--global-jobs", "1"], "at least 1s"),
    ];
    for (options, says) in cases {
        let mut args = vec!["exec"];
        args.extend(options);
        args.extend(touch);
        let r = common::run(&args, None);
        common::assert_usage_error(&r);
        assert!(r.stderr.contains(says), "{args:?}: {}", r.stderr);
        assert!(
            !r.stderr.contains("wrong-pw"),
            "password shown: {}",
            r.stderr
        );
        assert!(!ran.exists(), "{args:?} ran a job");
    }
    // The password in INFLIGHT_REDIS is masked too; an unreachable server is waited for up
    // to --redis-timeout, then it is an error like the others.
    let mut cmd = common::inflight();
    cmd.env("INFLIGHT_REDIS", "redis://:secret@127.0.0.1:1")
        .args(["exec", "--global-jobs", "2", "--redis-timeout", "1s"])
        .args(touch);
    let r = common::finish(
        cmd.spawn().unwrap(),
        Instant::now(),
        Duration::from_secs(30),
    );
    assert_eq!(r.code(), 255, "{r:?}");
    assert!(
        r.stderr.contains("redis://:***@127.0.0.1:1"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("secret"), "{}", r.stderr);
    assert!(!ran.exists());
    // A run that asks nothing of Redis does not depend on it, even with INFLIGHT_REDIS set.
    let mut cmd = common::inflight();
    cmd.env("INFLIGHT_REDIS", "redis://127.0.0.1:1")
        .args(["exec", "--redis-timeout", "1s"])
        .args(touch);
    let r = common::finish(
        cmd.spawn().unwrap(),
        Instant::now(),
        Duration::from_secs(30),
    );
    assert_eq!(r.code(), 0, "{r:?}");
    assert!(ran.exists());
}

#[test]
fn limits_set_changes_the_limit_of_running_processes() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let http = Counting::start();
    let dir = tempfile::tempdir().unwrap();
    let url = redis.url();
    let args = [
        "fetch",
        "-q",
        "-j",
        "10",
        "--global-jobs",
        "2",
        "--name",
        "live",
        "--redis",
        &url,
    ];
    let run = spawn(
        &args,
        dir.path(),
        "run",
        Some(urls(&http, 300, "live", 40)),
        &[],
    );
    assert!(wait_for(Duration::from_secs(20), || http.running() == 2));
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(http.peak(), 2);
    let set = common::run(
        &["limits", "set", "live", "--jobs", "5", "--redis", &url],
        None,
    );
    assert_eq!(set.code(), 0, "{set:?}");
    assert!(set.stdout.contains("jobs      5"), "{}", set.stdout);
    assert!(
        wait_for(Duration::from_secs(10), || http.running() == 5),
        "the running process did not follow the new limit"
    );
    assert_eq!(run.wait(Duration::from_secs(60)).code, 0);
    assert_eq!(http.peak(), 5);
    let show = common::run(&["limits", "show", "live", "--redis", &url], None);
    assert!(show.stdout.contains("jobs      5"), "{}", show.stdout);
    assert!(show.stdout.contains("0 running now"), "{}", show.stdout);
    // The stored limit outlives the run: the next one is told it is in force.
    let next = common::run(
        &[
            "exec",
            "--global-jobs",
            "2",
            "--name",
            "live",
            "--redis",
            &url,
            "--",
            "true",
            ":::",
            "a",
        ],
        None,
    );
    assert_eq!(next.code(), 0, "{next:?}");
    assert!(
        next.stderr
            .contains("the shared limit 'live' is 5 (set by `inflight limits set`)"),
        "{}",
        next.stderr
    );
}

/// A server that speaks just enough of Redis's protocol to say it is version 5.0.7 (no
/// XAUTOCLAIM), on 127.0.0.1; returns its port.
fn old_redis() -> u16 {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut out = conn.try_clone().unwrap();
                let mut conn = BufReader::new(conn);
                let mut line = String::new();
                // Each command: *N, then N times $LEN and the bytes.
                while conn.read_line(&mut line).unwrap_or(0) > 0 {
                    let n: usize = line.trim()[1..].parse().unwrap_or(0);
                    let mut args = Vec::new();
                    for _ in 0..n {
                        line.clear();
                        conn.read_line(&mut line).unwrap();
                        let len: usize = line.trim()[1..].parse().unwrap();
                        let mut arg = vec![0; len + 2];
                        conn.read_exact(&mut arg).unwrap();
                        args.push(String::from_utf8_lossy(&arg[..len]).to_uppercase());
                    }
                    line.clear();
                    let reply = match args.first().map(String::as_str) {
                        Some("INFO") => {
                            let info = "# Server\r\nredis_version:5.0.7\r\n";
                            format!("${}\r\n{info}\r\n", info.len())
                        }
                        Some("PING") => "+PONG\r\n".to_string(),
                        _ => "-ERR unknown command\r\n".to_string(),
                    };
                    if out.write_all(reply.as_bytes()).is_err() {
                        return;
                    }
                }
            });
        }
    });
    port
}

#[test]
fn a_redis_too_old_for_the_scripts_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let ran = dir.path().join("ran");
    let target = format!("{}/{{}}", dir.path().display());
    let url = format!("redis://127.0.0.1:{}", old_redis());
    let args = [
        "exec",
        "--redis",
        &url,
        "--global-jobs",
        "2",
        "--",
        "touch",
        &target,
        ":::",
        "ran",
    ];
    let r = common::run(&args, None);
    common::assert_usage_error(&r);
    assert!(
        r.stderr
            .contains("version 5.0.7; inflight needs 6.2 or newer"),
        "{}",
        r.stderr
    );
    assert!(!ran.exists());
    let r = common::run(&["queue", "status", "q", "--redis", &url], None);
    common::assert_usage_error(&r);
}
