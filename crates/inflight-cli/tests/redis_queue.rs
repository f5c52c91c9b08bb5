//! `inflight queue` and the workers `exec --queue` and `fetch --queue`, as processes, on a
//! real redis-server: each input's result exactly once whatever dies or restarts.
mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::counting::Counting;
use common::procs::{spawn, Done, Proc};
use common::redis::Server;
use common::wait_for;
use serde_json::Value;

fn inputs(n: usize) -> String {
    (0..n).map(|i| format!("input-{i}\n")).collect()
}

/// `inflight queue ARGS` run to its end.
fn queue_cmd(args: &[&str], stdin: Option<&str>) -> common::Run {
    let mut all = vec!["queue"];
    all.extend(args);
    common::run(&all, stdin)
}

/// The results of queue `name` as JSON.
fn results(url: &str, name: &str) -> Vec<Value> {
    let r = queue_cmd(&["results", name, "--redis", url], None);
    assert_eq!(r.code(), 0, "{r:?}");
    r.stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Each of `expected` once in the results, with its own seq (position + 1 of input-i is
/// i + 1); returns the results by input.
fn once_each(results: &[Value], expected: usize) -> HashMap<String, Value> {
    let mut by_input = HashMap::new();
    for r in results {
        let input = r["input"].as_str().unwrap().to_string();
        let i: u64 = input.trim_start_matches("input-").parse().unwrap();
        assert_eq!(r["seq"], i + 1, "{r}");
        assert!(r["worker"].is_string(), "{r}");
        assert!(
            by_input.insert(input.clone(), r.clone()).is_none(),
            "{input} has two results"
        );
    }
    assert_eq!(by_input.len(), expected, "results missing");
    by_input
}

/// Inputs not taken by any worker, as Redis has them: pushed less taken, the queue's own
/// counts (settled inputs stay in the stream until they are trimmed off its front, so its
/// length is not this).
fn waiting(redis: &Server, name: &str) -> u64 {
    let meta = format!("inflight:queue:{{{name}}}:meta");
    redis.query(&["EVAL", UNTAKEN, "1", &meta])
}

/// Pushed less taken, from the meta hash KEYS[1] (0 without it).
const UNTAKEN: &str = "local m = redis.call('HMGET', KEYS[1], 'pushed', 'taken') \
     return (tonumber(m[1]) or 0) - (tonumber(m[2]) or 0)";

#[test]
fn ten_thousand_inputs_through_three_workers_started_at_different_times() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let push = queue_cmd(&["push", "big", "--redis", &url], Some(&inputs(10_000)));
    assert_eq!(push.code(), 0, "{push:?}");
    assert!(
        push.stderr.contains("10000 inputs pushed"),
        "{}",
        push.stderr
    );
    let follow = spawn(
        &["queue", "results", "big", "--follow", "--redis", &url],
        dir.path(),
        "follow",
        None,
        &[],
    );
    let worker = |tag: &str| {
        let args = [
            "exec", "-q", "-j", "8", "--queue", "big", "--redis", &url, "--", "echo", "{}",
        ];
        spawn(&args, dir.path(), tag, None, &[])
    };
    let mut workers = vec![worker("w1")];
    for tag in ["w2", "w3"] {
        let before = redis.query::<Option<u64>>(&["HGET", "inflight:queue:{big}:meta", "done"]);
        assert!(
            wait_for(Duration::from_secs(30), || {
                redis.query::<Option<u64>>(&["HGET", "inflight:queue:{big}:meta", "done"]) > before
            }),
            "no progress"
        );
        std::thread::sleep(Duration::from_millis(300));
        workers.push(worker(tag));
    }
    let mut outputs = Vec::new();
    for w in workers {
        let done = w.wait(Duration::from_secs(120));
        assert_eq!(done.code, 0, "{done:?}");
        outputs.extend(done.stdout.lines().map(str::to_string));
    }
    let all: HashSet<String> = (0..10_000).map(|i| format!("input-{i}")).collect();
    let got: HashSet<String> = outputs.iter().cloned().collect();
    assert_eq!(
        got, all,
        "the union of the workers' outputs is the input set"
    );
    let by_input = once_each(&results(&url, "big"), 10_000);
    let workers: HashSet<&str> = by_input
        .values()
        .map(|r| r["worker"].as_str().unwrap())
        .collect();
    assert_eq!(workers.len(), 3, "all three worked: {workers:?}");
    let followed = follow.wait(Duration::from_secs(30));
    assert_eq!(followed.code, 0);
    assert_eq!(
        followed.stdout.lines().count(),
        10_000,
        "--follow ends with the queue"
    );
    let status = queue_cmd(
        &[
            "status",
            "big",
            "--json",
            "--interval",
            "100ms",
            "--redis",
            &url,
        ],
        None,
    );
    let s: Value = serde_json::from_str(status.stdout.trim()).unwrap();
    assert_eq!(
        (s["pushed"].as_u64(), s["done"].as_u64()),
        (Some(10_000), Some(10_000)),
        "{s}"
    );
    assert_eq!(s["finished"], true);
}

#[test]
fn a_killed_workers_inputs_are_done_by_the_others_within_the_lease() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        queue_cmd(&["push", "kill", "--redis", &url], Some(&inputs(30))).code(),
        0
    );
    // A's jobs hang (SLOW, a directory for their pids, is set in its environment), B's
    // finish at once.
    let pids = dir.path().join("pids");
    std::fs::create_dir(&pids).unwrap();
    let script = "if [ -n \"$SLOW\" ]; then echo $$ > \"$SLOW/$1\"; exec sleep 20; fi; echo \"$1\"";
    let worker = |tag: &str, env: &[(&str, &str)]| {
        let args = [
            "exec", "-q", "-j", "4", "--lease", "2s", "--worker", tag, "--queue", "kill",
            "--redis", &url, "--", "sh", "-c", script, "_", "{}",
        ];
        spawn(&args, dir.path(), tag, None, env)
    };
    let mut a = worker("A", &[("SLOW", pids.to_str().unwrap())]);
    let held_by_a = || {
        let pending: Vec<redis::Value> = redis.query(&[
            "XPENDING",
            "inflight:queue:{kill}:inputs",
            "workers",
            "-",
            "+",
            "100",
            "A",
        ]);
        pending.len()
    };
    assert!(wait_for(Duration::from_secs(20), || held_by_a() == 4));
    let b = worker("B", &[]);
    // B does everything but A's four, which wait under A's lease.
    assert!(wait_for(Duration::from_secs(30), || results(&url, "kill")
        .len()
        == 26));
    let killed = Instant::now();
    a.kill9();
    assert!(
        wait_for(Duration::from_secs(20), || results(&url, "kill").len()
            == 30),
        "A's inputs were never done"
    );
    let took = killed.elapsed();
    eprintln!("A's inputs done {took:?} after its kill (lease 2s)");
    // Promised: the lease (2 s) plus a second; one more for a loaded machine.
    assert!(
        took <= Duration::from_secs(4),
        "A's inputs done {took:?} after it died"
    );
    assert_eq!(b.wait(Duration::from_secs(30)).code, 0);
    let by_input = once_each(&results(&url, "kill"), 30);
    assert!(by_input.values().all(|r| r["worker"] == "B"));
    // A's guard stops its jobs after A's death; end any that has not yet, by its pid.
    for entry in std::fs::read_dir(&pids).unwrap().flatten() {
        let pid = std::fs::read_to_string(entry.path()).unwrap();
        let _ = std::process::Command::new("kill")
            .args(["-KILL", pid.trim()])
            .stderr(std::process::Stdio::null())
            .status();
    }
}

