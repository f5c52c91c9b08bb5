//! The life of a run's jobs beyond the run loop: a log that is also an input is refused before
//! anything runs; too few descriptors for even one job is an error, not a wait for ever; jobs
//! stop with an `inflight` that was killed with SIGKILL (and a `--resume` does not run an input
//! whose first copy still runs); Ctrl-Z stops the jobs with inflight and `fg` continues them.
mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

/// A log named as the input (the same file under another name too) is refused with one line
/// and status 255, and the file is left exactly as it was.
#[test]
fn a_log_that_is_also_an_input_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.txt");
    let text = "http://127.0.0.1:1/a\nhttp://127.0.0.1:1/b"; // no newline at the end
    std::fs::write(&input, text).unwrap();
    let link = dir.path().join("hard-link.txt");
    std::fs::hard_link(&input, &link).unwrap();
    let (input_s, link_s) = (input.to_str().unwrap(), link.to_str().unwrap());
    let stdin_runs: [&[&str]; 3] = [
        &["exec", "--log", input_s, "--", "echo"],
        &["exec", "--log", link_s, "--", "echo", "::::", "-"],
        &["fetch", "--log", input_s],
    ];
    for args in stdin_runs {
        let mut cmd = inflight();
        cmd.args(args).stdin(std::fs::File::open(&input).unwrap());
        let r = finish(
            cmd.spawn().unwrap(),
            Instant::now(),
            Duration::from_secs(10),
        );
        assert_usage_error(&r);
        assert!(r.stderr.contains("log"), "{r:?}");
        assert!(r.stdout.is_empty(), "{r:?}");
        assert_eq!(std::fs::read_to_string(&input).unwrap(), text, "{args:?}");
    }
    for args in [
        &["exec", "--log", input_s, "--", "echo", "::::", link_s][..],
        &[
            "exec", "--log", link_s, "--", "echo", ":::", "x", "::::", input_s,
        ],
        &[
            "exec", "--log", input_s, "--resume", "--", "echo", "::::", input_s,
        ],
        &["fetch", "--log", link_s, input_s],
        &["fetch", "--log", input_s, "--resume", input_s],
    ] {
        let r = run(args, None);
        assert_usage_error(&r);
        assert!(r.stdout.is_empty(), "{r:?}");
        assert_eq!(std::fs::read_to_string(&input).unwrap(), text, "{args:?}");
    }
    // A FIFO that is both the log and a `::::` input: refused before either is opened (it
    // would read its own records back, then block writing a FIFO nobody reads).
    let fifo = dir.path().join("fifo");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let fifo_s = fifo.to_str().unwrap();
    let r = run(
        &["exec", "-q", "--log", fifo_s, "--", "echo", "::::", fifo_s],
        None,
    );
    assert_usage_error(&r);
    assert!(r.stderr.contains("also the input"), "{r:?}");
    // Not a regular file: /dev/null as both stdin and log is no loop.
    let mut cmd = inflight();
    cmd.args(["exec", "-q", "--log", "/dev/null", "--", "echo"])
        .stdin(std::fs::File::open("/dev/null").unwrap());
    let r = finish(
        cmd.spawn().unwrap(),
        Instant::now(),
        Duration::from_secs(10),
    );
    assert_eq!(r.code(), 0, "{r:?}");
    // `:::` inputs: stdin is not read, so a log that is stdin is no input.
    let mut cmd = inflight();
    cmd.args(["exec", "-q", "--log", input_s, "--", "true", ":::", "z"])
        .stdin(std::fs::File::open(&input).unwrap());
    let r = finish(
        cmd.spawn().unwrap(),
        Instant::now(),
        Duration::from_secs(10),
    );
    assert_eq!(r.code(), 0, "{r:?}");
}

