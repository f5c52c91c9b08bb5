//! Continuing unfinished downloads with Range requests (`--resume`, and retries), against a
//! server that honours ranges, one that ignores them, and one whose file changed.
mod common;

use std::path::Path;
use std::sync::atomic::Ordering::SeqCst;

use common::server::{content_byte, header, Server};
use common::*;

const LEN: usize = 3 << 20;
const CUT: usize = 2 << 20;

fn fetch(out: &Path, log: &Path, url: &str, extra: &[&str]) -> Run {
    let mut args = vec![
        "fetch",
        "-o",
        out.to_str().unwrap(),
        "--log",
        log.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args, Some(&format!("{url}\n")))
}

/// The files under `out`, hidden ones included, with their sizes.
fn files(out: &Path) -> Vec<(String, u64)> {
    let mut found = Vec::new();
    for entry in walk(out) {
        let meta = std::fs::symlink_metadata(&entry).unwrap();
        if meta.is_file() {
            let rel = entry.strip_prefix(out).unwrap().display().to_string();
            found.push((rel, meta.len()));
        }
    }
    found.sort();
    found
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut all = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.is_dir() && !path.is_symlink() {
            all.extend(walk(&path));
        } else {
            all.push(path);
        }
    }
    all
}

fn expected(generation: usize) -> Vec<u8> {
    (0..LEN).map(|i| content_byte(i, generation)).collect()
}

/// Runs a download that the server cuts after CUT bytes, and checks what it leaves: no file
/// under a real name, one partial file.
fn first_run_is_cut(s: &Server, path: &str, out: &Path, log: &Path) {
    let r = fetch(out, log, &s.url(path), &[]);
    assert_eq!(r.code(), 1, "{r:?}");
    let left = files(out);
    assert_eq!(left.len(), 2, "a partial and its validator: {left:?}");
    assert!(
        left.iter()
            .all(|(name, _)| name.starts_with(".inflight-partial/")),
        "{left:?}"
    );
    assert!(left.iter().any(|(_, len)| *len >= 1 << 20), "{left:?}");
}

#[test]
fn resume_continues_with_a_range_request() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let (out, log) = (dir.path().join("out"), dir.path().join("log"));
    let path = format!("/ranged/a/{LEN}/{CUT}");
    first_run_is_cut(&s, &path, &out, &log);
    let r = fetch(&out, &log, &s.url(&path), &["--resume"]);
    assert_eq!(r.code(), 0, "{r:?}");
    let rec = log_records(&log, false).pop().unwrap();
    let from = rec["resumed_from"].as_u64().expect("continued");
    assert!(from >= 1 << 20 && from <= CUT as u64, "{rec}");
    assert_eq!(rec["bytes"], LEN, "{rec}");
    let head = s.state.heads_for(&path).pop().unwrap();
    assert_eq!(header(&head, "range"), Some(format!("bytes={from}-")));
    assert_eq!(header(&head, "if-range").as_deref(), Some("\"a-0\""));
    assert_eq!(
        std::fs::read(out.join(rec["path"].as_str().unwrap())).unwrap(),
        expected(0)
    );
    assert_eq!(
        files(&out).len(),
        1,
        "the partial is gone: {:?}",
        files(&out)
    );
    assert!(
        !out.join(".inflight-partial").exists(),
        "and its empty directory too"
    );
}

#[test]
fn last_modified_serves_as_the_validator_without_an_etag() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let (out, log) = (dir.path().join("out"), dir.path().join("log"));
    let path = format!("/ranged-lm/h/{LEN}/{CUT}");
    first_run_is_cut(&s, &path, &out, &log);
    let r = fetch(&out, &log, &s.url(&path), &["--resume"]);
    assert_eq!(r.code(), 0, "{r:?}");
    let rec = log_records(&log, false).pop().unwrap();
    assert!(rec["resumed_from"].as_u64().is_some(), "{rec}");
    let head = s.state.heads_for(&path).pop().unwrap();
    assert_eq!(
        header(&head, "if-range").as_deref(),
        Some("Tue, 14 Nov 2023 22:13:20 GMT")
    );
    assert_eq!(
        std::fs::read(out.join(rec["path"].as_str().unwrap())).unwrap(),
        expected(0)
    );
}

#[test]
fn a_server_without_ranges_or_a_changed_file_starts_over() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    // Ranges ignored: the whole body again.
    let (out, log) = (dir.path().join("a"), dir.path().join("log-a"));
    let path = format!("/norange/b/{LEN}/{CUT}");
    first_run_is_cut(&s, &path, &out, &log);
    let r = fetch(&out, &log, &s.url(&path), &["--resume"]);
    assert_eq!(r.code(), 0, "{r:?}");
    let rec = log_records(&log, false).pop().unwrap();
    assert!(rec.get("resumed_from").is_none(), "{rec}");
    assert_eq!(
        std::fs::read(out.join(rec["path"].as_str().unwrap())).unwrap(),
        expected(0)
    );
    assert_eq!(files(&out).len(), 1, "{:?}", files(&out));
    // The file changed between the runs: If-Range no longer matches, the server sends it all.
    let (out, log) = (dir.path().join("c"), dir.path().join("log-c"));
    let path = format!("/ranged/c/{LEN}/{CUT}");
    first_run_is_cut(&s, &path, &out, &log);
    s.state.generation.fetch_add(1, SeqCst);
    let r = fetch(&out, &log, &s.url(&path), &["--resume"]);
    assert_eq!(r.code(), 0, "{r:?}");
    let rec = log_records(&log, false).pop().unwrap();
    assert!(rec.get("resumed_from").is_none(), "{rec}");
    let head = s.state.heads_for(&path).pop().unwrap();
    assert_eq!(
        header(&head, "if-range").as_deref(),
        Some("\"c-0\""),
        "asked with the old tag"
    );
    assert_eq!(
        std::fs::read(out.join(rec["path"].as_str().unwrap())).unwrap(),
        expected(1)
    );
    assert_eq!(files(&out).len(), 1, "{:?}", files(&out));
}

