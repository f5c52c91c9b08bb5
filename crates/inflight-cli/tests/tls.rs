//! `fetch` over HTTPS against a server the test starts, with a certificate the test makes:
//! HTTP/2 and HTTP/1.1 by ALPN, `--cacert` (a CA, or the server's own certificate, side by
//! side with curl), certificates that must be refused and the words that say why, an https
//! page that redirects to http, and a tunnel through a proxy.
mod common;

use common::curl::curl;
use common::proxy::Proxy;
use common::server::{header, Server};
use common::tls::{Ca, SelfSigned, TlsServer};
use common::*;

/// Writes the CA's PEM into `dir` and returns its path.
fn ca_file(dir: &tempfile::TempDir, ca: &Ca, name: &str) -> String {
    let path = dir.path().join(name);
    std::fs::write(&path, &ca.pem).unwrap();
    path.to_str().unwrap().to_string()
}

#[test]
fn https_over_http2_and_http1_with_cacert() {
    let ca = Ca::new("inflight test CA");
    let h2 = TlsServer::start(&ca, true, true);
    let h1 = TlsServer::start(&ca, true, false);
    let dir = tempfile::tempdir().unwrap();
    let cacert = ca_file(&dir, &ca, "ca.pem");
    let out = dir.path().join("out");
    let input = format!(
        "{}\n{}\n{}\n",
        h2.url("/two", false),
        h1.url("/one", false),
        h2.url("/by-ip", true)
    );
    let r = run(
        &["fetch", "--cacert", &cacert, "-o", out.to_str().unwrap()],
        Some(&input),
    );
    assert_eq!(r.code(), 0, "{r:?}");
    let read = |name: &str| std::fs::read_to_string(out.join(name)).unwrap();
    assert_eq!(read("two"), "HTTP/2.0 /two");
    assert_eq!(read("one"), "HTTP/1.1 /one");
    assert_eq!(read("by-ip"), "HTTP/2.0 /by-ip");
}

#[test]
fn a_wrong_certificate_fails_with_one_line_naming_the_problem() {
    let ca = Ca::new("inflight test CA");
    let other = Ca::new("someone else's CA");
    let server = TlsServer::start(&ca, false, true);
    let dir = tempfile::tempdir().unwrap();
    let right = ca_file(&dir, &ca, "ca.pem");
    let wrong = ca_file(&dir, &other, "other.pem");
    let log = dir.path().join("log");
    let cases = [
        // Not signed by a CA we trust: the built-in roots, or another CA.
        (vec!["fetch"], server.url("/a", false), "not trusted"),
        (
            vec!["fetch", "--cacert", &wrong],
            server.url("/b", false),
            "not trusted",
        ),
        // Signed by the right CA, but for another name.
        (
            vec!["fetch", "--cacert", &right],
            server.url("/c", true),
            "not valid for 127.0.0.1 (it is for localhost)",
        ),
    ];
    for (args, url, problem) in cases {
        let mut args = args.clone();
        args.extend(["--log", log.to_str().unwrap()]);
        let r = run(&args, Some(&format!("{url}\n")));
        assert_eq!(r.code(), 1, "{r:?}");
        let lines: Vec<&str> = r
            .stderr
            .lines()
            .filter(|l| !l.contains(" jobs, "))
            .collect();
        assert_eq!(lines.len(), 1, "one line: {}", r.stderr);
        assert!(
            lines[0].contains("certificate") && lines[0].contains(problem),
            "{url}: {}",
            lines[0]
        );
    }
    for rec in log_records(&log, false) {
        assert_eq!(rec["ok"], false);
        assert!(
            rec["error"].as_str().unwrap().contains("certificate"),
            "{rec}"
        );
    }
    // A --cacert that is not a certificate is a usage error.
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    for file in [junk.to_str().unwrap(), "/no/such/ca.pem"] {
        let r = run(&["fetch", "--cacert", file], Some(""));
        assert_usage_error(&r);
        assert!(r.stderr.contains("--cacert"), "{}", r.stderr);
    }
}