/// `prlimit --nofile=N:N inflight ARGS` (util-linux: the test needs no unsafe to set a limit).
fn limited(nofile: u32, args: &[&str], limit: Duration) -> Run {
    let mut cmd = Command::new("prlimit");
    cmd.arg(format!("--nofile={nofile}:{nofile}"))
        .arg("--")
        .arg(bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    finish(cmd.spawn().unwrap(), Instant::now(), limit)
}

fn prlimit_present() -> bool {
    let ok = Command::new("prlimit").arg("--version").output().is_ok();
    if !ok {
        eprintln!("prlimit (util-linux) is not installed: skipped");
    }
    ok
}

#[test]
fn too_few_descriptors_for_even_one_job_is_an_error_not_a_wait() {
    if !prlimit_present() {
        return;
    }
    let r = limited(
        14,
        &["exec", "--", "echo", "hi", ":::", "a"],
        Duration::from_secs(20),
    );
    if r.code() == 0 {
        // A build that needs fewer descriptors: find a limit that starts the runtime but no
        // job below.
        panic!("14 descriptors ran a job; lower the limit of this test: {r:?}");
    }
    assert_eq!(r.code(), 255, "{r:?}");
    assert!(r.took < Duration::from_secs(10), "{r:?}");
    let lines: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| !l.contains(" jobs, "))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("file descriptors") && l.contains("14")),
        "{r:?}"
    );
    assert!(!r.stderr.contains("panicked"), "{r:?}");

    // Where one job fits but not four, the others wait for it and all run: the error is only
    // for when nothing running can free a descriptor.
    let fits = (14..64)
        .find(|&n| {
            limited(
                n,
                &["exec", "-q", "--", "true", ":::", "a"],
                Duration::from_secs(20),
            )
            .code()
                == 0
        })
        .expect("some limit under 64 runs a job");
    let r = limited(
        fits,
        &[
            "exec",
            "-q",
            "-j",
            "4",
            "--",
            "sh",
            "-c",
            "sleep 0.2; echo $1",
            "_",
            "{}",
            ":::",
            "1",
            "2",
            "3",
            "4",
        ],
        Duration::from_secs(30),
    );
    assert_eq!(r.code(), 0, "limit {fits}: {r:?}");
    assert_eq!(r.stdout.lines().count(), 4, "{r:?}");
}

#[test]
fn fetch_with_too_few_descriptors_ends_instead_of_waiting_for_ever() {
    if !prlimit_present() {
        return;
    }
    // At every low limit, one URL is fetched (0), or the run says why it cannot be (255, one
    // line): at some limits it used to wait for ever with nothing running (9 here), or panic
    // inside the runtime (6 and 7).
    let s = common::server::Server::start();
    let url = s.url("/a.txt");
    let (mut refused, mut fetched) = (false, false);
    for nofile in 6..24 {
        let mut cmd = Command::new("prlimit");
        cmd.arg(format!("--nofile={nofile}:{nofile}"))
            .arg("--")
            .arg(bin())
            .args(["fetch", "-q"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().unwrap();
            // A run refused at start (too few descriptors) may be gone before it reads.
            let _ = writeln!(stdin, "{url}");
        }
        let r = finish(child, Instant::now(), Duration::from_secs(20));
        assert!(!r.stderr.contains("panicked"), "limit {nofile}: {r:?}");
        match r.code() {
            0 => fetched = true,
            255 => {
                assert_eq!(r.stderr.lines().count(), 1, "limit {nofile}: {r:?}");
                assert!(r.stderr.contains("ulimit -n"), "limit {nofile}: {r:?}");
                refused = true;
            }
            _ => panic!("limit {nofile}: {r:?}"),
        }
    }
    assert!(
        refused && fetched,
        "the limits tried should span both outcomes"
    );
}

/// The state letter of /proc/PID/stat (`R`, `S`, `T`, `Z`), or None once the process is gone.
fn state(pid: u32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(") ")?.1;
    after.chars().next()
}

fn alive(pid: u32) -> bool {
    !matches!(state(pid), None | Some('Z') | Some('X'))
}

/// The pids the jobs wrote into `dir` (one file per job), once there are `n`.
fn job_pids(dir: &Path, n: usize) -> Vec<u32> {
    let mut pids = Vec::new();
    let ok = wait_for(Duration::from_secs(20), || {
        pids = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| {
                let e = e.unwrap();
                let name = e.file_name().into_string().unwrap();
                name.ends_with(".pid")
                    .then(|| std::fs::read_to_string(e.path()).ok())
                    .flatten()
                    .and_then(|t| t.trim().parse().ok())
            })
            .collect();
        pids.len() >= n
    });
    assert!(ok, "the jobs did not all start: {pids:?}");
    pids
}

