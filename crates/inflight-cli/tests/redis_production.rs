//! The Redis that production runs, from the command line: a queue and `--global-jobs` over
//! TLS as an ACL user with the default user off; a master kill -9'd mid-run under queue
//! workers and under processes sharing `--global-jobs` (Sentinel promotes the replica); six
//! queues and a global limit on a three-node Cluster. Peaks are measured by an HTTP server
//! that counts requests in flight.
mod common;

use std::collections::HashSet;
use std::time::Duration;

use common::counting::Counting;
use common::procs::{spawn, Proc};
use common::redis::topology::{cluster, sentinel, tls_server};
use common::wait_for;
use serde_json::Value;

/// `n` URLs `/wait/MS/TAG-i` of the counting server, one a line.
fn urls(http: &Counting, ms: u64, tag: &str, n: usize) -> String {
    (0..n)
        .map(|i| http.url(&format!("/wait/{ms}/{tag}-{i}")) + "\n")
        .collect()
}

/// `inflight ARGS` run to its end with `env`.
fn run_env(args: &[&str], stdin: Option<&str>, env: &[(&str, &str)]) -> common::Run {
    let mut cmd = common::inflight();
    cmd.args(args).envs(env.iter().copied());
    if stdin.is_some() {
        cmd.stdin(std::process::Stdio::piped());
    }
    let started = std::time::Instant::now();
    let mut child = cmd.spawn().unwrap();
    if let Some(text) = stdin {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
    }
    common::finish(child, started, Duration::from_secs(60))
}

/// The results of queue `name`, each input once; returns the inputs.
fn results_once(args: &[&str], env: &[(&str, &str)]) -> HashSet<String> {
    let r = run_env(args, None, env);
    assert_eq!(r.code(), 0, "{r:?}");
    let mut seen = HashSet::new();
    for line in r.stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let input = v["input"].as_str().unwrap().to_string();
        assert!(seen.insert(input.clone()), "{input} has two results");
    }
    seen
}

/// How often `needle` is in `text`.
fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

#[test]
fn a_queue_and_global_jobs_over_tls_as_an_acl_user_with_the_default_user_off() {
    let Some(s) = tls_server(true, false) else {
        return;
    };
    let http = Counting::start();
    let dir = tempfile::tempdir().unwrap();
    let url = s.url(true);
    let ca = s.certs.ca.to_str().unwrap().to_string();
    let env = [
        ("INFLIGHT_REDIS", url.as_str()),
        ("INFLIGHT_REDIS_CACERT", ca.as_str()),
    ];
    let push = run_env(
        &["queue", "push", "tlsq"],
        Some(&urls(&http, 100, "t", 30)),
        &env,
    );
    assert_eq!(push.code(), 0, "{push:?}");
    let workers: Vec<Proc> = (0..2)
        .map(|w| {
            let args = [
                "fetch",
                "-q",
                "-j",
                "5",
                "--queue",
                "tlsq",
                "--global-jobs",
                "3",
            ];
            spawn(&args, dir.path(), &format!("w{w}"), None, &env)
        })
        .collect();
    for w in workers {
        let done = w.wait(Duration::from_secs(60));
        assert_eq!(done.code, 0, "{done:?}");
    }
    assert_eq!(
        http.peak(),
        3,
        "the global limit over TLS: reached, never exceeded"
    );
    assert_eq!(results_once(&["queue", "results", "tlsq"], &env).len(), 30);
    // --redis-cacert on the command line does as the variable.
    let status = run_env(
        &[
            "queue",
            "status",
            "tlsq",
            "--redis",
            &url,
            "--redis-cacert",
            &ca,
        ],
        None,
        &[],
    );
    assert_eq!(status.code(), 0, "{status:?}");
    let show = run_env(&["limits", "show", "tlsq"], None, &env);
    assert_eq!(show.code(), 0, "{show:?}");

    // Without the CA: one line that names the certificate's problem, password masked.
    let refused = run_env(&["queue", "status", "tlsq", "--redis", &url], None, &[]);
    assert_ne!(refused.code(), 0);
    assert_eq!(refused.stderr.lines().count(), 1, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("not signed by a trusted CA"),
        "{}",
        refused.stderr
    );
    assert!(!refused.stderr.contains("w0rk"), "{}", refused.stderr);
    // A client certificate without its key is a usage error.
    let usage = run_env(
        &[
            "queue",
            "status",
            "tlsq",
            "--redis",
            &url,
            "--redis-cert",
            &ca,
        ],
        None,
        &[],
    );
    common::assert_usage_error(&usage);
}

/// Waits until the counting server has served `n` requests.
fn wait_hits(http: &Counting, n: usize) {
    assert!(
        wait_for(Duration::from_secs(30), || http.hits().len() >= n),
        "no progress"
    );
}

