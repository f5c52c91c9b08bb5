//! Helpers shared by the CLI integration tests: run the built binary as a user would.
#![allow(dead_code)]

pub mod counting;
pub mod curl;
pub mod http;
pub mod procs;
pub mod proxy;
pub mod python;
pub mod redis;
pub mod server;
pub mod tls;

use std::io::{Read, Write};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The binary under test: the one cargo built, or `$INFLIGHT_TEST_BIN` (to check that a test
/// fails on an older build).
pub fn bin() -> std::ffi::OsString {
    std::env::var_os("INFLIGHT_TEST_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_inflight").into())
}

/// Proxy variables that would send a test's requests elsewhere; every run starts without them.
pub const PROXY_VARS: [&str; 8] = [
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
];

/// The binary under test, with piped stdout and stderr and no stdin.
pub fn inflight() -> Command {
    let mut cmd = Command::new(bin());
    for var in PROXY_VARS {
        cmd.env_remove(var);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

/// What a finished run left.
#[derive(Debug)]
pub struct Run {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
    pub took: Duration,
}

impl Run {
    pub fn code(&self) -> i32 {
        self.status.code().unwrap_or(-1)
    }
}

/// Runs `inflight ARGS`, feeding `stdin` (if any), and fails the test after 30 s.
pub fn run(args: &[&str], stdin: Option<&str>) -> Run {
    let mut cmd = inflight();
    cmd.args(args);
    if stdin.is_some() {
        cmd.stdin(Stdio::piped());
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn inflight");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        let text = text.to_string();
        thread::spawn(move || {
            let _ = pipe.write_all(text.as_bytes());
        });
    }
    finish(child, started, Duration::from_secs(30))
}

/// Runs `inflight ARGS` with `stdin` as raw bytes (written from a thread), in `dir` if given.
pub fn run_bytes(args: &[&str], stdin: Vec<u8>, dir: Option<&Path>) -> Run {
    let mut cmd = inflight();
    cmd.args(args).stdin(Stdio::piped());
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    let started = Instant::now();
    let mut child = cmd.spawn().expect("spawn inflight");
    let mut pipe = child.stdin.take().unwrap();
    thread::spawn(move || {
        let _ = pipe.write_all(&stdin);
    });
    finish(child, started, Duration::from_secs(60))
}

/// The peak resident memory (VmHWM) of a running process, in bytes; 0 once it is gone.
pub fn peak_rss(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Waits for `child` (up to `limit`), sampling its peak memory every few milliseconds; returns
/// the exit status and the highest peak seen.
pub fn wait_sampling_rss(child: &mut Child, limit: Duration) -> (ExitStatus, u64) {
    let started = Instant::now();
    let mut peak = 0;
    loop {
        peak = peak.max(peak_rss(child.id()));
        if let Some(status) = child.try_wait().unwrap() {
            return (status, peak);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("inflight did not finish within {limit:?}");
        }
        thread::sleep(Duration::from_millis(3));
    }
}

/// Whether a process is gone (or a zombie nobody reaped: dead all the same).
pub fn is_dead(pid: &str) -> bool {
    let stat = format!("/proc/{}/stat", pid.trim());
    match std::fs::read_to_string(stat) {
        Ok(s) => s.contains(") Z "),
        Err(_) => true,
    }
}

/// Collects a child's output and waits for it, killing it after `limit`.
pub fn finish(mut child: Child, started: Instant, limit: Duration) -> Run {
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            panic!("inflight did not finish within {limit:?}");
        }
        thread::sleep(Duration::from_millis(5));
    };
    Run {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
        took: started.elapsed(),
    }
}

/// Every line of a log as JSON; a torn last line is allowed only if `allow_torn`.
pub fn log_records(path: &Path, allow_torn: bool) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut records = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        match serde_json::from_str::<serde_json::Value>(line.trim_end()) {
            Ok(v) => records.push(v),
            Err(e) => {
                let last = i + 1 == lines.len();
                assert!(
                    allow_torn && last && !line.ends_with('\n'),
                    "bad log line {i}: {line:?}: {e}"
                );
            }
        }
    }
    records
}

/// Waits until `cond` holds, up to `limit`.
pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        thread::sleep(Duration::from_millis(10));
    }
    cond()
}

/// Sends a signal by name with kill(1): tests need no unsafe and no extra crate.
pub fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(ok.success(), "kill -{sig} {pid}");
}

/// Asserts a usage error: exit 255 (which no count of failures can be), one `inflight:` line,
/// no panic.
pub fn assert_usage_error(r: &Run) {
    assert_eq!(r.code(), 255, "{r:?}");
    assert_eq!(
        r.stderr.lines().count(),
        1,
        "one line expected: {:?}",
        r.stderr
    );
    assert!(r.stderr.starts_with("inflight: "), "{:?}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{:?}", r.stderr);
}

/// Starts `inflight` with `args`, feeds it `input` on stdin from a thread, and kills it with
/// SIGKILL once its log at `log` holds `records` finished records: a run killed mid-way, for
/// the resume tests.
pub fn kill_9_after(args: &[&str], input: String, log: &Path, records: usize) {
    let mut child = inflight().args(args).stdin(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let logged = wait_for(Duration::from_secs(20), || {
        log_records(log, true).len() >= records
    });
    assert!(
        logged,
        "the run logged fewer than {records} records in 20 s"
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
}