#[test]
fn jobs_stop_with_an_inflight_killed_with_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    std::fs::create_dir(&pids).unwrap();
    // Each job writes its pid, and that of a child it keeps in the background (in its process
    // group), then waits.
    let script = r#"sleep 60 & echo $! > "$0/$1.child.pid"; echo $$ > "$0/$1.pid"; wait"#;
    let mut child = inflight()
        .args(["exec", "-q", "-j", "3", "--", "sh", "-c", script])
        .arg(&pids)
        .args(["{}", ":::", "1", "2", "3"])
        .spawn()
        .unwrap();
    let all = job_pids(&pids, 6);
    child.kill().unwrap(); // SIGKILL: no handler of inflight runs
    child.wait().unwrap();
    let gone = wait_for(Duration::from_secs(5), || all.iter().all(|&p| !alive(p)));
    let left: Vec<_> = all.iter().filter(|&&p| alive(p)).collect();
    for &&p in &left {
        let _ = Command::new("kill").args(["-9", &p.to_string()]).status();
    }
    assert!(gone, "jobs outlived inflight: {left:?} of {all:?}");
}

#[test]
fn a_job_that_ignores_sigterm_is_killed_after_the_grace_and_resume_waits_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    std::fs::create_dir(&pids).unwrap();
    let log = dir.path().join("log");
    let log_s = log.to_str().unwrap();
    // Input 1 finishes; inputs 2 and 3 ignore SIGTERM and would run for a minute.
    let script = r#"[ "$1" = 1 ] && exit 0; trap '' TERM; echo $$ > "$0/$1.pid"; sleep 60"#;
    let mut first = inflight()
        .args([
            "exec",
            "-q",
            "-j",
            "3",
            "--term-grace",
            "2s",
            "--log",
            log_s,
        ])
        .args(["--", "sh", "-c", script])
        .arg(&pids)
        .args(["{}", ":::", "1", "2", "3"])
        .spawn()
        .unwrap();
    let all = job_pids(&pids, 2);
    assert!(wait_for(Duration::from_secs(10), || log_records(
        &log, true
    )
    .len()
        == 1));
    first.kill().unwrap();
    first.wait().unwrap();
    let killed_at = Instant::now();
    // At once, the same run with --resume: it must not run 2 and 3 while their first copies
    // live. Each resumed job says whether its first copy still ran.
    let check = r#"p=$(cat "$0/$1.pid"); if [ -e /proc/$p ] && [ "$(cut -d' ' -f3 /proc/$p/stat)" != Z ]; then echo "overlap $1"; else echo "alone $1"; fi"#;
    let r = run(
        &[
            "exec",
            "-q",
            "-k",
            "--log",
            log_s,
            "--resume",
            "--",
            "sh",
            "-c",
            check,
            pids.to_str().unwrap(),
            "{}",
            ":::",
            "1",
            "2",
            "3",
        ],
        None,
    );
    let took = killed_at.elapsed();
    for &p in &all {
        if alive(p) {
            let _ = Command::new("kill").args(["-9", &p.to_string()]).status();
        }
    }
    assert_eq!(r.code(), 0, "{r:?}");
    assert_eq!(r.stdout, "alone 2\nalone 3\n", "{r:?}");
    assert!(
        took < Duration::from_secs(10),
        "the jobs should be killed after their 2 s grace: {took:?}"
    );
    assert!(all.iter().all(|&p| !alive(p)), "{all:?}");
}

#[test]
fn ctrl_z_stops_the_jobs_and_fg_continues_them() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    std::fs::create_dir(&pids).unwrap();
    let script = r#"echo $$ > "$0/$1.pid"; sleep 1; echo "done $1""#;
    let started = Instant::now();
    let child = inflight()
        .args(["exec", "-q", "-k", "-j", "2", "--", "sh", "-c", script])
        .arg(&pids)
        .args(["{}", ":::", "1", "2"])
        .spawn()
        .unwrap();
    let jobs = job_pids(&pids, 2);
    signal(child.id(), "TSTP");
    let stopped = wait_for(Duration::from_secs(5), || {
        state(child.id()) == Some('T') && jobs.iter().all(|&p| state(p) == Some('T'))
    });
    let states: Vec<_> = jobs.iter().map(|&p| state(p)).collect();
    if !stopped {
        signal(child.id(), "CONT");
        for &p in &jobs {
            let _ = Command::new("kill")
                .args(["-CONT", &p.to_string()])
                .status();
        }
    }
    assert!(stopped, "inflight {:?}, jobs {states:?}", state(child.id()));
    // Stopped longer than the jobs' own sleep: they must still be stopped, not finished.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(jobs.iter().all(|&p| state(p) == Some('T')), "{jobs:?}");
    signal(child.id(), "CONT");
    let r = finish(child, started, Duration::from_secs(20));
    assert_eq!(r.code(), 0, "{r:?}");
    assert_eq!(r.stdout, "done 1\ndone 2\n", "{r:?}");
}
