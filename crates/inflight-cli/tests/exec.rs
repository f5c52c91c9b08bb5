//! `inflight exec` as a user runs it: real processes, stdin or `:::` inputs, logs on disk.
mod common;

use std::collections::HashMap;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

#[test]
fn runs_each_input_once_with_placeholders() {
    let r = run(
        &["exec", "-j", "3", "--", "echo", "{#}:{}", "x"],
        Some("a\nb b\nc\n"),
    );
    assert_eq!(r.code(), 0, "{r:?}");
    let mut lines: Vec<&str> = r.stdout.lines().collect();
    lines.sort();
    assert_eq!(lines, ["1:a x", "2:b b x", "3:c x"]);
    assert!(
        r.stderr.contains("inflight: 3 jobs, 3 ok, 0 failed in "),
        "{}",
        r.stderr
    );
}

#[test]
fn appends_input_without_placeholder_and_takes_triple_colon() {
    let r = run(
        &[
            "exec",
            "-k",
            "--",
            "echo",
            "got",
            ":::",
            "1",
            "two words",
            "3",
        ],
        None,
    );
    assert_eq!(r.code(), 0, "{r:?}");
    assert_eq!(r.stdout, "got 1\ngot two words\ngot 3\n");
}

#[test]
fn input_is_one_argument_never_a_shell() {
    let r = run(
        &["exec", "--", "printf", "[%s]\\n", "{}"],
        Some("a b;echo pwned $(id)\n"),
    );
    assert_eq!(r.stdout, "[a b;echo pwned $(id)]\n");
}

#[test]
fn keep_order_prints_in_input_order() {
    let r = run(
        &[
            "exec",
            "-k",
            "-j",
            "3",
            "--",
            "sh",
            "-c",
            "sleep $1; echo $1",
            "_",
            "{}",
            ":::",
            "0.3",
            "0.1",
            "0.2",
        ],
        None,
    );
    assert_eq!(r.code(), 0, "{r:?}");
    assert_eq!(r.stdout, "0.3\n0.1\n0.2\n");
    let unordered = run(
        &[
            "exec",
            "-j",
            "3",
            "--",
            "sh",
            "-c",
            "sleep $1; echo $1",
            "_",
            "{}",
            ":::",
            "0.3",
            "0.1",
            "0.2",
        ],
        None,
    );
    assert_eq!(
        unordered.stdout, "0.1\n0.2\n0.3\n",
        "completion order without -k"
    );
}

#[test]
fn output_of_jobs_never_interleaves() {
    let script = "for i in 1 2 3 4 5; do echo $1-$i; echo err$1-$i >&2; sleep 0.01; done";
    let inputs: Vec<String> = (1..=8).map(|i| i.to_string()).collect();
    let mut args = vec![
        "exec", "-j", "8", "--", "sh", "-c", script, "_", "{}", ":::",
    ];
    args.extend(inputs.iter().map(String::as_str));
    let r = run(&args, None);
    assert_eq!(r.code(), 0, "{r:?}");
    for (stream, prefix) in [(&r.stdout, ""), (&r.stderr, "err")] {
        let lines: Vec<&str> = stream
            .lines()
            .filter(|l| !l.starts_with("inflight:"))
            .collect();
        assert_eq!(lines.len(), 40, "{stream}");
        for block in lines.chunks(5) {
            let job = block[0].split('-').next().unwrap();
            assert!(job.starts_with(prefix));
            let expected: Vec<String> = (1..=5).map(|i| format!("{job}-{i}")).collect();
            assert_eq!(block, expected, "interleaved output: {stream}");
        }
    }
}

#[test]
fn exit_status_counts_failures_and_says_101_for_more_than_100() {
    let r = run(
        &[
            "exec", "--", "sh", "-c", "exit $1", "_", "{}", ":::", "0", "3", "1", "0",
        ],
        None,
    );
    assert_eq!(r.code(), 2, "{r:?}");
    assert!(r.stderr.contains("4 jobs, 2 ok, 2 failed"), "{}", r.stderr);
    // As GNU parallel: 1 to 100 failures exit with their number, more exit 101.
    let r = run(
        &["exec", "-j", "8", "--", "false"],
        Some(&"x\n".repeat(100)),
    );
    assert_eq!(r.code(), 100, "{}", r.stderr);
    let r = run(
        &["exec", "-j", "8", "--", "false"],
        Some(&"x\n".repeat(105)),
    );
    assert_eq!(r.code(), 101, "{}", r.stderr);
}

