//! The real `curl` (Debian's), run beside `inflight fetch` on the same server and input: where
//! the docs say "as curl does", the tests check it against curl itself. When curl is not on
//! PATH the side-by-side part is skipped with a message, unless `INFLIGHT_REQUIRE_PEERS=1`
//! (CI sets it), which turns its absence into a failure.
#![allow(dead_code)]

use std::process::{Command, Stdio};
use std::time::Duration;

/// What a curl run left.
#[derive(Debug)]
pub struct CurlRun {
    /// curl's exit status (its error number: 0, 7, 35, 60, 61, ...).
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// Whether curl is there to compare with; says once why not (or panics under
/// `INFLIGHT_REQUIRE_PEERS=1`).
pub fn available() -> bool {
    let found = Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("INFLIGHT_REQUIRE_PEERS").as_deref() != Ok("1"),
            "curl not found on PATH and INFLIGHT_REQUIRE_PEERS=1"
        );
        eprintln!(
            "SKIPPED the curl side of this test: curl not found on PATH \
             (INFLIGHT_REQUIRE_PEERS=1 makes this a failure)"
        );
    }
    found
}

/// Runs `curl -q ARGS` (`-q`: no ~/.curlrc) with the environment `env` and no other proxy
/// variable, for at most 30 s; `None` when curl is missing (see [`available`]).
pub fn curl(args: &[&str], env: &[(&str, &str)]) -> Option<CurlRun> {
    if !available() {
        return None;
    }
    let mut cmd = Command::new("curl");
    cmd.arg("-q").args(args);
    for var in super::PROXY_VARS {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn curl");
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let Ok(out) = rx.recv_timeout(Duration::from_secs(30)) else {
        super::signal(pid, "KILL");
        panic!("curl {args:?} did not finish within 30 s");
    };
    let out = out.expect("wait for curl");
    Some(CurlRun {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}
