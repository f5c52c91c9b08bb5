//! The test harness shared by every test file: a real `redis-server` (see `redis_server`,
//! shared with the CLI's tests) and child processes (this test binary run again) to kill -9.
#![allow(dead_code)]

mod redis_server;
pub mod topology;

#[allow(unused_imports)]
pub use redis_server::*;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// A tokio runtime for one test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// This test binary run again as a child that runs `role` (its test file's `child_entry`
/// reads the role from the environment), with its stdout piped to read its `READY` lines.
pub fn child(role: &str, url: &str, args: &[&str]) -> (Child, BufReader<ChildStdout>) {
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_entry",
            "--nocapture",
            "--test-threads=1",
            "--quiet",
        ])
        .env("INFLIGHT_REDIS_CHILD", role)
        .env("INFLIGHT_REDIS_URL", url)
        .env("INFLIGHT_REDIS_ARGS", args.join(" "))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let out = BufReader::new(child.stdout.take().unwrap());
    (child, out)
}

/// Reads the child's stdout until a line starting with `prefix`, and returns that line.
pub fn wait_line(out: &mut BufReader<ChildStdout>, prefix: &str) -> String {
    let mut line = String::new();
    loop {
        line.clear();
        let n = out.read_line(&mut line).expect("read child stdout");
        assert!(n > 0, "child ended before printing {prefix}");
        if line.starts_with(prefix) {
            return line.trim().to_string();
        }
    }
}

/// The role and arguments of a child, if this process is one.
pub fn child_role() -> Option<(String, String, Vec<String>)> {
    let role = std::env::var("INFLIGHT_REDIS_CHILD").ok()?;
    let url = std::env::var("INFLIGHT_REDIS_URL").unwrap();
    let args = std::env::var("INFLIGHT_REDIS_ARGS")
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_string)
        .collect();
    Some((role, url, args))
}

/// Kills a child with SIGKILL.
pub fn kill9(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Polls `f` every 20 ms until it is true or `limit` passes; returns the time it took.
pub fn eventually(limit: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < limit {
        if f() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}
