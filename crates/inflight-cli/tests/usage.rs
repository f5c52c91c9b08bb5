//! The command line as a user meets it: typos, usage errors that say what is wrong, exit
//! statuses that cannot be mistaken, safe examples, completions and the man page.
mod common;

use std::path::Path;
use std::process::Command;

use common::*;

#[test]
fn a_misspelled_option_is_a_usage_error_not_a_command() {
    let r = run(
        &[
            "exec", "--timout", "5s", "--", "echo", "hi", ":::", "a", "b",
        ],
        None,
    );
    assert_usage_error(&r);
    assert!(
        r.stderr.contains("'--timout'") && r.stderr.contains("'--timeout'"),
        "names the typo and the option meant: {}",
        r.stderr
    );
    assert_eq!(r.stdout, "", "nothing ran");
    // After the command, options belong to it.
    let r = run(&["exec", "-k", "echo", "-n", "--timout", ":::", "a"], None);
    assert_eq!(r.code(), 0, "{r:?}");
    assert_eq!(r.stdout, "--timout a");
}

#[test]
fn usage_errors_name_what_is_wrong() {
    let r = run(&["exec"], None);
    assert_usage_error(&r);
    assert!(r.stderr.contains("<CMD [ARGS]..."), "{}", r.stderr);
    for (args, option) in [
        (vec!["fetch", "--max-redirects", "-1"], "--max-redirects"),
        (vec!["fetch", "--retries", "-1"], "--retries"),
        (vec!["exec", "-j", "-2", "--", "true"], "--jobs"),
        (
            vec!["exec", "--term-grace", "soon", "--", "true"],
            "--term-grace",
        ),
        (vec!["exec", "--max-line", "0", "--", "true"], "--max-line"),
        // Options that only qualify shared limits or a queue are not silently ignored.
        (
            vec!["fetch", "-o", ".", "--name", "page.html", "-"],
            "--save-as",
        ),
        (vec!["exec", "--worker", "w1", "--", "true"], "--queue"),
        (
            vec!["exec", "--lease", "10s", "--", "true"],
            "--global-jobs",
        ),
    ] {
        let r = run(&args, None);
        assert_usage_error(&r);
        assert!(r.stderr.contains(option), "{args:?}: {}", r.stderr);
    }
}

#[test]
fn usage_and_io_errors_exit_255_which_no_failure_count_can() {
    let dir = tempfile::tempdir().unwrap();
    let bad_log = dir.path().join("no/such/dir/log");
    let r = run(
        &[
            "exec",
            "--log",
            bad_log.to_str().unwrap(),
            "--",
            "true",
            ":::",
            "a",
        ],
        None,
    );
    assert_eq!(r.code(), 255, "{r:?}");
    let r = run(
        &["fetch", dir.path().join("missing.txt").to_str().unwrap()],
        None,
    );
    assert_eq!(r.code(), 255, "{r:?}");
    let r = run(&["exec", "--", "false", ":::", "a", "b"], None);
    assert_eq!(r.code(), 2, "two failures");
    let r = run(&["bogus"], None);
    assert_eq!(r.code(), 255, "{r:?}");
}

/// The `sh -c '...'` scripts in `text`.
fn shell_scripts(text: &str) -> Vec<String> {
    let mut scripts = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("sh -c '") {
        let tail = &rest[at + 7..];
        let end = tail.find('\'').expect("unterminated sh -c script");
        scripts.push(tail[..end].to_string());
        rest = &tail[end..];
    }
    scripts
}

/// Whether every `$N` in a script is inside double quotes and no placeholder is in it.
fn takes_input_safely(script: &str) -> bool {
    if ["{}", "{.}", "{/}", "{//}", "{/.}"]
        .iter()
        .any(|p| script.contains(p))
    {
        return false;
    }
    let mut quoted = false;
    let bytes = script.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => quoted = !quoted,
            b'$' if !quoted && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) => return false,
            _ => {}
        }
    }
    true
}

