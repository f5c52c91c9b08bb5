//! Runs that press on the machine's limits: out of file descriptors, and `-k` behind a slow
//! first job.
mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::server::Server;
use common::*;

/// `inflight ARGS` with both its soft and hard limit on open files set to `nofile`.
fn with_nofile(nofile: u32, args: &[&str], stdin: String) -> Run {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -n {nofile} && exec \"$0\" \"$@\""))
        .arg(bin())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    std::thread::spawn(move || {
        let _ = pipe.write_all(stdin.as_bytes());
    });
    finish(child, Instant::now(), Duration::from_secs(120))
}

#[test]
fn out_of_descriptors_exec_jobs_wait_instead_of_failing() {
    // 30 jobs at once hold 60 pipe ends; 40 descriptors cannot hold them all.
    let input: String = (1..=90).map(|i| format!("{i}\n")).collect();
    let r = with_nofile(
        40,
        &["exec", "-j", "30", "--", "sh", "-c", "sleep 0.2", "_"],
        input,
    );
    assert_eq!(r.code(), 0, "{r:?}");
    assert!(r.stderr.contains("90 jobs, 90 ok"), "{}", r.stderr);
    assert_eq!(
        r.stderr.matches("out of file descriptors").count(),
        1,
        "said once: {}",
        r.stderr
    );
}

#[test]
fn out_of_descriptors_fetch_requests_wait_instead_of_failing() {
    let s = Server::start();
    let input: String = (0..200)
        .map(|i| format!("{}\n", s.url(&format!("/slow/20?{i}"))))
        .collect();
    let r = with_nofile(40, &["fetch", "-j", "60"], input);
    assert_eq!(r.code(), 0, "{r:?}");
    assert!(r.stderr.contains("200 jobs, 200 ok"), "{}", r.stderr);
}

#[test]
fn the_soft_descriptor_limit_is_raised_to_the_hard_one() {
    let out = Command::new("sh")
        .args(["-c", "ulimit -Hn"])
        .output()
        .unwrap();
    let hard = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let mut child = Command::new("sh")
        .arg("-c")
        .arg("ulimit -Sn 64 && exec \"$0\" \"$@\"")
        .arg(bin())
        .args(["exec", "--", "sh", "-c", "ulimit -Sn", ":::", "x"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take();
    let r = finish(child, Instant::now(), Duration::from_secs(30));
    assert_eq!(r.code(), 0, "{r:?}");
    assert_eq!(r.stdout.trim(), hard, "the job ran with the raised limit");
}

#[test]
fn keep_order_runs_ahead_of_a_slow_first_job() {
    // Job 1 waits until 200 others have started (or 30 s); with -k their outputs wait for it.
    let dir = tempfile::tempdir().unwrap();
    let started = dir.path().join("started");
    std::fs::write(&started, "").unwrap();
    let script = r#"echo "$1" >> "$2"
if [ "$1" = 1 ]; then
  i=0
  while [ "$(wc -l < "$2")" -lt 200 ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done
  echo "1 saw $(wc -l < "$2")"
else
  echo "$1"
fi"#;
    let inputs: Vec<String> = (1..=300).map(|i| i.to_string()).collect();
    let mut args = vec![
        "exec",
        "-k",
        "-j",
        "4",
        "--",
        "sh",
        "-c",
        script,
        "_",
        "{}",
        started.to_str().unwrap(),
        ":::",
    ];
    args.extend(inputs.iter().map(String::as_str));
    let r = run(&args, None);
    assert_eq!(r.code(), 0, "{r:?}");
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), 300);
    let saw: usize = lines[0]
        .strip_prefix("1 saw ")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(saw >= 200, "only {saw} jobs started while job 1 ran");
    let rest: Vec<String> = (2..=300).map(|i| i.to_string()).collect();
    assert_eq!(lines[1..], rest, "input order");
}

#[test]
fn out_of_descriptors_saved_bodies_and_their_directories_wait_instead_of_failing() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    // Each URL in a directory of its own (`tree`): directories, files and sockets compete.
    let input: String = (0..300)
        .map(|i| format!("{}\n", s.url(&format!("/d{i}/slow/20"))))
        .collect();
    let r = with_nofile(
        60,
        &[
            "fetch",
            "-j",
            "100",
            "--layout",
            "tree",
            "-o",
            out.to_str().unwrap(),
        ],
        input,
    );
    assert_eq!(r.code(), 0, "{r:?}");
    assert!(r.stderr.contains("300 jobs, 300 ok"), "{}", r.stderr);
    // No more requests at once than 60 descriptors serve (each a connection and a file,
    // besides 32 reserved and 7 directories kept open): none waits on another for ever.
    assert!(
        r.stderr.contains("at most 10 requests at once"),
        "{}",
        r.stderr
    );
    assert!(r.took < Duration::from_secs(60), "{:?}", r.took);
}
