//! The queue at the speed of a local run, as processes on a real redis-server: workers take as
//! many inputs as they have free slots (and no more), acknowledge in batches, lose at most an
//! unsent batch to a kill -9, stop as soon as the last result is recorded; `--global-jobs`
//! batches its acquires and releases and still never exceeds its limit.
mod common;

use std::collections::HashSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::counting::Counting;
use common::procs::{spawn, Proc};
use common::redis::Server;
use common::wait_for;
use serde_json::Value;

/// `inflight queue push NAME` of `lines`, closed.
fn push(url: &str, name: &str, lines: &str) {
    let r = common::run(&["queue", "push", name, "--redis", url], Some(lines));
    assert_eq!(r.code(), 0, "{r:?}");
}

fn results(url: &str, name: &str) -> Vec<Value> {
    let r = common::run(&["queue", "results", name, "--redis", url], None);
    assert_eq!(r.code(), 0, "{r:?}");
    r.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Every seq 1..=n exactly once.
fn once_each(results: &[Value], n: u64) {
    let seqs: HashSet<u64> = results.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(results.len() as u64, n, "one result per input");
    assert_eq!(seqs, (1..=n).collect::<HashSet<_>>());
}

/// When the last result of queue `name` was recorded, by Redis's clock (its entry id).
fn last_result_at(redis: &Server, name: &str) -> Duration {
    let key = format!("inflight:queue:{{{name}}}:results");
    let last: Vec<(String, Vec<(String, String)>)> =
        redis.query(&["XREVRANGE", &key, "+", "-", "COUNT", "1"]);
    let ms: u64 = last[0].0.split('-').next().unwrap().parse().unwrap();
    Duration::from_millis(ms)
}

fn unix_now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap()
}

/// The "N Redis round trips" a run said on stderr (INFLIGHT_REDIS_TRIPS=1).
fn trips(stderr: &str) -> u64 {
    stderr
        .lines()
        .find_map(|l| {
            l.strip_prefix("inflight: ")?
                .strip_suffix(" Redis round trips")
        })
        .unwrap_or_else(|| panic!("no round trips said: {stderr}"))
        .parse()
        .unwrap()
}

/// Before, a worker whose last job was under way when it asked for more blocked a whole poll
/// (1 s) before it saw the queue finished; now the last acknowledgement wakes every worker.
#[test]
fn workers_exit_within_a_moment_of_the_last_result() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let lines: String = (0..12).map(|i| format!("{i}\n")).collect();
    push(&url, "prompt", &lines);
    // Jobs of different lengths: the workers finish at different times.
    let script = "sleep 0.$(( $1 % 4 ))";
    let workers: Vec<Proc> = ["A", "B"]
        .iter()
        .map(|tag| {
            let args = [
                "exec", "-q", "-j", "3", "--worker", tag, "--queue", "prompt", "--redis", &url,
                "--", "sh", "-c", script, "_", "{}",
            ];
            spawn(&args, dir.path(), tag, None, &[])
        })
        .collect();
    let mut exits = Vec::new();
    for w in workers {
        let done = w.wait(Duration::from_secs(30));
        exits.push(unix_now());
        assert_eq!(done.code, 0, "{done:?}");
    }
    once_each(&results(&url, "prompt"), 12);
    let last = last_result_at(&redis, "prompt");
    for exit in exits {
        let after = exit.saturating_sub(last);
        eprintln!("a worker exited {after:?} after the last result");
        assert!(
            after < Duration::from_secs(1),
            "exited {after:?} after the last result"
        );
    }
}