#[test]
fn shell_examples_pass_the_input_as_an_argument() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut texts = vec![
        std::fs::read_to_string(root.join("../../README.md")).unwrap(),
        std::fs::read_to_string(root.join("USAGE.md")).unwrap(),
    ];
    for args in [
        vec!["--help"],
        vec!["exec", "--help"],
        vec!["fetch", "--help"],
    ] {
        texts.push(run(&args, None).stdout);
    }
    let mut seen = 0;
    for text in &texts {
        for script in shell_scripts(text) {
            seen += 1;
            assert!(
                takes_input_safely(&script),
                "unsafe example: sh -c '{script}'"
            );
        }
    }
    assert!(seen >= 3, "the examples were found");
    assert!(!takes_input_safely("sleep 1; echo done {}"));
    assert!(!takes_input_safely("wc -l $1"));
    assert!(takes_input_safely(r#"sleep 1; echo "done $1""#));
}

#[test]
fn completions_come_from_the_same_definitions() {
    let dir = tempfile::tempdir().unwrap();
    for shell in ["bash", "zsh", "fish"] {
        let r = run(&["completions", shell], None);
        assert_eq!(r.code(), 0, "{r:?}");
        for option in [
            "term-grace",
            "header-file",
            "user-agent",
            "cacert",
            "layout",
            "print",
        ] {
            assert!(r.stdout.contains(option), "{shell}: {option}");
        }
        let file = dir.path().join(shell);
        std::fs::write(&file, &r.stdout).unwrap();
        // Each shell checks its own script's syntax, where it is installed.
        if let Ok(out) = Command::new(shell).arg("-n").arg(&file).output() {
            assert!(out.status.success(), "{shell} -n: {out:?}");
        }
    }
    // bash completes a prefix of an exec option.
    let script = format!(
        "source {}; COMP_WORDS=(inflight exec --time); COMP_CWORD=2; _inflight inflight --time exec; echo \"${{COMPREPLY[@]}}\"",
        dir.path().join("bash").display()
    );
    let out = Command::new("bash").args(["-c", &script]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("--timeout"),
        "{out:?}"
    );
    assert_usage_error(&run(&["completions", "tcsh"], None));
}

#[test]
fn the_man_page_has_every_option() {
    let r = run(&["man"], None);
    assert_eq!(r.code(), 0, "{r:?}");
    assert!(r.stdout.starts_with(".ie \\n(.g .ds Aq") || r.stdout.contains(".TH inflight"));
    for option in [
        "timeout",
        "term\\-grace",
        "max\\-line",
        "null",
        "per\\-host",
        "resume",
        "header\\-file",
        "user\\-agent",
        "proxy",
        "cacert",
        "compressed",
        "layout",
        "print",
        "threads",
    ] {
        assert!(
            r.stdout.contains(option),
            "{option} missing from the man page"
        );
    }
    // It renders without warnings, where groff is installed.
    let dir = tempfile::tempdir().unwrap();
    let page = dir.path().join("inflight.1");
    std::fs::write(&page, &r.stdout).unwrap();
    if let Ok(out) = Command::new("groff")
        .args(["-man", "-Tascii", "-ww"])
        .arg(&page)
        .output()
    {
        // Drop grotty's overstrike (bold is "X\bX", underline "_\bX").
        let mut plain = Vec::new();
        let mut bytes = out.stdout.iter().peekable();
        while let Some(&b) = bytes.next() {
            if bytes.peek() == Some(&&8) {
                bytes.next();
            } else {
                plain.push(b);
            }
        }
        let text = String::from_utf8_lossy(&plain);
        assert!(out.status.success(), "{out:?}");
        assert!(
            out.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(text.contains("--term-grace"), "{text}");
    }
    // With a directory: one page per command.
    let pages = dir.path().join("man1");
    let r = run(&["man", pages.to_str().unwrap()], None);
    assert_eq!(r.code(), 0, "{r:?}");
    for name in ["inflight.1", "inflight-exec.1", "inflight-fetch.1"] {
        assert!(pages.join(name).is_file(), "{name}");
    }
}

#[test]
fn fetch_reads_stdin_for_a_dash_and_man_names_a_directory_it_cannot_write() {
    let r = run(&["fetch", "-q", "-"], Some("not a url\n"));
    assert_eq!(r.code(), 1, "{r:?}");
    assert!(
        r.stderr.contains("\"not a url\": malformed URL"),
        "{}",
        r.stderr
    );
    let r = run(&["man", "/proc/no-such-dir/man"], None);
    assert_usage_error(&r);
    assert!(
        r.stderr
            .contains("cannot write the man pages in /proc/no-such-dir/man"),
        "{}",
        r.stderr
    );
}

#[test]
fn fetch_into_a_file_says_that_o_takes_a_directory() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("page.html");
    std::fs::write(&file, "mine").unwrap();
    let r = run(
        &["fetch", "-o", file.to_str().unwrap(), "-"],
        Some("http://127.0.0.1:1/x\n"),
    );
    assert_usage_error(&r);
    assert!(
        r.stderr.contains("it is a file: -o takes a directory"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"mine");
}

#[test]
fn redis_passwords_are_masked_even_in_urls_that_do_not_parse() {
    for url in [
        "redis://:s3cr3t/PW@127.0.0.1:1",
        "redis+unix:///nonexistent/inflight.sock?pass=s3cr3t",
    ] {
        let r = run(
            &[
                "exec",
                "--redis",
                url,
                "--redis-timeout",
                "1s",
                "--global-jobs",
                "2",
                "--",
                "true",
                ":::",
                "a",
            ],
            None,
        );
        assert_eq!(r.code(), 255, "{r:?}");
        assert!(!r.stderr.contains("s3cr3t"), "{}", r.stderr);
        assert!(r.stderr.contains("***"), "{}", r.stderr);
    }
}
