//! GNU parallel's rules that USAGE.md claims, side by side with the real `parallel` (Debian's
//! package) on the same arguments: replacement strings that stand alone (`{#}`, `{%}`),
//! several input sources (`:::`, `::::`, `--link`, `{1}`, `{2.}`, ...), `-j +N|-N|N%`, and
//! the exit status of `--halt`. Every case also checks inflight's own expected output, so it
//! tests something where `parallel` is missing; there it says so and skips the comparison,
//! unless `INFLIGHT_REQUIRE_PEERS=1` (CI) makes that a failure.
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

/// Whether GNU parallel runs here; without it, a skip message, or a failure in CI.
fn parallel_present() -> bool {
    let ok = Command::new("parallel")
        .arg("--version")
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| o.status.success() && o.stdout.starts_with(b"GNU parallel"));
    if !ok {
        assert!(
            std::env::var_os("INFLIGHT_REQUIRE_PEERS").is_none_or(|v| v != "1"),
            "GNU parallel is not installed and INFLIGHT_REQUIRE_PEERS=1"
        );
        eprintln!("GNU parallel is not installed: comparing with inflight's expected output only");
    }
    ok
}

/// A directory with small scripts the jobs run (the same file for both tools, so that
/// parallel's shell and inflight's direct exec see the same words):
/// `show` prints its arguments as `[a][b]`, `slot` prints its first and sleeps, `exit` exits
/// with its first, `die` kills itself with the signal its first names.
struct Scripts {
    dir: tempfile::TempDir,
}