#[test]
fn a_push_killed_midway_and_run_again_pushes_each_input_once() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let n = 3000;
    let meta = "inflight:queue:{resume}:meta";
    // No workers: the push stops at --max-pending and waits there, mid-way; killed then.
    let args = [
        "queue",
        "push",
        "resume",
        "--max-pending",
        "1000",
        "--batch",
        "70",
        "--redis",
        &url,
    ];
    let mut push = spawn(&args, dir.path(), "push1", Some(inputs(n)), &[]);
    assert!(wait_for(Duration::from_secs(20), || {
        redis
            .query::<Option<u64>>(&["HGET", meta, "pushed"])
            .unwrap_or(0)
            >= 500
    }));
    push.kill9();
    let first: u64 = redis
        .query::<Option<u64>>(&["HGET", meta, "pushed"])
        .unwrap();
    assert!((500..3000).contains(&first), "{first}");
    assert_ne!(
        redis.query::<Option<String>>(&["HGET", meta, "closed"]),
        Some("1".into())
    );
    // Run again with a worker taking inputs: it goes on after the last input in, and closes.
    let http = Counting::start();
    let again = spawn(
        &["queue", "push", "resume", "--redis", &url],
        dir.path(),
        "push2",
        Some(inputs(n)),
        &[],
    );
    let done = again.wait(Duration::from_secs(60));
    assert_eq!(done.code, 0, "{done:?}");
    assert!(
        done.stderr
            .contains(&format!("{} inputs pushed", n as u64 - first))
            && done.stderr.contains(&format!("({first} were in already)")),
        "{}",
        done.stderr
    );
    // The stream holds every position once, each with its own input.
    let entries: Vec<(String, HashMap<String, String>)> =
        redis.query(&["XRANGE", "inflight:queue:{resume}:inputs", "-", "+"]);
    let mut positions = HashSet::new();
    for (_, fields) in &entries {
        let pos: usize = fields["pos"].parse().unwrap();
        assert_eq!(fields["input"], format!("input-{pos}"));
        assert!(positions.insert(pos), "input {pos} pushed twice");
    }
    assert_eq!(positions.len(), n, "inputs missing");
    let _ = http;
}

