//! Inputs are bytes: names that are not UTF-8 reach the command exactly, the log keeps them
//! exactly and `--resume` tells them apart; NUL-separated input; GNU parallel's replacement
//! strings; and a line too long to keep is a clear error in bounded memory.
mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

/// Three files whose names differ only in a byte that is not UTF-8, and the name they all
/// became when decoded lossily.
fn three_files(dir: &std::path::Path) {
    use std::os::unix::ffi::OsStrExt;
    for (name, body) in [
        (&b"data\xe9"[..], "E9\n"),
        (b"data\xff", "FF\n"),
        ("data\u{fffd}".as_bytes(), "DECOY\n"),
    ] {
        std::fs::write(dir.join(std::ffi::OsStr::from_bytes(name)), body).unwrap();
    }
}

#[test]
fn non_utf8_inputs_reach_the_command_exactly() {
    let dir = tempfile::tempdir().unwrap();
    three_files(dir.path());
    let r = run_bytes(
        &["exec", "-k", "--", "cat", "{}"],
        b"data\xe9\ndata\xff\n".to_vec(),
        Some(dir.path()),
    );
    assert_eq!(r.code(), 0, "{r:?}");
    assert_eq!(r.stdout, "E9\nFF\n", "each job read its own file");
}

#[test]
fn the_log_keeps_exact_bytes_and_resume_tells_them_apart() {
    let dir = tempfile::tempdir().unwrap();
    three_files(dir.path());
    let log = dir.path().join("log");
    let log_s = log.to_str().unwrap();
    let input = b"data\xe9\ndata\xff\n".to_vec();
    // Only the E9 file passes the first time.
    let first = run_bytes(
        &[
            "exec",
            "--log",
            log_s,
            "--",
            "sh",
            "-c",
            r#"grep -q E9 "$1""#,
            "_",
            "{}",
        ],
        input.clone(),
        Some(dir.path()),
    );
    assert_eq!(first.code(), 1, "{first:?}");
    let records = log_records(&log, false);
    let b64: Vec<&str> = records
        .iter()
        .map(|r| r["input_b64"].as_str().unwrap())
        .collect();
    assert!(
        b64.contains(&"ZGF0Yek=") && b64.contains(&"ZGF0Yf8="),
        "{records:?}"
    );
    assert!(records.iter().all(|r| r["input"] == "data\u{fffd}"));
    // The job's message shows which input it was, byte for byte.
    let missing = run_bytes(&["exec", "--", "./nope{}"], b"x\xff\n".to_vec(), None);
    assert!(
        missing.stderr.contains(r#"("x\xff")"#),
        "{}",
        missing.stderr
    );

    let second = run_bytes(
        &["exec", "--log", log_s, "--resume", "--", "cat", "{}"],
        input,
        Some(dir.path()),
    );
    assert_eq!(second.code(), 0, "{second:?}");
    assert_eq!(
        second.stdout, "FF\n",
        "only the input that failed ran again"
    );
    assert!(
        second.stderr.contains("1 jobs, 1 ok") && second.stderr.contains("1 skipped"),
        "{}",
        second.stderr
    );
}

#[test]
fn nul_separated_input() {
    let r = run_bytes(
        &["exec", "-0", "-k", "--", "printf", "[%s]\\n"],
        b"a b\0c\nd\0last".to_vec(),
        None,
    );
    assert_eq!(r.code(), 0, "{r:?}");
    assert_eq!(r.stdout, "[a b]\n[c\nd]\n[last]\n");
}

#[test]
fn gnu_parallel_replacement_strings() {
    let inputs = [
        "a/b.c.txt",
        "foo/.bashrc",
        "a/b/",
        "file",
        "/abs",
        "plain.tar.gz",
        "a.b/c",
    ];
    let template = "{}|{.}|{/}|{//}|{/.}";
    let mut args = vec!["exec", "-k", "--", "echo", template, ":::"];
    args.extend(inputs);
    let r = run(&args, None);
    assert_eq!(r.code(), 0, "{r:?}");
    let expected = "a/b.c.txt|a/b.c|b.c.txt|a|b.c\n\
                    foo/.bashrc|foo/|.bashrc|foo|\n\
                    a/b/|a/b/||a|\n\
                    file|file|file|.|file\n\
                    /abs|/abs|abs|/|abs\n\
                    plain.tar.gz|plain.tar|plain.tar.gz|.|plain.tar\n\
                    a.b/c|a.b/c|c|a.b|c\n";
    assert_eq!(r.stdout, expected);
    // The same as GNU parallel itself, where it is installed.
    if let Ok(out) = std::process::Command::new("parallel")
        .args(["--will-cite", "-k", "echo", template, ":::"])
        .args(inputs)
        .output()
    {
        if out.status.success() {
            assert_eq!(String::from_utf8_lossy(&out.stdout), expected);
        }
    }
}

#[test]
fn slot_numbers_stay_within_the_job_limit() {
    let inputs: Vec<String> = (1..=40).map(|i| i.to_string()).collect();
    let mut args = vec![
        "exec",
        "-j",
        "3",
        "--",
        "sh",
        "-c",
        r#"sleep 0.0$2; echo "$1""#,
        "_",
        "{%}",
        "{}",
        ":::",
    ];
    args.extend(inputs.iter().map(String::as_str));
    let r = run(&args, None);
    assert_eq!(r.code(), 0, "{r:?}");
    let slots: Vec<u32> = r.stdout.lines().map(|l| l.parse().unwrap()).collect();
    assert_eq!(slots.len(), 40);
    assert!(slots.iter().all(|s| (1..=3).contains(s)), "{slots:?}");
    assert!(slots.contains(&3), "every slot is used: {slots:?}");
}

#[test]
fn an_overlong_line_is_a_clear_error_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let mut child = inflight()
        .args(["exec", "--log", log.to_str().unwrap(), "--", "echo"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // 300 MB without a newline, then a short line.
    let writer = std::thread::spawn(move || {
        use std::io::Write;
        let chunk = vec![b'a'; 1 << 20];
        for _ in 0..300 {
            if stdin.write_all(&chunk).is_err() {
                return;
            }
        }
        let _ = stdin.write_all(b"\nshort\n");
    });
    let out: Box<dyn std::io::Read + Send> = Box::new(child.stdout.take().unwrap());
    let err: Box<dyn std::io::Read + Send> = Box::new(child.stderr.take().unwrap());
    let readers = [out, err].map(|mut pipe| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = pipe.read_to_string(&mut s);
            s
        })
    });
    let (status, peak) = wait_sampling_rss(&mut child, Duration::from_secs(120));
    writer.join().unwrap();
    let [stdout, stderr] = readers.map(|t| t.join().unwrap());
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert_eq!(stdout, "short\n");
    assert!(stderr.contains("longer than --max-line"), "{stderr}");
    assert!(stderr.len() < 2000, "a cut message: {} bytes", stderr.len());
    assert!(peak < 150 << 20, "peak memory {} MB", peak >> 20);
    let records = log_records(&log, false);
    assert_eq!(records.len(), 2);
    let long = records.iter().find(|r| r["seq"] == 1).unwrap();
    assert_eq!(long["ok"], false);
    assert_eq!(long["attempts"], 0);
    assert!(long["input"].as_str().unwrap().len() <= 256);
}

#[test]
fn a_long_input_is_cut_in_messages() {
    // 10 MB is under a raised --max-line, but no system takes it as one argument: the error
    // names the job with the input's head and length, not the whole input.
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let mut input = vec![b'x'; 10 << 20];
    input.push(b'\n');
    let started = Instant::now();
    let r = run_bytes(
        &[
            "exec",
            "--max-line",
            "20M",
            "--log",
            log.to_str().unwrap(),
            "--",
            "true",
        ],
        input,
        None,
    );
    assert_eq!(r.code(), 1, "{}", &r.stderr[..r.stderr.len().min(500)]);
    assert!(r.stderr.len() < 2000, "stderr of {} bytes", r.stderr.len());
    assert!(r.stderr.contains("(10485760 bytes)"), "{}", r.stderr);
    let records = log_records(&log, false);
    assert!(records[0]["error"].as_str().unwrap().len() < 500);
    assert!(started.elapsed() < Duration::from_secs(60));
}
