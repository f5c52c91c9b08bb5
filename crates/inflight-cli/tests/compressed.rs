//! `fetch --compressed` on the encodings that gzip, br and zstd (tested in crawl.rs) leave
//! out: `deflate` both as RFC 9110 says (zlib-wrapped) and as servers send it (raw), gzip
//! spelt `x-gzip`, an encoding that cannot be decoded, and a corrupt body. Side by side with the real curl where
//! curl defines the behaviour.
mod common;

use common::curl::curl;
use common::server::{encoded_plain, header, Server};
use common::*;

/// The one entry `dir` holds, read; fails unless there is exactly one.
fn only_file(dir: &std::path::Path) -> Vec<u8> {
    let entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(entries.len(), 1, "{entries:?}");
    std::fs::read(entries[0].path()).unwrap()
}

#[test]
fn deflate_zlib_wrapped_or_raw_and_x_gzip_are_decoded_as_curl_decodes_them() {
    let s = Server::start();
    let plain = encoded_plain("deflate");
    for kind in ["deflate", "deflate-raw", "x-gzip"] {
        let url = s.url(&format!("/enc/{kind}"));
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let log = dir.path().join("log");
        let r = run(
            &[
                "fetch",
                "--compressed",
                "-o",
                out.to_str().unwrap(),
                "--log",
                log.to_str().unwrap(),
            ],
            Some(&format!("{url}\n")),
        );
        assert_eq!(r.code(), 0, "{kind}: {r:?}");
        let rec = &log_records(&log, false)[0];
        assert_eq!(rec["bytes"], plain.len(), "{kind}: {rec}");
        let saved = only_file(&out);
        assert!(
            saved == plain,
            "{kind}: saved {} bytes, not decoded",
            saved.len()
        );
        // curl --compressed decodes them to the same bytes.
        if let Some(c) = curl(&["-sS", "--compressed", &url], &[]) {
            assert_eq!(c.code, 0, "{kind}: curl {c:?}");
            assert!(c.stdout == saved, "{kind}: curl and inflight differ");
        }
    }
    // deflate is asked for, as curl asks for it.
    let accept = header(&s.state.heads_for("/enc/deflate")[0], "accept-encoding").unwrap();
    for coding in ["gzip", "deflate", "br", "zstd"] {
        assert!(accept.contains(coding), "{accept}");
    }
    // --max-size counts decoded bytes for deflate too (32000 decoded, far less sent).
    let r = run(
        &["fetch", "--compressed", "--max-size", "10K"],
        Some(&format!("{}\n", s.url("/enc/deflate-raw"))),
    );
    assert_eq!(r.code(), 1, "{r:?}");
    assert!(r.stderr.contains("too large"), "{}", r.stderr);
}

#[test]
fn an_undecodable_body_fails_the_url_and_nothing_is_saved() {
    let s = Server::start();
    // (kind, what the message names)
    let cases = [
        ("x-custom", "x-custom"),
        ("gzip-corrupt", "corrupt"),
        ("deflate-corrupt", "corrupt"),
    ];
    for (kind, named) in cases {
        let url = s.url(&format!("/enc/{kind}"));
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let log = dir.path().join("log");
        let r = run(
            &[
                "fetch",
                "--compressed",
                "--retries",
                "2",
                "-o",
                out.to_str().unwrap(),
                "--log",
                log.to_str().unwrap(),
            ],
            Some(&format!("{url}\n")),
        );
        assert_eq!(r.code(), 1, "{kind}: {r:?}");
        let rec = &log_records(&log, false)[0];
        assert_eq!(rec["ok"], false, "{kind}: {rec}");
        // The body will not decode on a second try: not retried.
        assert_eq!(rec["attempts"], 1, "{kind}: {rec}");
        let error = rec["error"].as_str().unwrap();
        assert!(
            error.contains(named) && error.contains("decode"),
            "{kind}: {error}"
        );
        let lines: Vec<&str> = r
            .stderr
            .lines()
            .filter(|l| !l.contains(" jobs, "))
            .collect();
        assert_eq!(lines.len(), 1, "{kind}: one line: {}", r.stderr);
        // Nothing under a real name, nothing kept as if complete, no temporary file left.
        let left: Vec<_> = std::fs::read_dir(&out).unwrap().collect();
        assert!(left.is_empty(), "{kind}: left {left:?}");
    }
    // curl fails a corrupt body too (error 61, "Error while processing content unencoding").
    // On x-custom it saves the bytes as sent; inflight fails the URL instead, which is what
    // --compressed promises (a decoded body, or none).
    for kind in ["gzip-corrupt", "deflate-corrupt"] {
        let url = s.url(&format!("/enc/{kind}"));
        if let Some(c) = curl(&["-sS", "-o", "/dev/null", "--compressed", &url], &[]) {
            assert_eq!(c.code, 61, "{kind}: curl {c:?}");
        }
    }
    // Without --compressed nothing is asked for and nothing decoded: saved as sent, as curl
    // saves it.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let url = s.url("/enc/x-custom");
    let r = run(
        &["fetch", "-o", out.to_str().unwrap()],
        Some(&format!("{url}\n")),
    );
    assert_eq!(r.code(), 0, "{r:?}");
    let saved = only_file(&out);
    assert!(saved == encoded_plain("x-custom"));
    if let Some(c) = curl(&["-sS", &url], &[]) {
        assert_eq!(c.code, 0, "curl {c:?}");
        assert!(c.stdout == saved, "curl and inflight differ");
    }
}