#[test]
fn a_master_killed_mid_run_under_two_queue_workers_loses_no_result() {
    let Some(mut s) = sentinel() else {
        return;
    };
    let http = Counting::start();
    let dir = tempfile::tempdir().unwrap();
    let url = s.url();
    let push = run_env(
        &["queue", "push", "fo", "--redis", &url],
        Some(&urls(&http, 150, "q", 40)),
        &[],
    );
    assert_eq!(push.code(), 0, "{push:?}");
    let workers: Vec<Proc> = (0..2)
        .map(|w| {
            let args = [
                "fetch", "-q", "-j", "3", "--queue", "fo", "--lease", "2s", "--redis", &url,
            ];
            spawn(&args, dir.path(), &format!("w{w}"), None, &[])
        })
        .collect();
    wait_hits(&http, 8);
    s.fail_over();
    for w in workers {
        let done = w.wait(Duration::from_secs(90));
        assert_eq!(done.code, 0, "{done:?}");
        assert_eq!(count(&done.stderr, "failed over"), 1, "{}", done.stderr);
        assert_eq!(count(&done.stderr, "is back after"), 1, "{}", done.stderr);
    }
    let got = results_once(&["queue", "results", "fo", "--redis", &url], &[]);
    assert_eq!(got.len(), 40, "every input has its one result");
}

#[test]
fn three_processes_sharing_global_jobs_never_pass_it_across_a_failover() {
    let Some(mut s) = sentinel() else {
        return;
    };
    let http = Counting::start();
    let dir = tempfile::tempdir().unwrap();
    let url = s.url();
    let procs: Vec<Proc> = (0..3)
        .map(|p| {
            let args = [
                "fetch",
                "-q",
                "-j",
                "4",
                "--global-jobs",
                "5",
                "--lease",
                "2s",
                "--name",
                "fo3",
                "--redis",
                &url,
            ];
            spawn(
                &args,
                dir.path(),
                &format!("p{p}"),
                Some(urls(&http, 200, &format!("p{p}"), 30)),
                &[],
            )
        })
        .collect();
    wait_hits(&http, 10);
    s.fail_over();
    for p in procs {
        let done = p.wait(Duration::from_secs(90));
        assert_eq!(done.code, 0, "{done:?}");
        assert_eq!(count(&done.stderr, "failed over"), 1, "{}", done.stderr);
    }
    assert!(
        http.peak() <= 5,
        "never past the global limit: {}",
        http.peak()
    );
    let hits = http.hits();
    assert_eq!(hits.len(), 90);
    assert!(hits.values().all(|&n| n == 1), "a URL fetched twice");
}

#[test]
fn six_queues_and_a_global_limit_on_a_cluster() {
    let Some(c) = cluster() else {
        return;
    };
    let http = Counting::start();
    let dir = tempfile::tempdir().unwrap();
    let url = c.url();
    let names: Vec<String> = (0..6).map(|i| format!("crawl-{i}")).collect();
    for name in &names {
        let push = run_env(
            &["queue", "push", name, "--redis", &url],
            Some(&urls(&http, 100, name, 10)),
            &[],
        );
        assert_eq!(push.code(), 0, "{push:?}");
    }
    let workers: Vec<Proc> = names
        .iter()
        .map(|name| {
            let args = [
                "fetch",
                "-q",
                "-j",
                "3",
                "--queue",
                name,
                "--global-jobs",
                "4",
                "--name",
                "shared",
                "--redis",
                &url,
            ];
            spawn(&args, dir.path(), name, None, &[])
        })
        .collect();
    for w in workers {
        let done = w.wait(Duration::from_secs(90));
        assert_eq!(done.code, 0, "{done:?}");
    }
    assert_eq!(
        http.peak(),
        4,
        "one global limit over six workers on the Cluster"
    );
    for name in &names {
        let got = results_once(&["queue", "results", name, "--redis", &url], &[]);
        assert_eq!(got.len(), 10);
        let status = run_env(&["queue", "status", name, "--redis", &url], None, &[]);
        assert_eq!(status.code(), 0, "{status:?}");
    }
    let show = run_env(&["limits", "show", "shared", "--redis", &url], None, &[]);
    assert_eq!(show.code(), 0, "{show:?}");
    assert!(show.stdout.contains("0 running now"), "{}", show.stdout);
    let per_node = c.keys_per_node();
    assert!(
        per_node.iter().all(|&n| n > 0),
        "spread over the shards: {per_node:?}"
    );
    // A redis:// URL to one node says what to use instead.
    let plain = run_env(
        &["queue", "status", "crawl-0", "--redis", &c.nodes[0].url()],
        None,
        &[],
    );
    assert_ne!(plain.code(), 0);
    assert!(
        plain.stderr.contains("use redis+cluster://"),
        "{}",
        plain.stderr
    );
}