/// With the defaults, a worker at -j 10 takes no more than it can start, and takes and
/// acknowledges them in batches: far fewer than the 2 round trips per input of one take and
/// one acknowledgement each.
#[test]
fn a_worker_takes_what_its_free_slots_can_start_and_no_more() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let url = redis.url();
    let http = Counting::start();
    let dir = tempfile::tempdir().unwrap();
    let n = 300;
    let lines: String = (0..n)
        .map(|i| http.url(&format!("/wait/20/{i}")) + "\n")
        .collect();
    push(&url, "slots", &lines);
    let args = [
        "fetch", "-q", "-j", "10", "--worker", "W", "--queue", "slots", "--redis", &url,
    ];
    let mut w = spawn(
        &args,
        dir.path(),
        "W",
        None,
        &[("INFLIGHT_REDIS_TRIPS", "1")],
    );
    let held = || {
        let pending: Vec<redis::Value> = redis.query(&[
            "XPENDING",
            "inflight:queue:{slots}:inputs",
            "workers",
            "-",
            "+",
            "1000",
            "W",
        ]);
        pending.len()
    };
    let mut most = 0;
    while !w.exited() {
        most = most.max(held());
        std::thread::sleep(Duration::from_millis(5));
    }
    let done = w.wait(Duration::from_secs(5));
    assert_eq!(done.code, 0, "{done:?}");
    // Pending in Redis: the 10 running, and finished ones whose batch of results is not
    // recorded yet (a few ms each; a wave of 10 here); never a read batch's worth of extras
    // (`--read-batch 50` would hold 60).
    assert!(most <= 30, "held {most} inputs at -j 10");
    assert!(most >= 5, "the sampling saw the worker busy ({most})");
    assert!(http.peak() <= 10);
    once_each(&results(&url, "slots"), n);
    let per_input = trips(&done.stderr) as f64 / n as f64;
    eprintln!("{per_input:.2} round trips per input");
    assert!(per_input < 1.5, "{per_input} round trips per input");
}

/// kill -9 a worker mid-run: what it had finished but not yet recorded (at most one unsent
/// batch) and what it ran go to the other worker after the lease; every input ends with
/// exactly one result.
#[test]
fn a_worker_killed_mid_run_leaves_every_input_exactly_one_result() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let url = redis.url();
    let http = Counting::start();
    let dir = tempfile::tempdir().unwrap();
    let n = 400;
    let lines: String = (0..n)
        .map(|i| http.url(&format!("/wait/20/{i}")) + "\n")
        .collect();
    push(&url, "killed", &lines);
    let worker = |tag: &str| {
        let args = [
            "fetch", "-q", "-j", "20", "--lease", "1s", "--worker", tag, "--queue", "killed",
            "--redis", &url,
        ];
        spawn(&args, dir.path(), tag, None, &[])
    };
    let mut a = worker("A");
    let recorded = || -> u64 { redis.query(&["XLEN", "inflight:queue:{killed}:results"]) };
    assert!(wait_for(Duration::from_secs(30), || recorded() >= 60));
    a.kill9();
    let at_kill = recorded();
    assert!(at_kill < n, "A finished before its kill");
    let b = worker("B");
    let done = b.wait(Duration::from_secs(60));
    assert_eq!(done.code, 0, "{done:?}");
    let results = results(&url, "killed");
    once_each(&results, n);
    let by = |w: &str| results.iter().filter(|r| r["worker"] == w).count() as u64;
    // A's acknowledgements sent before the kill may land just after it; nothing after that.
    assert!(
        by("A") >= at_kill && by("A") + by("B") == n,
        "A {} B {}",
        by("A"),
        by("B")
    );
}

