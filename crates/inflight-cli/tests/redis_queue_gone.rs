//! A work queue that goes away or never was, and the names and counts of its workers, as a
//! user meets them, with real `inflight` processes on a real redis-server: a queue deleted,
//! flushed or lost in a restart under its workers stops them with a word and a non-zero exit,
//! and nothing they write makes it again; a queue that does not exist is said to be missing;
//! a live worker's name is not shared; the status counts what is really in flight; results
//! keep no password; --redis-timeout bounds the end of a worker too.
mod common;

use std::time::{Duration, Instant};

use common::procs::{spawn, Proc};
use common::redis::Server;
use common::wait_for;

fn inputs(n: usize) -> String {
    (0..n).map(|i| format!("input-{i}\n")).collect()
}

/// `inflight queue ARGS` run to its end.
fn queue_cmd(args: &[&str], stdin: Option<&str>) -> common::Run {
    let mut all = vec!["queue"];
    all.extend(args);
    common::run(&all, stdin)
}

/// A worker `exec --queue NAME --worker TAG` whose jobs sleep `sleep` seconds (its output in
/// files of its own, even when it shares its name with another).
fn worker(
    url: &str,
    dir: &std::path::Path,
    name: &str,
    tag: &str,
    sleep: &str,
    extra: &[&str],
) -> Proc {
    static STARTED: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let files = format!(
        "{tag}-{}",
        STARTED.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    );
    let script = format!("sleep {sleep}; echo \"$1\"");
    let mut args = vec![
        "exec", "-j", "2", "--worker", tag, "--queue", name, "--redis", url,
    ];
    args.extend(extra);
    args.extend(["--", "sh", "-c", &script, "_", "{}"]);
    spawn(&args, dir, &files, None, &[])
}

/// Every key of queue `name` that Redis holds.
fn keys_of(redis: &Server, name: &str) -> Vec<String> {
    let mut keys: Vec<String> = redis.query(&["KEYS", &format!("inflight:queue:{{{name}}}:*")]);
    keys.sort();
    keys
}

fn done(redis: &Server, name: &str) -> u64 {
    let meta = format!("inflight:queue:{{{name}}}:meta");
    redis
        .query::<Option<u64>>(&["HGET", &meta, "done"])
        .unwrap_or(0)
}

#[test]
fn a_queue_deleted_under_a_running_worker_stops_it_and_stays_deleted() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        queue_cmd(&["push", "del", "--redis", &url], Some(&inputs(40))).code(),
        0
    );
    let w = worker(&url, dir.path(), "del", "W", "0.3", &[]);
    assert!(wait_for(Duration::from_secs(20), || done(&redis, "del") >= 2));
    let deleted = queue_cmd(&["delete", "del", "--redis", &url], None);
    assert_eq!(deleted.code(), 0, "{deleted:?}");
    assert!(
        deleted.stderr.contains("1 live worker") && deleted.stderr.contains("W"),
        "delete warns of the live worker: {}",
        deleted.stderr
    );
    let ended = w.wait(Duration::from_secs(20));
    assert_ne!(ended.code, 0, "{ended:?}");
    assert!(
        ended.stderr.contains("the queue del was deleted"),
        "{}",
        ended.stderr
    );
    assert!(
        ended.stdout.lines().count() < 40,
        "it stopped taking inputs"
    );
    // Its last acknowledgements and give-backs were refused: nothing but the marker of the
    // deletion, which goes by itself.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(keys_of(&redis, "del"), vec!["inflight:queue:{del}:deleted"]);
    let status = queue_cmd(&["status", "del", "--redis", &url], None);
    assert_ne!(status.code(), 0, "{status:?}");
    assert!(
        status.stderr.contains("no queue named del"),
        "{}",
        status.stderr
    );
}