#[test]
fn max_pending_bounds_what_waits_in_redis() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let url = redis.url();
    let http = Counting::start();
    let dir = tempfile::tempdir().unwrap();
    let n = 10_000;
    let urls: String = (0..n)
        .map(|i| http.url(&format!("/u/input-{i}")) + "\n")
        .collect();
    let push = spawn(
        &[
            "queue",
            "push",
            "bounded",
            "--max-pending",
            "100",
            "--redis",
            &url,
        ],
        dir.path(),
        "push",
        Some(urls),
        &[],
    );
    // Sampled every few milliseconds while the run goes on.
    let most = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (most, stop) = (most.clone(), stop.clone());
        let conn_url = url.clone();
        std::thread::spawn(move || {
            let server = redis::Client::open(conn_url).unwrap();
            let mut conn = server.get_connection().unwrap();
            let key = "inflight:queue:{bounded}:meta";
            let untaken = redis::Script::new(UNTAKEN);
            let mut samples = 0u64;
            while !stop.load(SeqCst) {
                let waiting: u64 = untaken.key(key).invoke(&mut conn).unwrap_or(0);
                most.fetch_max(waiting, SeqCst);
                samples += 1;
                std::thread::sleep(Duration::from_millis(2));
            }
            samples
        })
    };
    assert!(wait_for(Duration::from_secs(20), || waiting(
        &redis, "bounded"
    ) >= 90));
    let workers: Vec<Proc> = (0..2)
        .map(|w| {
            let args = [
                "fetch", "-q", "-j", "16", "--queue", "bounded", "--redis", &url,
            ];
            spawn(&args, dir.path(), &format!("w{w}"), None, &[])
        })
        .collect();
    // The CLI's own view, mid-run.
    let status = queue_cmd(
        &[
            "status",
            "bounded",
            "--json",
            "--interval",
            "100ms",
            "--redis",
            &url,
        ],
        None,
    );
    let s: Value = serde_json::from_str(status.stdout.trim()).unwrap();
    assert!(s["waiting"].as_u64().unwrap() <= 100, "{s}");
    assert_eq!(push.wait(Duration::from_secs(120)).code, 0);
    for w in workers {
        let done: Done = w.wait(Duration::from_secs(120));
        assert_eq!(done.code, 0, "{done:?}");
    }
    stop.store(true, SeqCst);
    let samples = sampler.join().unwrap();
    assert!(samples > 100, "only {samples} samples");
    let most = most.load(SeqCst);
    assert!(
        most <= 100,
        "{most} inputs waited in Redis, --max-pending 100"
    );
    assert!(
        most >= 90,
        "the bound was never approached ({most}): the test saw nothing"
    );
    let results = results(&url, "bounded");
    assert_eq!(results.len(), n);
    let seqs: HashSet<u64> = results.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs.len(), n);
    assert_eq!(http.hits().len(), n);
}