#[test]
fn per_input_errors_are_logged_and_the_run_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.jsonl");
    let log_s = log.to_str().unwrap();
    let r = run(
        &["exec", "--log", log_s, "--", "./no-such-command-here", "{}"],
        Some("a\nb\n"),
    );
    assert_eq!(r.code(), 2);
    assert!(
        r.stderr
            .contains("command not found: ./no-such-command-here"),
        "{}",
        r.stderr
    );
    let records = log_records(&log, false);
    assert_eq!(records.len(), 2);
    for rec in &records {
        assert_eq!(rec["ok"], false);
        assert_eq!(rec["status"], serde_json::Value::Null);
        assert_eq!(rec["error"], "command not found: ./no-such-command-here");
        assert_eq!(rec["attempts"], 1);
    }
}

#[test]
fn log_has_the_contract_fields() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.jsonl");
    let r = run(
        &[
            "exec",
            "--log",
            log.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            "exit $1",
            "_",
            "{}",
            ":::",
            "0",
            "7",
        ],
        None,
    );
    assert_eq!(r.code(), 1);
    let mut records = log_records(&log, false);
    records.sort_by_key(|r| r["seq"].as_u64());
    assert_eq!(records[0]["input"], "0");
    assert_eq!(records[0]["ok"], true);
    assert_eq!(records[0]["status"], 0);
    assert_eq!(records[0]["error"], serde_json::Value::Null);
    assert_eq!(records[1]["status"], 7);
    assert_eq!(records[1]["error"], "exit status 7");
    for rec in &records {
        assert!(rec["ms"].is_u64() && rec["attempts"] == 1, "{rec}");
    }
}

#[test]
fn timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("pid");
    let script = format!("sleep 30 & echo $! > {}; wait", pidfile.display());
    let r = run(
        &[
            "exec",
            "--timeout",
            "300ms",
            "--",
            "sh",
            "-c",
            &script,
            ":::",
            "x",
        ],
        None,
    );
    assert_eq!(r.code(), 1, "{r:?}");
    assert!(r.took < Duration::from_secs(5), "{:?}", r.took);
    assert!(r.stderr.contains("timed out after 300ms"), "{}", r.stderr);
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    let proc_dir = format!("/proc/{}", pid.trim());
    assert!(
        wait_for(Duration::from_secs(3), || !std::path::Path::new(&proc_dir)
            .exists()
            || std::fs::read_to_string(format!("{proc_dir}/stat"))
                .is_ok_and(|s| s.contains(") Z "))),
        "the background sleep survived the timeout"
    );
}

#[test]
fn retries_until_success() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let mark = dir.path().join("mark");
    let script = format!(
        "if [ -e {0} ]; then echo second; else touch {0}; exit 1; fi",
        mark.display()
    );
    let r = run(
        &[
            "exec",
            "--retries",
            "2",
            "--log",
            log.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            &script,
            ":::",
            "x",
        ],
        None,
    );
    assert_eq!(r.code(), 0, "{r:?}");
    assert_eq!(r.stdout, "second\n");
    let records = log_records(&log, false);
    assert_eq!(records[0]["attempts"], 2);
    assert_eq!(records[0]["ok"], true);
}

#[test]
fn rate_spaces_starts_evenly() {
    let r = run(
        &[
            "exec", "-j", "8", "--rate", "20/s", "--", "true", ":::", "1", "2", "3", "4", "5", "6",
            "7", "8", "9",
        ],
        None,
    );
    assert_eq!(r.code(), 0);
    // 9 starts at 50 ms spacing: the last starts at 400 ms.
    assert!(r.took >= Duration::from_millis(400), "{:?}", r.took);
}

#[test]
fn resume_skips_what_succeeded() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let log_s = log.to_str().unwrap();
    let flag = dir.path().join("fixed");
    // Inputs above 3 fail until the flag file exists.
    let script = format!("[ $1 -le 3 ] || [ -e {} ]", flag.display());
    let input = "1\n2\n3\n4\n5\n";
    let first = run(
        &["exec", "--log", log_s, "--", "sh", "-c", &script, "_", "{}"],
        Some(input),
    );
    assert_eq!(first.code(), 2);
    std::fs::write(&flag, "").unwrap();
    let second = run(
        &[
            "exec", "--log", log_s, "--resume", "--", "sh", "-c", &script, "_", "{}",
        ],
        Some(input),
    );
    assert_eq!(second.code(), 0, "{second:?}");
    assert!(
        second.stderr.contains("2 jobs, 2 ok, 0 failed") && second.stderr.contains("3 skipped"),
        "{}",
        second.stderr
    );
    let third = run(
        &["exec", "--log", log_s, "--resume", "--", "false"],
        Some(input),
    );
    assert_eq!(third.code(), 0);
    assert!(
        third.stderr.contains("0 jobs") && third.stderr.contains("5 skipped"),
        "{}",
        third.stderr
    );
    assert_eq!(log_records(&log, false).len(), 7);
}