/// A worker runs slow jobs on 60 inputs; `lose` makes Redis lose everything; the worker says
/// so and exits non-zero, and writes nothing back.
fn lost_under_a_worker(mut redis: Server, lose: impl FnOnce(&mut Server)) {
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        queue_cmd(&["push", "lost", "--redis", &url], Some(&inputs(60))).code(),
        0
    );
    let w = worker(&url, dir.path(), "lost", "W", "0.3", &[]);
    assert!(wait_for(Duration::from_secs(20), || done(&redis, "lost") >= 2));
    lose(&mut redis);
    let ended = w.wait(Duration::from_secs(30));
    assert_ne!(ended.code, 0, "{ended:?}");
    assert!(
        ended
            .stderr
            .contains("Redis lost the data of the queue lost"),
        "{}",
        ended.stderr
    );
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(keys_of(&redis, "lost"), Vec::<String>::new());
}

#[test]
fn flushall_under_a_worker_is_said_and_the_worker_exits_non_zero() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    lost_under_a_worker(redis, |r| {
        let _: String = r.query(&["FLUSHALL"]);
    });
}

#[test]
fn a_redis_restarted_empty_under_a_worker_is_said_and_the_worker_exits_non_zero() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    lost_under_a_worker(redis, |r| r.restart(false));
}

#[test]
fn a_queue_that_does_not_exist_is_said_so_and_never_made() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    for cmd in ["status", "results", "dead", "close", "delete"] {
        let r = queue_cmd(&[cmd, "nope", "--redis", &url], None);
        assert_ne!(r.code(), 0, "{cmd}: {r:?}");
        assert_eq!(r.stderr.trim(), "inflight: no queue named nope", "{cmd}");
    }
    let dbsize: u64 = redis.query(&["DBSIZE"]);
    assert_eq!(dbsize, 0, "{:?}", keys_of(&redis, "nope"));
    // A worker says once that it waits for a push, makes nothing meanwhile, and works once
    // the queue is pushed.
    let w = worker(&url, dir.path(), "nope", "W", "0", &[]);
    assert!(wait_for(Duration::from_secs(10), || w
        .stderr()
        .contains("does not exist yet")));
    std::thread::sleep(Duration::from_millis(2500));
    let dbsize: u64 = redis.query(&["DBSIZE"]);
    assert_eq!(dbsize, 0, "{:?}", keys_of(&redis, "nope"));
    assert_eq!(
        queue_cmd(&["push", "nope", "--redis", &url], Some(&inputs(3))).code(),
        0
    );
    let ended = w.wait(Duration::from_secs(20));
    assert_eq!(ended.code, 0, "{ended:?}");
    assert_eq!(ended.stdout.lines().count(), 3);
    assert_eq!(
        ended.stderr.matches("does not exist yet").count(),
        1,
        "said once: {}",
        ended.stderr
    );
    assert!(
        ended
            .stderr
            .contains("queue nope does not exist yet; waiting for a push"),
        "{}",
        ended.stderr
    );
}

/// An empty input makes an empty queue and closes it, as `xargs` on no input runs nothing and
/// succeeds: the push exits 0, and workers already waiting for the queue end at once with 0.
#[test]
fn pushing_no_inputs_makes_a_closed_empty_queue_that_ends_its_waiting_workers() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    let w = worker(&url, dir.path(), "empty", "W", "0", &[]);
    assert!(wait_for(Duration::from_secs(10), || w
        .stderr()
        .contains("does not exist yet")));
    let push = queue_cmd(&["push", "empty", "--redis", &url], Some(""));
    assert_eq!(push.code(), 0, "{push:?}");
    assert!(
        push.stderr.contains("queue empty closed"),
        "{}",
        push.stderr
    );
    let pushed = Instant::now();
    let ended = w.wait(Duration::from_secs(10));
    assert_eq!(ended.code, 0, "{ended:?}");
    assert_eq!(ended.stdout, "");
    let after = pushed.elapsed();
    assert!(
        after < Duration::from_secs(2),
        "ended {after:?} after the push"
    );
    let status = queue_cmd(&["status", "empty", "--redis", &url], None);
    assert_eq!(status.code(), 0, "{status:?}");
    // It is closed: a push of inputs says so in one line.
    let late = queue_cmd(&["push", "empty", "--redis", &url], Some(&inputs(2)));
    assert_eq!(late.code(), 255, "{late:?}");
    assert_eq!(
        late.stderr.trim(),
        "inflight: the queue empty is closed: no more inputs can be pushed to it"
    );
}