#[test]
fn an_https_to_http_redirect_is_followed_without_the_credentials() {
    let ca = Ca::new("inflight test CA");
    let tls = TlsServer::start(&ca, false, true);
    let plain = Server::start();
    let dir = tempfile::tempdir().unwrap();
    let cacert = ca_file(&dir, &ca, "ca.pem");
    let target = plain.url("/landed").replace(':', "%3A").replace('/', "%2F");
    let url = tls.url(&format!("/redirect-to/{target}"), false);
    let r = run(
        &[
            "fetch",
            "--cacert",
            &cacert,
            "-H",
            "Authorization: Bearer s3cret",
            "-H",
            "Cookie: session=s3cret",
            "-H",
            "X-Other: kept",
            "--print",
            "json",
        ],
        Some(&format!("{url}\n")),
    );
    assert_eq!(r.code(), 0, "{r:?}");
    assert!(
        r.stdout
            .contains(&format!("\"bytes\":{}", "body of /landed".len())),
        "{}",
        r.stdout
    );
    let head = &plain.state.heads_for("/landed")[0];
    assert_eq!(header(head, "authorization"), None, "{head}");
    assert_eq!(header(head, "cookie"), None, "{head}");
    assert_eq!(header(head, "x-other").as_deref(), Some("kept"), "{head}");
}

#[test]
fn an_https_to_http_redirect_on_the_same_port_drops_the_credentials_too() {
    // reqwest keeps credentials when only the scheme changes; curl (CVE-2022-27776) does not.
    let ca = Ca::new("inflight test CA");
    let tls = TlsServer::start(&ca, true, false);
    let dir = tempfile::tempdir().unwrap();
    let cacert = ca_file(&dir, &ca, "ca.pem");
    let plain = format!("http://127.0.0.1:{}/landed", tls.addr.port());
    let target = plain.replace(':', "%3A").replace('/', "%2F");
    let url = tls
        .url(&format!("/redirect-to/{target}"), true)
        .replace("https://", "https://alice:pw-s3cret@");
    let r = run(
        &[
            "fetch",
            "--cacert",
            &cacert,
            "-H",
            "Authorization: Bearer s3cret",
            "-H",
            "Cookie: session=s3cret",
            "-H",
            "X-Other: kept",
        ],
        Some(&format!("{url}\n")),
    );
    assert_eq!(r.code(), 0, "{r:?}");
    let heads = tls.plain_heads.lock().unwrap().clone();
    assert_eq!(heads.len(), 1, "{heads:?}");
    assert!(!heads[0].contains("s3cret"), "sent in clear: {}", heads[0]);
    assert!(!heads[0].contains("authorization"), "{}", heads[0]);
    assert!(heads[0].contains("x-other: kept"), "{}", heads[0]);
    // The URL's own password is not sent on either.
    let r = run(&["fetch", "--cacert", &cacert], Some(&format!("{url}\n")));
    assert_eq!(r.code(), 0, "{r:?}");
    let heads = tls.plain_heads.lock().unwrap().clone();
    assert!(!heads[1].contains("authorization"), "{}", heads[1]);
}

#[test]
fn https_goes_through_a_proxy_tunnel() {
    let ca = Ca::new("inflight test CA");
    let tls = TlsServer::start(&ca, false, true);
    let proxy = Proxy::start();
    let dir = tempfile::tempdir().unwrap();
    let cacert = ca_file(&dir, &ca, "ca.pem");
    let out = dir.path().join("out");
    let urls = dir.path().join("urls");
    std::fs::write(&urls, format!("{}\n", tls.url("/tunnelled", false))).unwrap();
    let child = inflight()
        .args(["fetch", "--cacert", &cacert, "-o", out.to_str().unwrap()])
        .arg(&urls)
        .env("HTTPS_PROXY", proxy.url())
        .spawn()
        .unwrap();
    let r = finish(
        child,
        std::time::Instant::now(),
        std::time::Duration::from_secs(30),
    );
    assert_eq!(r.code(), 0, "{r:?}");
    assert_eq!(
        proxy.lines(),
        [format!("CONNECT localhost:{} HTTP/1.1", tls.addr.port())]
    );
    assert_eq!(
        std::fs::read_to_string(out.join("tunnelled")).unwrap(),
        "HTTP/2.0 /tunnelled"
    );
}

