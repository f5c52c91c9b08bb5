//! Python for the browser and metrics tests: `$INFLIGHT_PYTHON`, else
//! /opt/inflight-venv/bin/python, else `python3`; the first that imports what the test needs
//! (`playwright`, `prometheus_client`). Without one the test is skipped with a message,
//! unless INFLIGHT_REQUIRE_BROWSER=1 (CI) makes that a failure.
#![allow(dead_code)]

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// An interpreter that can `import module`, or `None` (the test then returns: skipped).
pub fn with(module: &str) -> Option<PathBuf> {
    let candidates = std::env::var_os("INFLIGHT_PYTHON")
        .map(PathBuf::from)
        .into_iter()
        .chain([
            PathBuf::from("/opt/inflight-venv/bin/python"),
            PathBuf::from("python3"),
        ]);
    for python in candidates {
        let ok = Command::new(&python)
            .args(["-c", &format!("import {module}")])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            return Some(python);
        }
    }
    let message = format!(
        "no Python with `{module}` ($INFLIGHT_PYTHON, /opt/inflight-venv/bin/python, python3)"
    );
    if std::env::var("INFLIGHT_REQUIRE_BROWSER").as_deref() == Ok("1") {
        panic!("{message}, and INFLIGHT_REQUIRE_BROWSER=1");
    }
    eprintln!("skipped: {message}");
    None
}

/// A script of tests/py.
pub fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(name)
}

/// Parses Prometheus text with prometheus_client's parser: `(families: name → type,
/// samples: [{name, labels, value}])`. Panics if the parser refuses the text.
pub fn parse_metrics(python: &PathBuf, text: &str) -> serde_json::Value {
    let mut child = Command::new(python)
        .arg(script("parse_metrics.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run python");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "prometheus_client refused the text: {}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The value of the sample `name` whose labels include every one of `labels`.
pub fn sample(parsed: &serde_json::Value, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    parsed["samples"].as_array()?.iter().find_map(|s| {
        let matches = s["name"] == name
            && labels
                .iter()
                .all(|(k, v)| s["labels"][*k].as_str() == Some(*v));
        matches.then(|| s["value"].as_f64()).flatten()
    })
}
