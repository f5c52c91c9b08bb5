//! A job that leaves a process running in the background (`cmd &`, `ssh -f`, a daemon that
//! keeps its stdout) is over when its own process exits, as with GNU parallel: what it wrote
//! is printed, its status counts, and the background process is left alone.

mod common;

use std::time::Duration;

use common::run;

#[test]
fn a_job_is_over_when_its_process_exits_whatever_it_left_running() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("pid");
    // The background sleep keeps the job's stdout and stderr open for 30 s.
    let script = format!(
        "sleep 30 & echo $! > {}; echo started $1; echo on-stderr >&2",
        pid_file.display()
    );
    let r = run(
        &[
            "exec",
            "--timeout",
            "10s",
            "--",
            "sh",
            "-c",
            &script,
            "_",
            "{}",
            ":::",
            "x",
        ],
        None,
    );
    let background = std::fs::read_to_string(&pid_file).unwrap_or_default();
    if !background.trim().is_empty() {
        common::signal(background.trim().parse().unwrap(), "KILL");
    }
    assert_eq!(r.code(), 0, "{r:?}");
    assert_eq!(r.stdout, "started x\n");
    assert!(r.stderr.contains("on-stderr"), "{}", r.stderr);
    assert!(
        r.took < Duration::from_secs(8),
        "waited for the background process: {r:?}"
    );
}
