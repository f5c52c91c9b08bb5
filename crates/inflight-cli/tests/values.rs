//! Every numeric option of every command with extreme values: each value out of its range is
//! a usage error that names the option (exit 255, one line), never a panic, an abort or a run
//! that misbehaves; each value in range runs (or, for the Redis commands, gets past the
//! parser to the connection). The table is the documentation of the ranges in USAGE.md.
mod common;

use common::*;

/// The extremes tried for every option: zero, negative, huge, not numbers, overflowing floats.
const EXTREMES: [&str; 10] = [
    "0",
    "-1",
    "-5",
    "18446744073709551616",
    "2305843009213693952",
    "NaN",
    "inf",
    "-inf",
    "1e400",
    "",
];

/// How a command line is completed after the option and its value, and which values of the
/// option must be accepted (everything else in EXTREMES and in `more` must be refused).
struct Case {
    /// The option as written on the command line.
    option: &'static str,
    /// The subcommand words before the option.
    before: &'static [&'static str],
    /// What follows the option's value.
    after: &'static [&'static str],
    /// Values of EXTREMES (or `more`) that are in range.
    accepted: &'static [&'static str],
    /// Further values for this option: the huge ones of its own unit and form.
    more: &'static [&'static str],
}

/// exec: a quick run of one job.
const EXEC_AFTER: &[&str] = &["--", "true", ":::", "1"];
/// fetch: no URL at all (stdin is empty), so the run ends at once.
const FETCH_AFTER: &[&str] = &[];

fn cases() -> Vec<Case> {
    let exec = &["exec", "-q"][..];
    let fetch = &["fetch", "-q"][..];
    let mut cases = vec![];
    // Options both commands have.
    for (before, after) in [(exec, EXEC_AFTER), (fetch, FETCH_AFTER)] {
        cases.extend([
            Case {
                option: "-j",
                before,
                after,
                accepted: &[],
                more: &[
                    "1000001",
                    "auto:0",
                    "auto:1000001",
                    "auto:18446744073709551616",
                    "+18446744073709551615",
                    "-18446744073709551615",
                    "0%",
                    "1e400%",
                    "NaN%",
                    "100000000%",
                    "+1000000",
                ],
            },
            Case {
                option: "--timeout",
                before,
                after,
                accepted: &[],
                more: &["366d", "31536001", "1000000000000000000", "-5s", "0ms"],
            },
            Case {
                option: "--retries",
                before,
                after,
                accepted: &["0"],
                more: &["4294967296", "1.5"],
            },
            Case {
                option: "--rate",
                before,
                after,
                accepted: &[],
                more: &[
                    "10000000000/s",
                    "1000000001/s",
                    "0.0000000000000000001/s",
                    "0.0001/h",
                    "-5/s",
                    "NaN/s",
                    "inf/s",
                    "1e400/s",
                    "0/s",
                ],
            },
            Case {
                option: "--halt",
                before,
                after,
                accepted: &["0"],
                more: &[
                    "now,fail=0",
                    "now,fail=-1",
                    "now,fail=18446744073709551616",
                    "now,fail=NaN%",
                    "now,fail=inf%",
                    "now,fail=1e400%",
                    "now,fail=101%",
                    "now,fail=0%",
                    "now,fail=-5%",
                ],
            },
            Case {
                option: "--max-line",
                before,
                after,
                accepted: &[],
                more: &["99999999999T", "0K", "-1M", "1e400K"],
            },
            Case {
                option: "--redis-timeout",
                before,
                after,
                accepted: &[],
                more: &["366d", "1000000000000000000", "-5s"],
            },
            Case {
                option: "--global-jobs",
                before,
                after,
                accepted: &[],
                more: &["1000001"],
            },
            Case {
                option: "--global-rate",
                before,
                after,
                accepted: &[],
                more: &["10000000000/s", "0.0000000000000000001/s", "-5/s"],
            },
            Case {
                option: "--lease",
                before,
                after,
                accepted: &[],
                more: &["366d", "1000000000000000000", "-5s", "0.5s"],
            },
            Case {
                option: "--max-deliveries",
                before,
                after,
                accepted: &[],
                more: &["1000001"],
            },
            Case {
                option: "--read-batch",
                before,
                after,
                accepted: &[],
                more: &["10001"],
            },
        ]);
    }
    cases.extend([
        Case {
            option: "--term-grace",
            before: exec,
            after: EXEC_AFTER,
            accepted: &["0"],
            more: &["366d", "1000000000000000000", "-5s"],
        },
        Case {
            option: "--per-host",
            before: fetch,
            after: FETCH_AFTER,
            accepted: &[],
            more: &["1000001"],
        },
        Case {
            option: "--global-per-host",
            before: fetch,
            after: FETCH_AFTER,
            accepted: &[],
            more: &["1000001"],
        },
        Case {
            option: "--max-size",
            before: fetch,
            after: FETCH_AFTER,
            accepted: &[],
            more: &["99999999999T", "-1M"],
        },
        Case {
            option: "--max-redirects",
            before: fetch,
            after: FETCH_AFTER,
            accepted: &["0"],
            more: &["1001"],
        },
        Case {
            option: "--threads",
            before: fetch,
            after: FETCH_AFTER,
            accepted: &[],
            more: &["100000", "1025"],
        },
        Case {
            option: "--max-pending",
            before: &["queue", "push", "q"],
            after: &[],
            accepted: &[],
            more: &["1000000001"],
        },
        Case {
            option: "--batch",
            before: &["queue", "push", "q"],
            after: &[],
            accepted: &[],
            more: &["10001"],
        },
        Case {
            option: "--max-line",
            before: &["queue", "push", "q"],
            after: &[],
            accepted: &[],
            more: &["99999999999T", "-1M"],
        },
        Case {
            option: "--interval",
            before: &["queue", "status", "q"],
            after: &[],
            accepted: &[],
            more: &["366d", "-5s", "1000000000000000000"],
        },
        Case {
            option: "--jobs",
            before: &["limits", "set", "q"],
            after: &[],
            accepted: &[],
            more: &["1000001"],
        },
        Case {
            option: "--per-host",
            before: &["limits", "set", "q"],
            after: &[],
            accepted: &[],
            more: &["1000001"],
        },
        Case {
            option: "--rate",
            before: &["limits", "set", "q"],
            after: &[],
            accepted: &[],
            more: &["10000000000/s", "0.0000000000000000001/s", "-5/s"],
        },
    ]);
    cases
}