/// The one line (besides the summary) that a failed run printed.
fn one_line(r: &Run) -> String {
    let lines: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| !l.contains(" jobs, "))
        .collect();
    assert_eq!(lines.len(), 1, "one line: {}", r.stderr);
    lines[0].to_string()
}

#[test]
fn a_self_signed_certificate_given_with_cacert_is_trusted_as_curl_trusts_it() {
    // What `openssl req -x509` makes (CA:TRUE), CA:FALSE, and no basicConstraints at all.
    for kind in [SelfSigned::Ca, SelfSigned::NotCa, SelfSigned::Unmarked] {
        let (server, pem) = TlsServer::start_self_signed(kind);
        let dir = tempfile::tempdir().unwrap();
        let cacert = dir.path().join("server.pem");
        std::fs::write(&cacert, pem).unwrap();
        let cacert = cacert.to_str().unwrap();
        let out = dir.path().join("out");
        let url = server.url("/pinned", false);
        let r = run(
            &["fetch", "--cacert", cacert, "-o", out.to_str().unwrap()],
            Some(&format!("{url}\n")),
        );
        assert_eq!(r.code(), 0, "{kind:?}: {r:?}");
        let saved = std::fs::read(out.join("pinned")).unwrap();
        assert_eq!(saved, b"HTTP/1.1 /pinned", "{kind:?}");
        if let Some(c) = curl(&["-sS", "--cacert", cacert, &url], &[]) {
            assert_eq!(c.code, 0, "{kind:?}: curl {c:?}");
            assert_eq!(c.stdout, saved, "{kind:?}");
        }
        // Trusting the certificate does not trust it for another name: it is for localhost,
        // not 127.0.0.1 (curl: 60 as well).
        let other_name = server.url("/by-ip", true);
        let r = run(
            &["fetch", "--cacert", cacert],
            Some(&format!("{other_name}\n")),
        );
        assert_eq!(r.code(), 1, "{kind:?}: {r:?}");
        let line = one_line(&r);
        assert!(
            line.contains("not valid for 127.0.0.1 (it is for localhost)"),
            "{kind:?}: {line}"
        );
        if let Some(c) = curl(&["-sS", "--cacert", cacert, &other_name], &[]) {
            assert_eq!(c.code, 60, "{kind:?}: curl {c:?}");
        }
    }
}

#[test]
fn a_pinned_certificate_must_still_be_current_and_may_be_issued_by_a_ca_not_given() {
    let dir = tempfile::tempdir().unwrap();
    // Expired: refused though it is the very certificate given (webpki checks the dates
    // before it stops at CA:TRUE); curl refuses it too.
    let (expired, pem) = TlsServer::start_self_signed(SelfSigned::ExpiredCa);
    let file = dir.path().join("expired.pem");
    std::fs::write(&file, pem).unwrap();
    let file = file.to_str().unwrap();
    let url = expired.url("/old", false);
    let r = run(&["fetch", "--cacert", file], Some(&format!("{url}\n")));
    assert_eq!(r.code(), 1, "{r:?}");
    assert!(
        one_line(&r).contains("TLS certificate expired"),
        "{}",
        r.stderr
    );
    if let Some(c) = curl(&["-sS", "-o", "/dev/null", "--cacert", file, &url], &[]) {
        assert_eq!(c.code, 60, "curl {c:?}");
    }
    // A CA-issued certificate given alone, without its CA: trusted, as curl (OpenSSL's
    // partial chains) trusts it.
    let ca = Ca::new("inflight test CA");
    let server = TlsServer::start(&ca, true, true);
    let file = dir.path().join("leaf.pem");
    std::fs::write(&file, &server.pem).unwrap();
    let file = file.to_str().unwrap();
    let url = server.url("/leaf", true);
    let r = run(
        &["fetch", "--cacert", file, "--print", "json"],
        Some(&format!("{url}\n")),
    );
    assert_eq!(r.code(), 0, "{r:?}");
    assert!(r.stdout.contains("\"ok\":true"), "{}", r.stdout);
    if let Some(c) = curl(&["-sS", "--cacert", file, &url], &[]) {
        assert_eq!(c.code, 0, "curl {c:?}");
        assert_eq!(c.stdout, b"HTTP/2.0 /leaf");
    }
}