#[test]
fn resume_after_kill_9_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let log_s = log.to_str().unwrap();
    let n = 300;
    let input: String = (1..=n).map(|i| format!("{i}\n")).collect();
    let args = [
        "exec",
        "-j",
        "6",
        "--log",
        log_s,
        "--",
        "sh",
        "-c",
        "sleep 0.02; echo $1",
        "_",
        "{}",
    ];

    kill_9_after(&args, input.clone(), &log, 40);
    let before = log_records(&log, true);
    assert!(before.len() < n, "the run should have been cut short");

    let r = run(
        &[
            "exec", "-j", "6", "--log", log_s, "--resume", "--", "sh", "-c", "echo $1", "_", "{}",
        ],
        Some(&input),
    );
    assert_eq!(r.code(), 0, "{r:?}");
    let mut ok_count: HashMap<String, usize> = HashMap::new();
    for rec in log_records(&log, false_if_clean(&log)) {
        if rec["ok"] == true {
            *ok_count
                .entry(rec["input"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    for i in 1..=n {
        assert_eq!(ok_count.get(&i.to_string()), Some(&1), "input {i}");
    }
}

/// After resume the log is whole; a torn line from the kill may remain in the middle, which
/// `log_records` only accepts as a last line, so check it separately.
fn false_if_clean(log: &std::path::Path) -> bool {
    let text = std::fs::read_to_string(log).unwrap();
    let bad = text
        .lines()
        .filter(|l| serde_json::from_str::<serde_json::Value>(l).is_err())
        .count();
    assert!(bad <= 1, "at most the one torn line: {bad}");
    if bad == 1 {
        // Rewrite without the torn line so the strict reader can check the rest.
        let kept: String = text
            .lines()
            .filter(|l| serde_json::from_str::<serde_json::Value>(l).is_ok())
            .map(|l| format!("{l}\n"))
            .collect();
        std::fs::write(log, kept).unwrap();
    }
    false
}

#[test]
fn halt_now_kills_running_jobs() {
    let script = "if [ $1 = 1 ]; then exit 1; fi; sleep 20";
    let r = run(
        &[
            "exec",
            "-j",
            "4",
            "--halt",
            "now,fail=1",
            "--",
            "sh",
            "-c",
            script,
            "_",
            "{}",
            ":::",
            "1",
            "2",
            "3",
            "4",
            "5",
        ],
        None,
    );
    assert_eq!(r.code(), 1, "{r:?}");
    assert!(r.took < Duration::from_secs(5), "{:?}", r.took);
    assert!(r.stderr.contains("killing running jobs"), "{}", r.stderr);
    assert!(r.stderr.contains("3 killed"), "{}", r.stderr);
}

#[test]
fn halt_soon_waits_for_running_jobs_and_starts_no_more() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let script = "if [ $1 = 1 ]; then exit 1; fi; sleep 0.5";
    let inputs: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
    let mut args = vec![
        "exec",
        "-j",
        "2",
        "--halt",
        "soon,fail=1",
        "--log",
        log.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        script,
        "_",
        "{}",
        ":::",
    ];
    args.extend(inputs.iter().map(String::as_str));
    let r = run(&args, None);
    assert_eq!(r.code(), 1, "{r:?}");
    let records = log_records(&log, false);
    // Job 1 failed at once; job 2 was running and finished; at most one more had started.
    assert!(records.len() >= 2 && records.len() <= 3, "{records:?}");
    assert!(records.iter().any(|r| r["input"] == "2" && r["ok"] == true));
}

#[test]
fn halt_on_successes_and_no_retry_once_halted() {
    // success=2 at -j 1: jobs 1 (fails, retried twice) and 2, 3 run; 3 is the second success.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let script = "[ $1 != 1 ]";
    let r = run(
        &[
            "exec",
            "-j",
            "1",
            "--retries",
            "2",
            "--halt",
            "soon,success=2",
            "--log",
            log.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            script,
            "_",
            "{}",
            ":::",
            "1",
            "2",
            "3",
            "4",
            "5",
        ],
        None,
    );
    // A met success= rule exits 0, whatever failed before it (GNU parallel's rule).
    assert_eq!(r.code(), 0, "{r:?}");
    assert!(r.stderr.contains("halt condition met"), "{}", r.stderr);
    let records = log_records(&log, false);
    let summary: Vec<(&str, u64)> = records
        .iter()
        .map(|r| {
            (
                r["input"].as_str().unwrap(),
                r["attempts"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(summary, [("1", 3), ("2", 1), ("3", 1)]);

    // A job in flight when the run halts runs to its end but is not retried: job 1 (300 ms,
    // then a retryable failure) is started first; job 2 cannot start (a missing command is not
    // retried) and halts the run at once; job 3 never starts. (Job 1 comes first so it is
    // surely in flight: a job that fails at once can hand back its outcome before the next
    // input is even pulled.)
    let log2 = dir.path().join("log2");
    let slow_fail = dir.path().join("slow-fail");
    std::fs::write(&slow_fail, "#!/bin/sh\nsleep 0.3\nexit 1\n").unwrap();
    std::fs::set_permissions(
        &slow_fail,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let slow_fail = slow_fail.to_str().unwrap();
    let r = run(
        &[
            "exec",
            "-j",
            "2",
            "--retries",
            "3",
            "--halt",
            "soon,fail=1",
            "--log",
            log2.to_str().unwrap(),
            "--",
            "{}",
            ":::",
            slow_fail,
            "/nonexistent/cmd",
            slow_fail,
        ],
        None,
    );
    // The status of the job that met the one-failure rule (not found: 127, as a shell and
    // GNU parallel say), not the count of failures.
    assert_eq!(r.code(), 127, "{r:?}");
    let records = log_records(&log2, false);
    let mut attempts: Vec<(u64, u64)> = records
        .iter()
        .map(|r| (r["seq"].as_u64().unwrap(), r["attempts"].as_u64().unwrap()))
        .collect();
    attempts.sort_unstable();
    assert_eq!(attempts, [(1, 1), (2, 1)]);
}

#[test]
fn first_ctrl_c_waits_second_kills() {
    // The first SIGINT: no new jobs, the running two finish, exit 130.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let mut child = inflight()
        .args([
            "exec",
            "-j",
            "2",
            "--log",
            log.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            "sleep 0.6; echo $1",
            "_",
            "{}",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut stdin = child.stdin.take().unwrap();
    {
        use std::io::Write;
        stdin.write_all(b"1\n2\n3\n4\n").unwrap();
    }
    std::thread::sleep(Duration::from_millis(250));
    signal(child.id(), "INT");
    let r = finish(child, started, Duration::from_secs(10));
    drop(stdin);
    assert_eq!(r.code(), 130, "{r:?}");
    assert!(r.stderr.contains("interrupted"), "{}", r.stderr);
    let records = log_records(&log, false);
    assert_eq!(records.len(), 2, "{records:?}");
    assert!(records.iter().all(|r| r["ok"] == true));

    // Two SIGINTs: the running jobs are killed at once and leave no record.
    let log2 = dir.path().join("log2");
    let mut child = inflight()
        .args([
            "exec",
            "-j",
            "2",
            "--log",
            log2.to_str().unwrap(),
            "--",
            "sleep",
            "20",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut stdin = child.stdin.take().unwrap();
    {
        use std::io::Write;
        stdin.write_all(b"1\n2\n3\n").unwrap();
    }
    std::thread::sleep(Duration::from_millis(250));
    signal(child.id(), "INT");
    std::thread::sleep(Duration::from_millis(100));
    signal(child.id(), "INT");
    let r = finish(child, started, Duration::from_secs(10));
    assert_eq!(r.code(), 130, "{r:?}");
    assert!(r.took < Duration::from_secs(3), "{:?}", r.took);
    assert!(r.stderr.contains("killing 2 running jobs"), "{}", r.stderr);
    assert!(log_records(&log2, false).is_empty());
}

#[test]
fn bad_arguments_are_one_line_usage_errors() {
    for args in [
        vec!["exec", "-j", "0", "--", "true"],
        vec!["exec", "-j", "x", "--", "true"],
        vec!["exec", "--timeout", "0", "--", "true"],
        vec!["exec", "--timeout", "soon", "--", "true"],
        vec!["exec", "--rate", "0/s", "--", "true"],
        vec!["exec", "--rate", "5/fortnight", "--", "true"],
        vec!["exec", "--halt", "sometimes", "--", "true"],
        vec!["exec", "--resume", "--", "true"],
        vec!["exec"],
        vec!["exec", "--", ":::", "a"],
        vec!["fetch", "--max-size", "big"],
        vec!["fetch", "--per-host", "0"],
        vec!["fetch", "--retries", "-1"],
        vec!["frobnicate"],
    ] {
        let r = run(&args, None);
        assert_usage_error(&r);
    }
}

#[test]
fn sigterm_kills_running_jobs_and_exits() {
    let mut child = inflight()
        .args(["exec", "-j", "2", "--", "sleep", "20"])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let mut stdin = child.stdin.take().unwrap();
    {
        use std::io::Write;
        stdin.write_all(b"1\n2\n3\n").unwrap();
    }
    std::thread::sleep(Duration::from_millis(250));
    signal(child.id(), "TERM");
    let r = finish(child, started, Duration::from_secs(10));
    assert_eq!(r.code(), 143, "128 + SIGTERM: {r:?}");
    assert!(r.took < Duration::from_secs(3), "{:?}", r.took);
    assert!(
        r.stderr.contains("terminated; killing 2 running jobs"),
        "{}",
        r.stderr
    );
}