/// SIGTERM mid-run: the worker sends its unsent batch of results and gives back what it was
/// running, so nothing stays pending under it (which would wait a lease, then run again), and
/// every result it had is recorded.
#[test]
fn a_worker_stopped_by_sigterm_leaves_nothing_pending_under_it() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let url = redis.url();
    let http = Counting::start();
    let dir = tempfile::tempdir().unwrap();
    let n = 2000;
    let lines: String = (0..n)
        .map(|i| http.url(&format!("/wait/5/{i}")) + "\n")
        .collect();
    push(&url, "termed", &lines);
    // A linger of 5 ms and jobs of 5 ms: at any moment a batch of results is waiting to go.
    let log = dir.path().join("a.jsonl");
    let args = [
        "fetch",
        "-q",
        "-j",
        "20",
        "--lease",
        "60s",
        "--worker",
        "A",
        "--queue",
        "termed",
        "--redis",
        &url,
        "--log",
        log.to_str().unwrap(),
    ];
    let a = spawn(&args, dir.path(), "A", None, &[]);
    let recorded = || -> u64 { redis.query(&["XLEN", "inflight:queue:{termed}:results"]) };
    assert!(wait_for(Duration::from_secs(30), || recorded() >= 200));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(a.pid() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let done = a.wait(Duration::from_secs(30));
    assert_ne!(done.code, 0, "{done:?}");
    let pending: Vec<redis::Value> = redis.query(&[
        "XPENDING",
        "inflight:queue:{termed}:inputs",
        "workers",
        "-",
        "+",
        "10000",
        "A",
    ]);
    assert!(
        pending.is_empty(),
        "{} inputs left pending under A",
        pending.len()
    );
    let status = common::run(
        &["queue", "status", "termed", "--json", "--redis", &url],
        None,
    );
    let status: Value = serde_json::from_str(status.stdout.lines().next().unwrap()).unwrap();
    let stopped_at = recorded();
    assert!(stopped_at < n, "A finished before its SIGTERM");
    assert_eq!(status["done"].as_u64(), Some(stopped_at), "{status}");
    assert_eq!(status["in_flight"].as_u64(), Some(0), "{status}");
    assert_eq!(status["waiting"].as_u64(), Some(n - stopped_at), "{status}");
    // Every job A's log says finished well has its result in the queue, from A.
    let recorded: HashSet<u64> = results(&url, "termed")
        .iter()
        .filter(|r| r["worker"] == "A")
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    let finished: Vec<u64> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|r| r["ok"] == true)
        .map(|r| r["seq"].as_u64().unwrap())
        .collect();
    assert!(finished.len() as u64 >= 200);
    let lost: Vec<_> = finished.iter().filter(|s| !recorded.contains(s)).collect();
    assert!(
        lost.is_empty(),
        "{} finished jobs have no result: {lost:?}",
        lost.len()
    );
}

/// 4 processes at -j 50 under --global-jobs 20 with short requests, so that acquires and
/// releases come in batches: the server never sees more than 20 at once, and does see 20.
#[test]
fn batched_global_jobs_never_exceed_the_limit_over_four_processes() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let http = Counting::start();
    let dir = tempfile::tempdir().unwrap();
    let per_process = 150;
    let procs: Vec<Proc> = (0..4)
        .map(|p| {
            let lines: String = (0..per_process)
                .map(|i| http.url(&format!("/wait/5/p{p}-{i}")) + "\n")
                .collect();
            let args = [
                "fetch",
                "-q",
                "-j",
                "50",
                "--global-jobs",
                "20",
                "--name",
                "batched",
                "--redis",
                &redis.url(),
            ];
            spawn(&args, dir.path(), &p.to_string(), Some(lines), &[])
        })
        .collect();
    for p in procs {
        let done = p.wait(Duration::from_secs(60));
        assert_eq!(done.code, 0, "{done:?}");
    }
    assert_eq!(http.peak(), 20, "the global limit: reached, never exceeded");
    let hits = http.hits();
    assert_eq!(hits.len(), 4 * per_process);
    assert!(hits.values().all(|&n| n == 1), "a URL fetched twice");
}

/// With room for all, jobs that start and end together share their acquire and release
/// scripts: under the 2 round trips per job of one acquire and one release each.
#[test]
fn global_jobs_with_room_for_all_take_fewer_round_trips_than_jobs() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let http = Counting::start();
    let dir = tempfile::tempdir().unwrap();
    let n = 400;
    let lines: String = (0..n)
        .map(|i| http.url(&format!("/wait/5/{i}")) + "\n")
        .collect();
    let args = [
        "fetch",
        "-q",
        "-j",
        "40",
        "--global-jobs",
        "1000",
        "--name",
        "roomy",
        "--redis",
        &redis.url(),
    ];
    let p = spawn(
        &args,
        dir.path(),
        "p",
        Some(lines),
        &[("INFLIGHT_REDIS_TRIPS", "1")],
    );
    let done = p.wait(Duration::from_secs(60));
    assert_eq!(done.code, 0, "{done:?}");
    assert_eq!(http.hits().len(), n);
    let per_job = trips(&done.stderr) as f64 / n as f64;
    eprintln!("{per_job:.2} round trips per job");
    assert!(per_job < 1.5, "{per_job} round trips per job");
}
