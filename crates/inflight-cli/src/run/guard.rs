//! The guard process of a run's jobs (see `groups`): inflight started again with [`ARG`] as
//! its first argument and the `--term-grace` in milliseconds. It reads "+PGID" and "-PGID"
//! lines on stdin; when stdin ends (inflight exited or was killed), it sends SIGTERM (and
//! SIGCONT, for a job stopped by Ctrl-Z) to every group still there, waits up to the grace for
//! them to end, and sends SIGKILL to the rest. Its stdout is the run's log, which it only
//! keeps open (and so locked) until then: it writes nothing.
use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// The first argument that makes `inflight` a guard (not a command anyone types).
pub const ARG: &str = "__inflight-job-guard";

/// How often the guard looks whether the groups are gone during the grace.
const POLL: Duration = Duration::from_millis(20);

/// Runs the guard; never returns.
pub fn main(grace_ms: Option<&str>) -> ! {
    let grace = Duration::from_millis(grace_ms.and_then(|g| g.parse().ok()).unwrap_or(1000));
    let mut groups = HashSet::new();
    let mut stdin = BufReader::new(std::io::stdin().lock());
    let mut line = String::new();
    loop {
        line.clear();
        match stdin.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let line = line.trim_end();
        let (sign, pgid) = line.split_at(line.len().min(1));
        match (sign, pgid.parse::<i32>()) {
            ("+", Ok(pgid)) if pgid > 1 => {
                groups.insert(pgid);
            }
            ("-", Ok(pgid)) => {
                groups.remove(&pgid);
            }
            _ => {}
        }
    }
    stop(&groups, grace);
    std::process::exit(0);
}

/// SIGTERM (and SIGCONT) to each group, SIGKILL after `grace` to those still there.
fn stop(groups: &HashSet<i32>, grace: Duration) {
    let mut left: Vec<Pid> = groups.iter().map(|&g| Pid::from_raw(g)).collect();
    for &group in &left {
        let _ = killpg(group, Signal::SIGTERM);
        let _ = killpg(group, Signal::SIGCONT);
    }
    let started = Instant::now();
    loop {
        // A group with no process left answers ESRCH.
        left.retain(|&group| killpg(group, None) != Err(Errno::ESRCH));
        if left.is_empty() || started.elapsed() >= grace {
            break;
        }
        std::thread::sleep(POLL);
    }
    for group in left {
        let _ = killpg(group, Signal::SIGKILL);
    }
}