impl Scripts {
    fn new() -> Scripts {
        let dir = tempfile::tempdir().unwrap();
        for (name, body) in [
            ("show", "for a; do printf '[%s]' \"$a\"; done; echo"),
            ("slot", "echo \"$1\"; sleep 0.3"),
            ("exit", "exit \"$1\""),
            ("die", "kill -\"$1\" $$; sleep 5"),
        ] {
            let path = dir.path().join(name);
            std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        }
        Scripts { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).to_str().unwrap().to_owned()
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// What a run printed and how it exited.
#[derive(Debug, PartialEq)]
struct Seen {
    code: i32,
    stdout: String,
}

/// Runs `inflight exec OPTS -- CMD...` and, where installed, `parallel OPTS CMD...` on the same
/// words and stdin; both must print `want` (with -k, in order) and exit `code`.
fn same(opts: &[&str], cmd: &[&str], stdin: &str, want: &str, code: i32) {
    let mut args = vec!["exec", "-q"];
    args.extend(opts);
    args.push("--");
    args.extend(cmd);
    let r = run(&args, Some(stdin));
    let ours = Seen {
        code: r.code(),
        stdout: r.stdout.clone(),
    };
    assert!(!r.stderr.contains("panicked"), "{r:?}");
    let wanted = Seen {
        code,
        stdout: want.to_owned(),
    };
    assert_eq!(ours, wanted, "inflight {args:?}: {}", r.stderr);
    if !parallel_present() {
        return;
    }
    let mut peer = Command::new("parallel");
    peer.arg("--will-cite")
        .args(opts)
        .args(cmd)
        .env("SHELL", "/bin/sh")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = peer.spawn().unwrap();
    {
        use std::io::Write;
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(stdin.as_bytes()).unwrap();
    }
    let out = child.wait_with_output().unwrap();
    let theirs = Seen {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
    };
    assert_eq!(
        ours,
        theirs,
        "inflight and parallel differ on {opts:?} {cmd:?}: parallel said {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_sequence_or_slot_string_alone_is_a_replacement_and_the_input_is_not_appended() {
    let s = Scripts::new();
    let show = s.path("show");
    same(
        &["-k"],
        &[&show, "{#}", ":::", "a", "b"],
        "",
        "[1]\n[2]\n",
        0,
    );
    same(
        &["-k", "-j1"],
        &[&show, "{%}", ":::", "a", "b"],
        "",
        "[1]\n[1]\n",
        0,
    );
    same(
        &["-k"],
        &[&show, "x{#}", "y", ":::", "a", "b"],
        "",
        "[x1][y]\n[x2][y]\n",
        0,
    );
    // From stdin too.
    same(&["-k"], &[&show, "{#}"], "a\nb\n", "[1]\n[2]\n", 0);
    // Without any replacement string the input is still appended.
    same(&["-k"], &[&show, "y"], "a\nb\n", "[y][a]\n[y][b]\n", 0);
}

#[test]
fn several_sources_give_every_combination_in_parallels_order() {
    let s = Scripts::new();
    let show = s.path("show");
    // Appended: each value is an argument of its own.
    same(
        &["-k"],
        &[&show, ":::", "a", "b", ":::", "1", "2"],
        "",
        "[a][1]\n[a][2]\n[b][1]\n[b][2]\n",
        0,
    );
    // `{}` is every value, one argument each; inside a word, the first value joins the text
    // before it and the last the text after it, as in parallel.
    same(
        &["-k"],
        &[&show, "{}", ":::", "a", "b", ":::", "1", "2"],
        "",
        "[a][1]\n[a][2]\n[b][1]\n[b][2]\n",
        0,
    );
    same(
        &["-k"],
        &[&show, "x{}y", ":::", "a", ":::", "1", ":::", "p q"],
        "",
        "[xa][1][p qy]\n",
        0,
    );
    same(
        &["-k"],
        &[&show, "{.}", ":::", "a.x/b.c", ":::", "1.z"],
        "",
        "[a.x/b][1]\n",
        0,
    );
    // Positional strings, with the modifiers of `{}`, and counted from the end.
    same(
        &["-k"],
        &[&show, "{2}-{1}", ":::", "a", "b", ":::", "1", "2"],
        "",
        "[1-a]\n[2-a]\n[1-b]\n[2-b]\n",
        0,
    );
    same(
        &["-k"],
        &[
            &show,
            "{1.}",
            "{1/}",
            "{1//}",
            "{1/.}",
            "{2}",
            "{-1}",
            "{-2/}",
            ":::",
            "d/a.b/c.d",
            ":::",
            "x.y",
        ],
        "",
        "[d/a.b/c][c.d][d/a.b][c][x.y][x.y][c.d]\n",
        0,
    );
    // `{1}` with one source is `{}`, from `:::` or from stdin.
    same(
        &["-k"],
        &[&show, "{1},{1.}", ":::", "a/b.c", "d"],
        "",
        "[a/b.c,a/b]\n[d,d]\n",
        0,
    );
    same(
        &["-k"],
        &[&show, "={1}="],
        "a\nb c\n",
        "[=a=]\n[=b c=]\n",
        0,
    );
}

#[test]
fn four_colons_read_a_source_from_a_file_also_mixed_with_three() {
    let s = Scripts::new();
    let show = s.path("show");
    let file = s.file("list", "x\ny y\n");
    let file = file.to_str().unwrap();
    same(
        &["-k"],
        &[&show, "::::", file, ":::", "1", "2"],
        "",
        "[x][1]\n[x][2]\n[y y][1]\n[y y][2]\n",
        0,
    );
    same(
        &["-k"],
        &[&show, "{2}", ":::", "1", "2", "::::", file],
        "",
        "[x]\n[y y]\n[x]\n[y y]\n",
        0,
    );
    same(
        &["-k"],
        &[&show, "::::", file],
        "not read\n",
        "[x]\n[y y]\n",
        0,
    );
}

#[test]
fn link_pairs_the_sources_and_wraps_the_shorter_ones() {
    let s = Scripts::new();
    let show = s.path("show");
    same(
        &["-k", "--link"],
        &[&show, ":::", "a", "b", "c", ":::", "1", "2"],
        "",
        "[a][1]\n[b][2]\n[c][1]\n",
        0,
    );
    let file = s.file("list", "p\nq\nr\ns\n");
    same(
        &["-k", "--link"],
        &[
            &show,
            "{3}{1}",
            ":::",
            "a",
            "b",
            "c",
            ":::",
            "1",
            "2",
            "::::",
            file.to_str().unwrap(),
        ],
        "",
        "[pa]\n[qb]\n[rc]\n[sa]\n",
        0,
    );
}

#[test]
fn replacement_strings_inflight_does_not_have_are_usage_errors() {
    for args in [
        &["exec", "--", "echo", "{= s/a/b/ =}", ":::", "a"][..],
        &["exec", "--", "echo", "{=1 uc =}", ":::", "a"],
        &["exec", "--", "echo", "x{0}", ":::", "a"],
        &["exec", "--", "echo", "{3}", ":::", "a", ":::", "b"],
        &["exec", "--", "echo", "{-3}", ":::", "a", ":::", "b"],
        &["exec", "--", "echo", "{2}"],
        &["exec", "--", "echo", "{##}", ":::", "a"],
        &["exec", "--", "echo", "{+/}", ":::", "a"],
        &["exec", "--", "echo", "{..}", ":::", "a"],
        &["exec", "--", "echo", ":::+", "a"],
        &["exec", "--", "echo", "::::"],
        &["exec", "--link", "--", "echo", "{}"],
    ] {
        let r = run(args, Some("a\n"));
        assert_usage_error(&r);
        assert!(r.stdout.is_empty(), "nothing ran: {args:?} {r:?}");
    }
    // A file that cannot be read is an I/O error before anything runs.
    let r = run(&["exec", "--", "echo", "::::", "/nonexistent/list"], None);
    assert_usage_error(&r);
    assert!(r.stderr.contains("/nonexistent/list"), "{r:?}");
    // Braces that are not replacement strings are the command's: awk, JSON.
    let r = run(
        &[
            "exec",
            "-k",
            "--",
            "echo",
            "{print $1}",
            "{\"a\":1}",
            "{",
            ":::",
            "x",
        ],
        None,
    );
    assert_eq!(r.stdout, "{print $1} {\"a\":1} { x\n", "{r:?}");
}

#[test]
fn the_log_and_resume_key_on_the_whole_combination() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let log = log.to_str().unwrap();
    // b with 1 fails; the rest succeed.
    let r = run(
        &[
            "exec",
            "-q",
            "--log",
            log,
            "--",
            "sh",
            "-c",
            "test \"$1$2\" != b1",
            "_",
            "{1}",
            "{2}",
            ":::",
            "a",
            "b",
            ":::",
            "1",
            "2",
        ],
        None,
    );
    assert_eq!(r.code(), 1, "{r:?}");
    let records = log_records(Path::new(log), false);
    assert_eq!(records.len(), 4);
    let failed: Vec<_> = records.iter().filter(|r| r["ok"] == false).collect();
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["inputs"], serde_json::json!(["b", "1"]));
    assert_eq!(failed[0]["seq"], 3);
    let resumed = run(
        &[
            "exec", "-q", "-k", "--log", log, "--resume", "--", "echo", "ran", "{1}{2}", ":::",
            "a", "b", ":::", "1", "2",
        ],
        None,
    );
    assert_eq!(resumed.code(), 0, "{resumed:?}");
    assert_eq!(resumed.stdout, "ran b1\n");
    // The values are kept apart: ("a b", "c") done is not ("a", "b c"), nor the single
    // input "a b c".
    let r = run(
        &[
            "exec", "-q", "--log", log, "--", "true", ":::", "a b", ":::", "c",
        ],
        None,
    );
    assert_eq!(r.code(), 0, "{r:?}");
    let r = run(
        &[
            "exec", "-q", "-k", "--log", log, "--resume", "--", "echo", ":::", "a", "a b", ":::",
            "b c", "c",
        ],
        None,
    );
    assert_eq!(r.stdout, "a b c\na c\na b b c\n", "{r:?}");
    let r = run(
        &["exec", "-q", "--log", log, "--resume", "--", "echo"],
        Some("a b c\n"),
    );
    assert_eq!(r.stdout, "a b c\n", "{r:?}");
    // Single inputs keep the old format: `input`, no `inputs`.
    let last = log_records(Path::new(log), false).pop().unwrap();
    assert_eq!(last["input"], "a b c");
    assert!(last.get("inputs").is_none(), "{last}");
}

/// The number of jobs parallel's `-j` forms give with `cpus` CPUs (`None`: no job at all).
fn parallel_jobs(form: &str, cpus: usize) -> Option<usize> {
    let n = if let Some(plus) = form.strip_prefix('+') {
        (cpus + plus.parse::<usize>().unwrap()) as f64
    } else if let Some(minus) = form.strip_prefix('-') {
        cpus as f64 - minus.parse::<f64>().unwrap()
    } else if let Some(pct) = form.strip_suffix('%') {
        cpus as f64 * pct.parse::<f64>().unwrap() / 100.0
    } else {
        form.parse::<f64>().unwrap()
    };
    let n = n.ceil();
    (n >= 1.0).then_some(n as usize)
}

#[test]
fn jobs_relative_to_the_cpus_count_as_parallel() {
    let s = Scripts::new();
    let slot = s.path("slot");
    // inflight counts the CPUs this process may use (std's available_parallelism: threads,
    // as parallel's default --number-of-threads, less what affinity or a cgroup quota takes).
    let cpus = std::thread::available_parallelism().unwrap().get();
    let mut peer_cpus = None;
    if parallel_present() {
        let out = Command::new("parallel")
            .args(["--will-cite", "--number-of-threads"])
            .output()
            .unwrap();
        let theirs: usize = String::from_utf8_lossy(&out.stdout).trim().parse().unwrap();
        if theirs == cpus {
            peer_cpus = Some(theirs);
        } else {
            eprintln!("parallel counts {theirs} CPUs, this process may use {cpus}: not compared");
        }
    }
    for form in ["+1", "+0", "-1", "50%", "150%", "100%", "10%", "-2", "0%"] {
        let want = parallel_jobs(form, cpus);
        let inputs: Vec<String> = (1..=3 * want.unwrap_or(1)).map(|i| i.to_string()).collect();
        let mut args = vec!["exec", "-q", "-j", form, "--", &slot, "{%}", ":::"];
        args.extend(inputs.iter().map(String::as_str));
        let r = run(&args, None);
        let most = r.stdout.lines().filter_map(|l| l.parse().ok()).max();
        match want {
            Some(n) => {
                assert_eq!(r.code(), 0, "-j {form}: {r:?}");
                assert_eq!(most, Some(n), "-j {form} with {cpus} CPUs: {r:?}");
            }
            None => assert_usage_error(&r),
        }
        if peer_cpus.is_some() {
            let out = Command::new("parallel")
                .args(["--will-cite", "-j", form, &slot, "{%}", ":::"])
                .args(&inputs)
                .output()
                .unwrap();
            let theirs = String::from_utf8_lossy(&out.stdout)
                .lines()
                .filter_map(|l| l.parse::<usize>().ok())
                .max();
            assert_eq!(most, theirs, "-j {form}");
            assert_eq!(r.code(), out.status.code().unwrap(), "-j {form}");
        }
    }
}

#[test]
fn halt_on_one_failure_exits_with_that_jobs_status() {
    let s = Scripts::new();
    let exit = s.path("exit");
    let die = s.path("die");
    same(
        &["-j1", "--halt", "now,fail=1"],
        &[&exit, ":::", "0", "3", "0"],
        "",
        "",
        3,
    );
    same(
        &["-j1", "--halt", "soon,fail=1"],
        &[&exit, ":::", "0", "5", "0"],
        "",
        "",
        5,
    );
    // done=1: the first job to finish decides, success included.
    same(
        &["-j1", "--halt", "now,done=1"],
        &[&exit, ":::", "4", "0"],
        "",
        "",
        4,
    );
    same(
        &["-j1", "--halt", "now,done=1"],
        &[&exit, ":::", "0", "4"],
        "",
        "",
        0,
    );
    // A job killed by a signal: 128 + the signal, as a shell says.
    same(
        &["-j1", "--halt", "now,fail=1"],
        &[&die, ":::", "9"],
        "",
        "",
        137,
    );
    // More than one failure to halt: the number of failed jobs, as without --halt.
    same(
        &["-j1", "--halt", "now,fail=2"],
        &[&exit, ":::", "1", "7", "0"],
        "",
        "",
        2,
    );
    // A command that cannot be run: 127 as a shell says (not found).
    let r = run(
        &[
            "exec",
            "-q",
            "--halt",
            "now,fail=1",
            "--",
            "/nonexistent/cmd",
            ":::",
            "1",
        ],
        None,
    );
    assert_eq!(r.code(), 127, "{r:?}");
}

#[test]
fn halt_at_a_percentage_counts_the_jobs_finished_so_far() {
    // As USAGE.md says: the share is of the jobs finished so far, judged once 3 have finished
    // (the total of a lazy input is not known), and the status is the number that failed.
    let s = Scripts::new();
    let exit = s.path("exit");
    let r = run(
        &[
            "exec",
            "-q",
            "-j1",
            "--halt",
            "soon,fail=50%",
            "--log",
            s.dir.path().join("log").to_str().unwrap(),
            "--",
            &exit,
            ":::",
            "1",
            "0",
            "1",
            "0",
            "0",
            "0",
        ],
        None,
    );
    assert_eq!(r.code(), 2, "{r:?}");
    assert_eq!(log_records(&s.dir.path().join("log"), false).len(), 3);
}