/// Waits for `child` up to `secs` seconds, collecting its output; `None` (and killed) if it
/// runs longer.
fn finish_within(mut child: std::process::Child, secs: u64) -> Option<Run> {
    let started = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > std::time::Duration::from_secs(secs) {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    Some(finish(child, started, std::time::Duration::from_secs(1)))
}

/// `-j -N` is the number of CPUs less N (GNU parallel's rule): in range where that leaves one.
fn cpu_relative_in_range(option: &str, value: &str) -> bool {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    match (option, value.strip_prefix('-').map(str::parse::<usize>)) {
        ("-j", Some(Ok(n))) => cpus > n,
        _ => false,
    }
}

/// The name clap shows for an option in its messages: `--jobs` for `-j`.
fn shown_name(option: &str) -> &str {
    match option {
        "-j" => "--jobs",
        other => other,
    }
}

#[test]
fn every_numeric_option_refuses_extreme_values_with_a_usage_error() {
    let mut failures = Vec::new();
    for case in cases() {
        for value in EXTREMES.iter().chain(case.more) {
            // `--opt=VALUE`, and `--opt VALUE` as users write it (where a leading `-` must
            // still be taken as the value: "--timeout -5" is not an unknown option).
            let split_only = !value.starts_with('-') && !value.is_empty();
            for joined in [false, true] {
                if joined && split_only {
                    continue;
                }
                let mut args: Vec<String> = case.before.iter().map(|s| s.to_string()).collect();
                if joined {
                    args.push(format!("{}={value}", case.option));
                } else {
                    args.push(case.option.to_string());
                    args.push(value.to_string());
                }
                args.extend(case.after.iter().map(|s| s.to_string()));
                // Redis options need a server to go further; none listens on port 1, and the
                // test only looks at what the parser says.
                let args: Vec<&str> = args.iter().map(String::as_str).collect();
                let mut cmd = inflight();
                cmd.args(&args)
                    .env("INFLIGHT_REDIS", "redis://127.0.0.1:1/")
                    .stdin(std::process::Stdio::null());
                let r = match finish_within(cmd.spawn().unwrap(), 10) {
                    Some(r) => r,
                    None => {
                        failures.push(format!("still running after 10 s: {args:?}"));
                        continue;
                    }
                };
                let what = format!("{args:?}: {} {:?}", r.code(), r.stderr);
                if r.stderr.contains("panicked") || r.status.code().is_none() {
                    failures.push(format!("crashed: {what}"));
                    continue;
                }
                let accepted =
                    case.accepted.contains(value) || cpu_relative_in_range(case.option, value);
                let usage = r.code() == 255
                    && r.stderr.lines().count() == 1
                    && r.stderr.contains(shown_name(case.option))
                    && r.stderr.contains("invalid value");
                if accepted && usage {
                    failures.push(format!("refused a value in range: {what}"));
                } else if !accepted && !usage {
                    failures.push(format!("not a usage error naming the option: {what}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn values_at_the_edges_of_their_ranges_run() {
    for args in [
        &["exec", "-q", "-j", "1000000", "--", "true", ":::", "1", "2"][..],
        &[
            "exec",
            "-q",
            "-j",
            "auto:1000000",
            "-k",
            "--",
            "true",
            ":::",
            "1",
        ],
        &[
            "exec",
            "-q",
            "--rate",
            "1000000000/s",
            "--",
            "true",
            ":::",
            "1",
            "2",
        ],
        &["exec", "-q", "--rate", "1/h", "--", "true", ":::", "1"],
        &["exec", "-q", "--timeout", "365d", "--", "true", ":::", "1"],
        &[
            "exec",
            "-q",
            "--term-grace",
            "365d",
            "--",
            "true",
            ":::",
            "1",
        ],
        &[
            "exec",
            "-q",
            "--retries",
            "4294967295",
            "--",
            "true",
            ":::",
            "1",
        ],
        &[
            "exec",
            "-q",
            "--max-line",
            "16384T",
            "--",
            "true",
            ":::",
            "1",
        ],
        &["fetch", "-q", "--threads", "64", "--per-host", "1000000"],
        &[
            "fetch",
            "-q",
            "--max-redirects",
            "1000",
            "--max-size",
            "16384T",
        ],
    ] {
        let r = run(args, Some(""));
        assert_eq!(r.code(), 0, "{args:?}: {r:?}");
        assert!(!r.stderr.contains("panicked"), "{args:?}: {r:?}");
    }
}
