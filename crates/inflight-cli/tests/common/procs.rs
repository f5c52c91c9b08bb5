//! Several `inflight` processes at once, for the Redis tests: each with its stdout and stderr
//! in files (a worker can print more than a pipe holds while the test is busy elsewhere), its
//! stdin fed from a thread, waited for with a time limit, and killed with SIGKILL at will.
#![allow(dead_code)]

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A running `inflight`.
pub struct Proc {
    pub child: Child,
    out: PathBuf,
    err: PathBuf,
}

/// What a finished process left.
#[derive(Debug)]
pub struct Done {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Starts `inflight ARGS` with `env`, its output in `dir/TAG.out` and `dir/TAG.err`, and
/// `stdin` written from a thread (or no stdin).
pub fn spawn(
    args: &[&str],
    dir: &Path,
    tag: &str,
    stdin: Option<String>,
    env: &[(&str, &str)],
) -> Proc {
    let out = dir.join(format!("{tag}.out"));
    let err = dir.join(format!("{tag}.err"));
    let mut cmd = super::inflight();
    cmd.args(args)
        .envs(env.iter().copied())
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd.spawn().expect("spawn inflight");
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        std::thread::spawn(move || {
            let _ = pipe.write_all(text.as_bytes());
        });
    }
    Proc { child, out, err }
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the end, up to `limit` (then kills it and fails the test).
    pub fn wait(mut self, limit: Duration) -> Done {
        let started = Instant::now();
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if started.elapsed() > limit {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!(
                    "inflight did not finish within {limit:?}; stderr: {}",
                    self.stderr()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        Done {
            code: status.code().unwrap_or(-1),
            stdout: self.stdout(),
            stderr: self.stderr(),
        }
    }

    /// Whether it has ended.
    pub fn exited(&mut self) -> bool {
        self.child.try_wait().unwrap().is_some()
    }

    pub fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// SIGKILL, and reaped.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
