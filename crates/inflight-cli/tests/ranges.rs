//! Continuing unfinished downloads with Range requests (`--resume`, and retries), against a
//! server that honours ranges, one that ignores them, and one whose file changed.
mod common;

use std::os::unix::fs::DirBuilderExt;
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

/// Starts `inflight fetch -o out` on `url` (stdin closed after the URL), for a test to kill.
fn spawn_fetch(out: &Path, log: &Path, url: &str) -> std::process::Child {
    use std::io::Write;
    let mut child = inflight()
        .args([
            "fetch",
            "-o",
            out.to_str().unwrap(),
            "--log",
            log.to_str().unwrap(),
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    stdin.write_all(format!("{url}\n").as_bytes()).unwrap();
    child
}

/// The partial bodies (not `.meta` files) in `out`'s partial directory.
fn partial_bodies(out: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(out.join(".inflight-partial")) else {
        return Vec::new();
    };
    entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| !name.ends_with(".meta"))
        .collect()
}

#[test]
fn the_meta_is_written_before_the_partial_is_linked() {
    use rustix::fs::inotify;
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let (out, log) = (dir.path().join("out"), dir.path().join("log"));
    // The partial directory made beforehand (as a run would: ours, 0700) so that it can be
    // watched: the order in which names appear in it is the order a kill -9 could cut.
    let partial = out.join(".inflight-partial");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::DirBuilder::new()
        .mode(0o700)
        .create(&partial)
        .unwrap();
    let watch =
        inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK).unwrap();
    inotify::add_watch(
        &watch,
        &partial,
        inotify::WatchFlags::CREATE | inotify::WatchFlags::MOVED_TO,
    )
    .unwrap();
    let mut child = spawn_fetch(&out, &log, &s.url(&format!("/ranged-hang/w/{LEN}/{CUT}")));
    let mut buf = [std::mem::MaybeUninit::uninit(); 4096];
    let mut reader = inotify::Reader::new(&watch, &mut buf);
    let mut names = Vec::new();
    let started = std::time::Instant::now();
    while !names.iter().any(|n: &String| !n.ends_with(".meta"))
        && started.elapsed() < std::time::Duration::from_secs(20)
    {
        match reader.next() {
            Ok(event) => names.extend(event.file_name().map(|n| n.to_string_lossy().into_owned())),
            Err(rustix::io::Errno::AGAIN) => {
                std::thread::sleep(std::time::Duration::from_millis(5))
            }
            Err(e) => panic!("inotify: {e}"),
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let body = names.iter().position(|n| !n.ends_with(".meta"));
    let meta = names.iter().position(|n| n.ends_with(".meta"));
    assert!(body.is_some(), "no partial was linked: {names:?}");
    assert!(
        meta.is_some() && meta < body,
        "the .meta must appear before the partial it describes: {names:?}"
    );
    assert_eq!(
        names[body.unwrap()],
        format!("{}", names[meta.unwrap()].trim_end_matches(".meta"))
    );
}

#[test]
fn a_partial_without_its_meta_or_beside_another_meta_is_started_over() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    // Killed after the body was linked and before its `.meta` was written (the old order).
    let (out, log) = (dir.path().join("a"), dir.path().join("log-a"));
    let path = format!("/ranged/nometa/{LEN}/{CUT}");
    first_run_is_cut(&s, &path, &out, &log);
    let body = partial_bodies(&out).pop().unwrap();
    std::fs::remove_file(out.join(format!(".inflight-partial/{body}.meta"))).unwrap();
    let r = fetch(&out, &log, &s.url(&path), &["--resume"]);
    assert_eq!(r.code(), 0, "{r:?}");
    let rec = log_records(&log, false).pop().unwrap();
    assert!(rec.get("resumed_from").is_none(), "{rec}");
    assert_eq!(
        header(&s.state.heads_for(&path).pop().unwrap(), "range"),
        None
    );
    assert_eq!(
        std::fs::read(out.join(rec["path"].as_str().unwrap())).unwrap(),
        expected(0)
    );
    assert_eq!(files(&out).len(), 1, "{:?}", files(&out));
    // A `.meta` beside a body it was not written for (two runs raced for one URL; here the
    // body is replaced by a copy of itself): it vouches for nothing, the body starts over.
    let (out, log) = (dir.path().join("b"), dir.path().join("log-b"));
    let path = format!("/ranged/othermeta/{LEN}/{CUT}");
    first_run_is_cut(&s, &path, &out, &log);
    let body = out
        .join(".inflight-partial")
        .join(partial_bodies(&out).pop().unwrap());
    let copy = out.join(".inflight-partial/copy");
    std::fs::copy(&body, &copy).unwrap();
    std::fs::rename(&copy, &body).unwrap();
    let r = fetch(&out, &log, &s.url(&path), &["--resume"]);
    assert_eq!(r.code(), 0, "{r:?}");
    let rec = log_records(&log, false).pop().unwrap();
    assert!(rec.get("resumed_from").is_none(), "{rec}");
    assert_eq!(
        header(&s.state.heads_for(&path).pop().unwrap(), "range"),
        None
    );
    assert_eq!(
        std::fs::read(out.join(rec["path"].as_str().unwrap())).unwrap(),
        expected(0)
    );
    assert_eq!(files(&out).len(), 1, "{:?}", files(&out));
}

/// The name of a URL's partial file (as `fetch::partial` makes it).
fn partial_key(url: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(url.as_bytes())[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_meta_without_its_partial_is_dropped_and_the_download_starts_over() {
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    // Killed after the `.meta` was written and before the body was linked: a real `.meta`
    // left alone, for a URL whose next download is too small to be kept (so nothing else
    // replaces or removes it).
    let (out, log) = (dir.path().join("out"), dir.path().join("log"));
    first_run_is_cut(&s, &format!("/ranged/nobody/{LEN}/{CUT}"), &out, &log);
    let body = partial_bodies(&out).pop().unwrap();
    let partial = out.join(".inflight-partial");
    std::fs::remove_file(partial.join(&body)).unwrap();
    let small = s.url("/small-one");
    std::fs::rename(
        partial.join(format!("{body}.meta")),
        partial.join(format!("{}.meta", partial_key(&small))),
    )
    .unwrap();
    let r = fetch(&out, &log, &small, &["--resume"]);
    assert_eq!(r.code(), 0, "{r:?}");
    let rec = log_records(&log, false).pop().unwrap();
    assert!(rec.get("resumed_from").is_none(), "{rec}");
    assert_eq!(
        header(&s.state.heads_for("/small-one").pop().unwrap(), "range"),
        None
    );
    assert_eq!(
        std::fs::read(out.join(rec["path"].as_str().unwrap())).unwrap(),
        b"body of /small-one"
    );
    assert_eq!(
        files(&out).len(),
        1,
        "the lone .meta is gone: {:?}",
        files(&out)
    );
    assert!(!partial.exists(), "and its empty directory too");
}

#[test]
fn kill_9_at_any_moment_leaves_no_partial_without_its_meta() {
    use std::hash::{BuildHasher, RandomState};
    let s = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let random = RandomState::new();
    for round in 0..8u64 {
        let (out, log) = (
            dir.path().join(format!("out-{round}")),
            dir.path().join(format!("log-{round}")),
        );
        let path = format!("/ranged-hang/k{round}/{LEN}/{CUT}");
        // Kills spread over the first run from the moment its request is served (so that the
        // next request is not the one the server cuts): while the body comes, around the
        // moment it is kept, and while the server hangs after the cut.
        let delay = std::time::Duration::from_millis(random.hash_one(round) % 150);
        let mut child = spawn_fetch(&out, &log, &s.url(&path));
        let served = wait_for(std::time::Duration::from_secs(20), || {
            s.state.served_full.lock().unwrap().contains_key(&path)
        });
        assert!(served, "the first run's request never came");
        std::thread::sleep(delay);
        child.kill().unwrap();
        child.wait().unwrap();
        let bodies = partial_bodies(&out);
        for body in &bodies {
            assert!(
                out.join(format!(".inflight-partial/{body}.meta")).is_file(),
                "killed after {delay:?}: a partial without its .meta: {:?}",
                files(&out)
            );
        }
        let r = fetch(&out, &log, &s.url(&path), &["--resume"]);
        assert_eq!(r.code(), 0, "killed after {delay:?}: {r:?}");
        let rec = log_records(&log, false).pop().unwrap();
        assert_eq!(
            rec.get("resumed_from").is_some(),
            !bodies.is_empty(),
            "killed after {delay:?}: a kept partial is continued, else it starts over: {rec}"
        );
        assert_eq!(
            std::fs::read(out.join(rec["path"].as_str().unwrap())).unwrap(),
            expected(0)
        );
        assert_eq!(files(&out).len(), 1, "{:?}", files(&out));
    }
}