#[test]
fn a_wrong_ca_and_a_ca_certificate_used_as_the_servers_own_are_told_apart() {
    let ca = Ca::new("inflight test CA");
    let other = Ca::new("someone else's CA");
    let (self_ca, self_ca_pem) = TlsServer::start_self_signed(SelfSigned::Ca);
    let (self_ee, self_ee_pem) = TlsServer::start_self_signed(SelfSigned::NotCa);
    let signed = TlsServer::start(&ca, false, true);
    let ca_as_server = TlsServer::start_ca_signed_ca(&ca);
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, pem: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, pem).unwrap();
        path.to_str().unwrap().to_string()
    };
    let (ca_file, other_file) = (file("ca.pem", &ca.pem), file("other.pem", &other.pem));
    let (self_ca_file, self_ee_file) =
        (file("sca.pem", &self_ca_pem), file("see.pem", &self_ee_pem));
    // (server, --cacert, words that must be there, words that must not)
    let cases: Vec<(String, Option<&str>, &str, &[&str])> = vec![
        // A self-signed CA:TRUE certificate that is not the one given: the CA is wrong, that
        // is all; nothing about CA:TRUE.
        (
            self_ca.url("/a", false),
            Some(&other_file),
            "not trusted (it is self-signed",
            &["CA:TRUE", "Other("],
        ),
        (
            self_ca.url("/b", false),
            None,
            "not trusted (it is self-signed",
            &["CA:TRUE"],
        ),
        // Two self-signed certificates for the same name: not "badly signed".
        (
            self_ee.url("/c", false),
            Some(&self_ca_file),
            "not trusted (it is self-signed",
            &["badly signed", "CA:TRUE"],
        ),
        (
            self_ca.url("/d", false),
            Some(&self_ee_file),
            "not trusted (it is self-signed",
            &["badly signed", "CA:TRUE"],
        ),
        // Signed by a CA that is not the one given.
        (
            signed.url("/e", false),
            Some(&other_file),
            "not trusted (issued by a certificate authority that is not in --cacert",
            &["CA:TRUE", "self-signed"],
        ),
        // Signed by the CA given, but itself a CA: only here the explanation.
        (
            ca_as_server.url("/f", true),
            Some(&ca_file),
            "it is a CA certificate (CA:TRUE) used as the server's own",
            &["not trusted", "self-signed"],
        ),
    ];
    for (url, cacert, wanted, unwanted) in cases {
        let mut args = vec!["fetch"];
        if let Some(file) = cacert {
            args.extend(["--cacert", file]);
        }
        let r = run(&args, Some(&format!("{url}\n")));
        assert_eq!(r.code(), 1, "{url}: {r:?}");
        let line = one_line(&r);
        assert!(
            line.contains("TLS certificate") && line.contains(wanted),
            "{url}: {line}"
        );
        for word in unwanted {
            assert!(!line.contains(word), "{url}: {line}");
        }
        // curl refuses the same, except the CA certificate signed by the CA given, which
        // OpenSSL accepts as a server's certificate and rustls does not (USAGE.md says so).
        let mut curl_args = vec!["-sS", "-o", "/dev/null"];
        if let Some(file) = cacert {
            curl_args.extend(["--cacert", file]);
        }
        curl_args.push(&url);
        if let Some(c) = curl(&curl_args, &[]) {
            let expected = if url.ends_with("/f") { 0 } else { 60 };
            assert_eq!(c.code, expected, "{url}: curl {c:?}");
        }
    }
}