#[test]
fn a_poison_input_that_kills_its_worker_is_dead_lettered_after_three_deliveries() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let mut list = inputs(12);
    list.insert_str(0, "poison\n");
    assert_eq!(
        queue_cmd(&["push", "poison", "--redis", &url], Some(&list)).code(),
        0
    );
    // The poison input kills the worker that runs it (its parent), every time.
    let script = "if [ \"$1\" = poison ]; then kill -9 $PPID; sleep 5; fi; echo \"$1\"";
    let args = [
        "exec", "-q", "-j", "1", "--lease", "1s", "--queue", "poison", "--redis", &url, "--", "sh",
        "-c", script, "_", "{}",
    ];
    let mut crashes = 0;
    let last = loop {
        let done = spawn(&args, dir.path(), &format!("w{crashes}"), None, &[])
            .wait(Duration::from_secs(60));
        if done.code == 0 {
            break done;
        }
        assert_eq!(done.code, -1, "killed by SIGKILL: {done:?}");
        crashes += 1;
        assert!(crashes <= 3, "more than 3 deliveries of the poison input");
    };
    assert_eq!(crashes, 3, "{last:?}");
    let dead = queue_cmd(&["dead", "poison", "--redis", &url], None);
    let letters: Vec<Value> = dead
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(letters.len(), 1, "{}", dead.stdout);
    assert_eq!(letters[0]["input"], "poison");
    assert_eq!(letters[0]["deliveries"], 3);
    let results = results(&url, "poison");
    assert_eq!(results.len(), 12, "the rest finish");
    assert!(results
        .iter()
        .all(|r| r["ok"] == true && r["input"] != "poison"));
    let status = queue_cmd(
        &[
            "status",
            "poison",
            "--json",
            "--interval",
            "100ms",
            "--redis",
            &url,
        ],
        None,
    );
    let s: Value = serde_json::from_str(status.stdout.trim()).unwrap();
    assert_eq!(
        (s["done"].as_u64(), s["dead"].as_u64()),
        (Some(12), Some(1)),
        "{s}"
    );
}

#[test]
fn a_redis_restart_with_appendonly_loses_nothing_and_push_and_workers_go_on() {
    let Some(mut redis) = common::redis::server_with(true, None) else {
        return;
    };
    let url = redis.url();
    let http = Counting::start();
    let dir = tempfile::tempdir().unwrap();
    let n = 2000;
    let urls: String = (0..n)
        .map(|i| http.url(&format!("/wait/1/input-{i}")) + "\n")
        .collect();
    let push = spawn(
        &[
            "queue",
            "push",
            "restart",
            "--max-pending",
            "300",
            "--redis",
            &url,
        ],
        dir.path(),
        "push",
        Some(urls),
        &[],
    );
    let workers: Vec<Proc> = (0..2)
        .map(|w| {
            // The default lease (60 s): nothing may wait for it, not even an input whose
            // take the restart cut off before its reply (the worker looks for those).
            let args = ["fetch", "-j", "8", "--queue", "restart", "--redis", &url];
            spawn(&args, dir.path(), &format!("w{w}"), None, &[])
        })
        .collect();
    assert!(wait_for(Duration::from_secs(30), || {
        redis
            .query::<Option<u64>>(&["HGET", "inflight:queue:{restart}:meta", "done"])
            .unwrap_or(0)
            >= 500
    }));
    redis.stop();
    std::thread::sleep(Duration::from_millis(1500));
    redis.start();
    let back = Instant::now();
    let pushed = push.wait(Duration::from_secs(120));
    assert_eq!(pushed.code, 0, "{pushed:?}");
    for w in workers {
        // Well within the 60 s lease: no input waited for it.
        let left = Duration::from_secs(45).saturating_sub(back.elapsed());
        let done = w.wait(left.max(Duration::from_millis(1)));
        assert_eq!(done.code, 0, "{done:?}");
        assert!(done.stderr.contains("is unreachable"), "{}", done.stderr);
        assert!(done.stderr.contains("is back after"), "{}", done.stderr);
    }
    let results = results(&url, "restart");
    let seqs: HashSet<u64> = results.iter().map(|r| r["seq"].as_u64().unwrap()).collect();
    assert_eq!((results.len(), seqs.len()), (n, n), "each input once");
    assert_eq!(http.hits().len(), n);
}