#[test]
fn a_second_live_worker_of_the_same_name_is_refused_and_a_dead_ones_name_is_free() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        queue_cmd(&["push", "names", "--redis", &url], Some(&inputs(8))).code(),
        0
    );
    let a = worker(&url, dir.path(), "names", "W", "0.5", &["--lease", "1s"]);
    assert!(wait_for(Duration::from_secs(20), || done(&redis, "names") >= 1));
    let b = worker(&url, dir.path(), "names", "W", "0", &["--lease", "1s"])
        .wait(Duration::from_secs(10));
    assert_eq!(b.code, 255, "{b:?}");
    assert!(b.stderr.contains("a live worker named W"), "{}", b.stderr);
    assert_eq!(b.stdout, "", "B ran nothing");
    let a = a.wait(Duration::from_secs(30));
    assert_eq!(a.code, 0, "A was not disturbed: {a:?}");
    assert_eq!(a.stdout.lines().count(), 8, "{a:?}");
    // A worker killed with -9 keeps its name until its lease passes without a heartbeat.
    assert_eq!(
        queue_cmd(&["push", "names2", "--redis", &url], Some(&inputs(4))).code(),
        0
    );
    let mut c = worker(&url, dir.path(), "names2", "C", "30", &["--lease", "1s"]);
    assert!(wait_for(Duration::from_secs(20), || {
        let pending: Vec<redis::Value> = redis.query(&[
            "XPENDING",
            "inflight:queue:{names2}:inputs",
            "workers",
            "-",
            "+",
            "10",
            "C",
        ]);
        !pending.is_empty()
    }));
    c.kill9();
    let at_once = worker(&url, dir.path(), "names2", "C", "0", &["--lease", "1s"])
        .wait(Duration::from_secs(10));
    assert_eq!(at_once.code, 255, "{at_once:?}");
    std::thread::sleep(Duration::from_millis(1200));
    let later = worker(&url, dir.path(), "names2", "C", "0", &["--lease", "1s"])
        .wait(Duration::from_secs(20));
    assert_eq!(later.code, 0, "{later:?}");
    assert_eq!(later.stdout.lines().count(), 4);
    // (The killed worker's jobs, `sleep 30`, are orphans: their process group is gone with
    // the test's temp dir; they end by themselves.)
}

#[test]
fn status_counts_given_back_inputs_as_waiting_and_a_stopped_worker_leaves() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        queue_cmd(&["push", "st", "--redis", &url], Some(&inputs(10))).code(),
        0
    );
    // A holds four (two running, two more read ahead), and is stopped twice (its jobs are
    // killed, everything goes back).
    let a = worker(&url, dir.path(), "st", "A", "30", &["--read-batch", "4"]);
    assert!(wait_for(Duration::from_secs(20), || {
        let pending: Vec<redis::Value> = redis.query(&[
            "XPENDING",
            "inflight:queue:{st}:inputs",
            "workers",
            "-",
            "+",
            "10",
            "A",
        ]);
        pending.len() >= 2
    }));
    common::signal(a.pid(), "INT");
    std::thread::sleep(Duration::from_millis(300));
    common::signal(a.pid(), "INT");
    assert_eq!(a.wait(Duration::from_secs(20)).code, 130);
    let status = queue_cmd(
        &[
            "status",
            "st",
            "--json",
            "--interval",
            "100ms",
            "--redis",
            &url,
        ],
        None,
    );
    assert_eq!(status.code(), 0, "{status:?}");
    let s: serde_json::Value = serde_json::from_str(status.stdout.trim()).unwrap();
    assert_eq!(
        (s["waiting"].as_u64(), s["in_flight"].as_u64()),
        (Some(10), Some(0)),
        "{s}"
    );
    assert_eq!(s["workers"], serde_json::json!([]), "A left: {s}");
}