#[test]
fn a_range_that_stops_short_or_comes_from_another_version_is_not_kept() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    // A 206 that ends before the file does: that attempt fails, the next starts over.
    let (out, log) = (dir.path().join("s"), dir.path().join("log-s"));
    let path = format!("/ranged-short/s/{LEN}/{CUT}");
    first_run_is_cut(&s, &path, &out, &log);
    let r = fetch(&out, &log, &s.url(&path), &["--resume"]);
    assert_eq!(r.code(), 1, "{r:?}");
    assert!(r.stderr.contains("not at the end"), "{}", r.stderr);
    let r = fetch(&out, &log, &s.url(&path), &["--resume"]);
    assert_eq!(r.code(), 0, "{r:?}");
    let rec = log_records(&log, false).pop().unwrap();
    assert!(rec.get("resumed_from").is_none(), "{rec}");
    assert_eq!(
        std::fs::read(out.join(rec["path"].as_str().unwrap())).unwrap(),
        expected(0)
    );
    // A server that ignores If-Range and sends a range of a new version: not mixed in.
    let (out, log) = (dir.path().join("l"), dir.path().join("log-l"));
    let path = format!("/ranged-liar/l/{LEN}/{CUT}");
    first_run_is_cut(&s, &path, &out, &log);
    s.state.generation.fetch_add(1, SeqCst);
    let r = fetch(&out, &log, &s.url(&path), &["--resume"]);
    assert_eq!(r.code(), 1, "{r:?}");
    assert!(r.stderr.contains("another version"), "{}", r.stderr);
    let r = fetch(&out, &log, &s.url(&path), &["--resume"]);
    assert_eq!(r.code(), 0, "{r:?}");
    let rec = log_records(&log, false).pop().unwrap();
    assert!(rec.get("resumed_from").is_none(), "{rec}");
    assert_eq!(
        std::fs::read(out.join(rec["path"].as_str().unwrap())).unwrap(),
        expected(1)
    );
    assert_eq!(files(&out).len(), 1, "{:?}", files(&out));
}

#[test]
fn without_resume_a_run_starts_over_but_its_retries_continue() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let (out, log) = (dir.path().join("a"), dir.path().join("log-a"));
    let path = format!("/ranged/d/{LEN}/{CUT}");
    first_run_is_cut(&s, &path, &out, &log);
    let r = fetch(&out, &log, &s.url(&path), &[]);
    assert_eq!(r.code(), 0, "{r:?}");
    let head = s.state.heads_for(&path).pop().unwrap();
    assert_eq!(
        header(&head, "range"),
        None,
        "an earlier run's partial is not used"
    );
    assert_eq!(
        files(&out).len(),
        1,
        "and it is replaced: {:?}",
        files(&out)
    );
    // A retry in the same run continues where the failed attempt stopped.
    let (out, log) = (dir.path().join("e"), dir.path().join("log-e"));
    let path = format!("/ranged/e/{LEN}/{CUT}");
    let r = fetch(&out, &log, &s.url(&path), &["--retries", "1"]);
    assert_eq!(r.code(), 0, "{r:?}");
    let rec = log_records(&log, false).pop().unwrap();
    assert_eq!(rec["attempts"], 2, "{rec}");
    assert!(rec["resumed_from"].as_u64().is_some(), "{rec}");
    assert_eq!(
        std::fs::read(out.join(rec["path"].as_str().unwrap())).unwrap(),
        expected(0)
    );
}

#[test]
fn a_download_killed_with_kill_9_is_continued_by_resume() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let (out, log) = (dir.path().join("out"), dir.path().join("log"));
    let path = format!("/ranged-hang/g/{LEN}/{CUT}");
    let mut child = inflight()
        .args([
            "fetch",
            "-o",
            out.to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
        ])
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    let mut stdin = child.stdin.take().unwrap();
    stdin
        .write_all(format!("{}\n", s.url(&path)).as_bytes())
        .unwrap();
    drop(stdin);
    // The server has sent CUT bytes and hangs: kill once they are on disk.
    let kept = wait_for(std::time::Duration::from_secs(20), || {
        out.join(".inflight-partial").is_dir() && files(&out).iter().any(|(_, len)| *len >= 1 << 20)
    });
    assert!(kept, "no partial file: {:?}", files(&out));
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(files(&out)
        .iter()
        .all(|(n, _)| n.starts_with(".inflight-partial/")));
    let r = fetch(&out, &log, &s.url(&path), &["--resume"]);
    assert_eq!(r.code(), 0, "{r:?}");
    let rec = log_records(&log, false).pop().unwrap();
    assert!(rec["resumed_from"].as_u64().is_some(), "{rec}");
    assert_eq!(
        std::fs::read(out.join(rec["path"].as_str().unwrap())).unwrap(),
        expected(0)
    );
}

#[test]
fn a_planted_partial_directory_is_never_used() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, out.join(".inflight-partial")).unwrap();
    let log = dir.path().join("log");
    let path = format!("/ranged/f/{LEN}/{CUT}");
    let r = fetch(&out, &log, &s.url(&path), &[]);
    assert_eq!(r.code(), 1, "{r:?}");
    assert!(
        r.stderr.contains("not keeping unfinished downloads"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);
}