#[test]
fn ctrl_c_once_finishes_and_acknowledges_twice_gives_the_inputs_back_at_once() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        queue_cmd(&["push", "stop", "--redis", &url], Some(&inputs(12))).code(),
        0
    );
    let held = |worker: &str| {
        let pending: Vec<redis::Value> = redis.query(&[
            "XPENDING",
            "inflight:queue:{stop}:inputs",
            "workers",
            "-",
            "+",
            "100",
            worker,
        ]);
        pending.len()
    };
    let worker = |tag: &str, sleep: &str| {
        let script = format!("sleep {sleep}; echo \"$1\"");
        let args = [
            "exec", "-j", "3", "--worker", tag, "--queue", "stop", "--redis", &url, "--", "sh",
            "-c", &script, "_", "{}",
        ];
        spawn(&args, dir.path(), tag, None, &[])
    };
    // Once: A stops taking, finishes its three and records them.
    let a = worker("A", "1");
    assert!(wait_for(Duration::from_secs(20), || held("A") == 3));
    common::signal(a.pid(), "INT");
    let done = a.wait(Duration::from_secs(20));
    assert_eq!(done.code, 130, "{done:?}");
    assert_eq!(done.stdout.lines().count(), 3, "{done:?}");
    assert_eq!(results(&url, "stop").len(), 3);
    assert_eq!(held("A"), 0);
    // Twice: B's jobs are killed and their inputs go back at once (the lease is 60 s).
    let b = worker("B", "30");
    assert!(wait_for(Duration::from_secs(20), || held("B") == 3));
    common::signal(b.pid(), "INT");
    std::thread::sleep(Duration::from_millis(300));
    common::signal(b.pid(), "INT");
    let done = b.wait(Duration::from_secs(20));
    assert_eq!(done.code, 130, "{done:?}");
    let c = worker("C", "0");
    let done = c.wait(Duration::from_secs(20));
    assert_eq!(done.code, 0, "{done:?}");
    let by_input = once_each(&results(&url, "stop"), 12);
    assert_eq!(by_input.values().filter(|r| r["worker"] == "C").count(), 9);
    // --watch ends by itself once the queue is finished; the text says it all.
    let watch = queue_cmd(
        &[
            "status",
            "stop",
            "--watch",
            "--interval",
            "100ms",
            "--redis",
            &url,
        ],
        None,
    );
    assert_eq!(watch.code(), 0, "{watch:?}");
    for field in [
        "closed, finished",
        "pushed     12",
        "done       12",
        "waiting    0",
        "rate",
        "eta",
    ] {
        assert!(watch.stdout.contains(field), "{field}: {}", watch.stdout);
    }
}