#[test]
fn a_killed_worker_is_listed_as_gone() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        queue_cmd(&["push", "gone", "--redis", &url], Some(&inputs(4))).code(),
        0
    );
    let mut a = worker(&url, dir.path(), "gone", "A", "30", &["--lease", "1s"]);
    assert!(wait_for(Duration::from_secs(20), || {
        let pending: Vec<redis::Value> = redis.query(&[
            "XPENDING",
            "inflight:queue:{gone}:inputs",
            "workers",
            "-",
            "+",
            "10",
            "A",
        ]);
        pending.len() == 2
    }));
    a.kill9();
    std::thread::sleep(Duration::from_millis(1300));
    let status = queue_cmd(
        &["status", "gone", "--interval", "100ms", "--redis", &url],
        None,
    );
    assert!(
        status
            .stdout
            .contains("A  2 in flight, gone (last heartbeat"),
        "{}",
        status.stdout
    );
    let json = queue_cmd(
        &[
            "status",
            "gone",
            "--json",
            "--interval",
            "100ms",
            "--redis",
            &url,
        ],
        None,
    );
    let s: serde_json::Value = serde_json::from_str(json.stdout.trim()).unwrap();
    assert_eq!(s["workers"][0]["live"], false, "{s}");
}

#[test]
fn results_keep_no_password_of_an_input_url() {
    let Some(redis) = common::redis::server() else {
        return;
    };
    let url = redis.url();
    let http = common::counting::Counting::start();
    let dir = tempfile::tempdir().unwrap();
    let input = format!("http://user:s3cr3t-pw@{}/x\n", http.addr);
    assert_eq!(
        queue_cmd(&["push", "pw", "--redis", &url], Some(&input)).code(),
        0
    );
    let out = dir.path().join("out");
    let out = out.to_str().unwrap();
    let args = ["fetch", "-q", "--queue", "pw", "--redis", &url, "-o", out];
    let done = spawn(&args, dir.path(), "w", None, &[]).wait(Duration::from_secs(20));
    assert_eq!(done.code, 0, "{done:?}");
    let shown = queue_cmd(&["results", "pw", "--redis", &url], None);
    assert!(shown.stdout.contains("user:***@"), "{}", shown.stdout);
    let stored: redis::Value = redis.query(&["XRANGE", "inflight:queue:{pw}:results", "-", "+"]);
    let stored = format!("{stored:?}");
    assert!(stored.contains("user:***@"), "{stored}");
    assert!(
        !stored.contains("s3cr3t"),
        "the password is stored in clear: {stored}"
    );
}

#[test]
fn redis_timeout_bounds_the_end_of_a_worker_too() {
    let Some(mut redis) = common::redis::server() else {
        return;
    };
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        queue_cmd(&["push", "to", "--redis", &url], Some(&inputs(40))).code(),
        0
    );
    let w = worker(
        &url,
        dir.path(),
        "to",
        "W",
        "0.2",
        &["--redis-timeout", "2s", "--read-batch", "4"],
    );
    assert!(wait_for(Duration::from_secs(20), || done(&redis, "to") >= 2));
    redis.kill9();
    let gone = Instant::now();
    let ended = w.wait(Duration::from_secs(30));
    let took = gone.elapsed();
    eprintln!("worker ended {took:?} after Redis went, --redis-timeout 2s");
    assert_eq!(ended.code, 255, "{ended:?}");
    assert!(
        took < Duration::from_millis(3500),
        "--redis-timeout 2s, yet the worker ended {took:?} after Redis went: {}",
        ended.stderr
    );
}

#[test]
fn no_job_starts_from_inputs_already_read_once_redis_is_past_the_timeout() {
    let Some(mut redis) = common::redis::server() else {
        return;
    };
    let url = redis.url();
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        queue_cmd(&["push", "rb", "--redis", &url], Some(&inputs(400))).code(),
        0
    );
    // Every input read at once: with Redis gone, the 400 are in this worker's hands.
    let w = worker(
        &url,
        dir.path(),
        "rb",
        "W",
        "0.2",
        &["--redis-timeout", "1s", "--read-batch", "400"],
    );
    assert!(wait_for(Duration::from_secs(20), || done(&redis, "rb") >= 2));
    redis.kill9();
    let ended = w.wait(Duration::from_secs(30));
    assert_eq!(ended.code, 255, "{ended:?}");
    // Jobs of 0.2 s at -j 2: about 10 run before the timeout; hundreds if the read batch
    // went on starting jobs.
    let ran = ended.stdout.lines().count();
    assert!(
        ran < 60,
        "{ran} jobs ran; Redis went after 2: {}",
        ended.stderr
    );
}