#[test]
fn queue_commands_say_what_is_wrong_in_one_line() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let url = redis.url();
    let r = common::run(&["queue", "push", "q"], Some("a\n"));
    common::assert_usage_error(&r);
    assert!(r.stderr.contains("--redis"), "{}", r.stderr);
    let r = common::run_bytes(
        &["queue", "push", "bytes", "--redis", &url],
        b"ok\nbad\xff\nlater\n".to_vec(),
        None,
    );
    assert_eq!(r.code(), 255, "{r:?}");
    assert!(r.stderr.contains("line 2 is not UTF-8"), "{}", r.stderr);
    assert!(r.stderr.contains("1 inputs pushed"), "{}", r.stderr);
    let r = common::run(
        &[
            "exec",
            "--queue",
            "q",
            "--resume",
            "--log",
            "/dev/null",
            "--redis",
            &url,
            "--",
            "true",
        ],
        None,
    );
    common::assert_usage_error(&r);
    let r = common::run(
        &["fetch", "--queue", "q", "--redis", &url, "urls.txt"],
        None,
    );
    common::assert_usage_error(&r);
    // A queue left open is closed by `queue close`; its worker then ends.
    let r = queue_cmd(
        &["push", "open", "--keep-open", "--redis", &url],
        Some("a\nb\n"),
    );
    assert!(r.code() == 0 && !r.stderr.contains("closed"), "{r:?}");
    assert_eq!(
        queue_cmd(&["close", "open", "--redis", &url], None).code(),
        0
    );
    let w = common::run(
        &[
            "exec", "-q", "--queue", "open", "--redis", &url, "--", "true",
        ],
        None,
    );
    assert_eq!(w.code(), 0, "{w:?}");
    assert_eq!(results(&url, "open").len(), 2);
    let r = common::run(&["exec", "--queue", "q", "--", "true"], None);
    common::assert_usage_error(&r);
    assert!(
        r.stderr.contains("--queue needs a Redis server"),
        "{}",
        r.stderr
    );
}

#[test]
fn an_input_that_ran_twice_has_one_result() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        queue_cmd(&["push", "twice", "--redis", &url], Some(&inputs(4))).code(),
        0
    );
    let worker = |tag: &str, script: &str| {
        let args = [
            "exec", "-q", "-j", "4", "--lease", "1s", "--worker", tag, "--queue", "twice",
            "--redis", &url, "--", "sh", "-c", script, "_", "{}",
        ];
        spawn(&args, dir.path(), tag, None, &[])
    };
    // A takes all four and stalls past its lease (SIGSTOP) while its jobs run on.
    let a = worker("A", "sleep 1; echo \"$1\"");
    let held = || {
        let pending: Vec<redis::Value> = redis.query(&[
            "XPENDING",
            "inflight:queue:{twice}:inputs",
            "workers",
            "-",
            "+",
            "100",
            "A",
        ]);
        pending.len()
    };
    assert!(wait_for(Duration::from_secs(20), || held() == 4));
    common::signal(a.pid(), "STOP");
    // B claims them once A's lease has run out, runs them and records them.
    let b = worker("B", "echo \"$1\"").wait(Duration::from_secs(20));
    assert_eq!(b.code, 0, "{b:?}");
    // A comes back: it ran them too, and says its leases ran out; its acks are duplicates.
    common::signal(a.pid(), "CONT");
    let a = a.wait(Duration::from_secs(20));
    assert_eq!(a.code, 0, "{a:?}");
    assert_eq!(a.stdout.lines().count(), 4, "A ran them: {a:?}");
    assert_eq!(b.stdout.lines().count(), 4, "B ran them: {b:?}");
    assert!(a.stderr.contains("had a result already"), "{}", a.stderr);
    let by_input = once_each(&results(&url, "twice"), 4);
    assert!(
        by_input.values().all(|r| r["worker"] == "B"),
        "{by_input:?}"
    );
}

#[test]
fn a_slow_producers_lines_reach_the_queue_as_they_come() {
    use std::io::Write;
    let Some(redis) = common::redis::server() else {
        return;
    };
    let url = redis.url();
    let meta = "inflight:queue:{trickle}:meta";
    let pushed = || {
        redis
            .query::<Option<u64>>(&["HGET", meta, "pushed"])
            .unwrap_or(0)
    };
    let mut push = common::inflight()
        .args(["queue", "push", "trickle", "--redis", &url])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = push.stdin.take().unwrap();
    // One line, and the pipe stays open: it must not wait for a batch of a hundred.
    stdin.write_all(b"first\n").unwrap();
    stdin.flush().unwrap();
    assert!(
        wait_for(Duration::from_secs(10), || pushed() == 1),
        "a lone line was held back"
    );
    stdin.write_all(b"second\n").unwrap();
    drop(stdin);
    assert!(push.wait().unwrap().success());
    assert_eq!(pushed(), 2);
}
