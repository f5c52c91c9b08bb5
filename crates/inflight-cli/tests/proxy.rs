//! `fetch` through an HTTP proxy that the test starts: `--proxy`, and the environment's
//! variables read as curl reads them (`NO_PROXY` included), and the messages that say which
//! side failed: a proxy that refuses, a server that is not TLS, a proxy variable that is not a
//! URL (side by side with curl). The https tunnel (CONNECT) is tested in tls.rs.
mod common;

use std::time::{Duration, Instant};

use common::curl::curl;
use common::proxy::Proxy;
use common::server::Server;
use common::tls::{Ca, TlsServer};
use common::*;

/// Runs `fetch ARGS` on `url` with the environment `env` (every other proxy variable unset).
fn fetch_with(args: &[&str], env: &[(&str, String)], url: &str) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let urls = dir.path().join("urls");
    std::fs::write(&urls, format!("{url}\n")).unwrap();
    let mut cmd = inflight();
    cmd.arg("fetch").args(args).arg(&urls);
    for (k, v) in env {
        cmd.env(k, v);
    }
    finish(
        cmd.spawn().unwrap(),
        Instant::now(),
        Duration::from_secs(30),
    )
}

#[test]
fn the_proxy_option_and_variables_as_curl_reads_them() {
    let s = Server::start();
    let p = Proxy::start();
    let (bare, url) = (p.addr.to_string(), p.url());
    let through = |path: &str| format!("GET {} HTTP/1.1", s.url(path));
    // (path, options, environment, whether it goes through the proxy)
    type Case<'a> = (&'a str, Vec<&'a str>, Vec<(&'a str, String)>, bool);
    let cases: Vec<Case> = vec![
        ("/option", vec!["--proxy", &bare], vec![], true),
        ("/lower", vec![], vec![("http_proxy", p.url())], true),
        // HTTP_PROXY in capitals is not read (httpoxy), as by curl.
        ("/upper", vec![], vec![("HTTP_PROXY", p.url())], false),
        ("/all", vec![], vec![("ALL_PROXY", p.url())], true),
        // An https proxy setting is not used for http.
        ("/https-only", vec![], vec![("https_proxy", p.url())], false),
        (
            "/no-proxy",
            vec![],
            vec![
                ("http_proxy", p.url()),
                ("NO_PROXY", "localhost,127.0.0.1".into()),
            ],
            false,
        ),
        (
            "/no-proxy-option",
            vec!["--proxy", &url],
            vec![("no_proxy", "127.0.0.0/8".into())],
            false,
        ),
        (
            "/no-proxy-star",
            vec![],
            vec![("http_proxy", p.url()), ("no_proxy", "*".into())],
            false,
        ),
        (
            "/other-no-proxy",
            vec![],
            vec![("http_proxy", p.url()), ("no_proxy", "example.com".into())],
            true,
        ),
    ];
    for (path, args, env, proxied) in cases {
        let r = fetch_with(&args, &env, &s.url(path));
        assert_eq!(r.code(), 0, "{path}: {r:?}");
        assert_eq!(
            p.lines().contains(&through(path)),
            proxied,
            "{path}: proxy saw {:?}",
            p.lines()
        );
        assert_eq!(
            s.state.heads_for(path).len(),
            1,
            "{path}: the server got it"
        );
    }
}

#[test]
fn proxy_credentials_are_sent_and_never_shown() {
    let s = Server::start();
    let p = Proxy::start();
    let url = format!("http://user:s3cret@{}", p.addr);
    let r = fetch_with(&["--proxy", &url], &[], &s.url("/auth"));
    assert_eq!(r.code(), 0, "{r:?}");
    let seen = p.seen.lock().unwrap().clone();
    assert_eq!(
        seen[0].1.as_deref(),
        Some("Basic dXNlcjpzM2NyZXQ="),
        "{seen:?}"
    );
    // A proxy that is down: the job fails, and the message holds no password.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let url = format!("http://user:s3cret@{closed}");
    let r = fetch_with(&["--proxy", &url], &[], &s.url("/down"));
    assert_eq!(r.code(), 1, "{r:?}");
    assert!(!r.stderr.contains("s3cret"), "{}", r.stderr);
    assert!(r.stderr.contains("connection failed"), "{}", r.stderr);
}

#[test]
fn unusable_proxies_are_usage_errors() {
    for (args, env) in [
        (
            vec!["--proxy", "socks5://user:s3cret@127.0.0.1:1080"],
            vec![],
        ),
        (vec!["--proxy", "ftp://127.0.0.1:21"], vec![]),
        (
            vec![],
            vec![(
                "all_proxy",
                "socks5h://user:s3cret@127.0.0.1:1080".to_string(),
            )],
        ),
    ] {
        let r = fetch_with(&args, &env, "http://127.0.0.1:9/");
        assert_usage_error(&r);
        assert!(!r.stderr.contains("s3cret"), "{}", r.stderr);
        assert!(r.stderr.contains("proxy"), "{}", r.stderr);
    }
}

/// A loopback port where nothing listens (bound, then let go).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
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
fn a_proxy_that_refuses_is_named_not_the_server() {
    let s = Server::start();
    let ca = Ca::new("inflight test CA");
    let tls = TlsServer::start(&ca, false, true);
    let dir = tempfile::tempdir().unwrap();
    let cacert = dir.path().join("ca.pem");
    std::fs::write(&cacert, &ca.pem).unwrap();
    let cacert = cacert.to_str().unwrap();
    let port = closed_port();
    let proxy = format!("127.0.0.1:{port}");
    let with_password = format!("http://user:s3cret@{proxy}");
    let named = format!("proxy {proxy} refused the connection");
    // (options, environment, URL)
    type Case<'a> = (Vec<&'a str>, Vec<(&'a str, String)>, String);
    let cases: Vec<Case> = vec![
        (vec!["--proxy", &with_password], vec![], s.url("/a")),
        (
            vec![],
            vec![("http_proxy", format!("http://{proxy}"))],
            s.url("/b"),
        ),
        (vec![], vec![("ALL_PROXY", proxy.clone())], s.url("/c")),
        // https: the tunnel's CONNECT is what the proxy refuses.
        (
            vec!["--cacert", cacert],
            vec![("https_proxy", with_password.clone())],
            tls.url("/d", false),
        ),
    ];
    for (args, env, url) in cases {
        let r = fetch_with(&args, &env, &url);
        assert_eq!(r.code(), 1, "{url}: {r:?}");
        let line = one_line(&r);
        assert!(line.contains(&named), "{url}: {line}");
        assert!(!line.contains("s3cret"), "{line}");
        // curl fails the same (7: could not connect).
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let mut curl_args = vec!["-sS", "-o", "/dev/null", "--cacert", cacert];
        if args.first() == Some(&"--proxy") {
            curl_args.extend(["--proxy", &with_password]);
        }
        curl_args.push(&url);
        if let Some(c) = curl(&curl_args, &env) {
            assert_eq!(c.code, 7, "{url}: curl {c:?}");
        }
    }
    // Without a proxy the server is named, and no proxy is mentioned.
    let url = format!("http://127.0.0.1:{port}/direct");
    let r = fetch_with(&[], &[], &url);
    assert_eq!(r.code(), 1, "{r:?}");
    let line = one_line(&r);
    assert!(
        line.contains(&format!("127.0.0.1:{port} refused the connection"))
            && !line.contains("proxy"),
        "{line}"
    );
}

#[test]
fn https_to_a_plain_http_port_says_the_server_does_not_speak_tls() {
    let s = Server::start();
    let url = s.url("/x").replace("http://", "https://");
    let r = fetch_with(&[], &[], &url);
    assert_eq!(r.code(), 1, "{r:?}");
    let line = one_line(&r);
    assert!(
        line.contains(&format!("{} did not answer in TLS", s.addr)) && line.contains("http://"),
        "{line}"
    );
    assert!(!line.contains("corrupt message"), "{line}");
    // curl: 35, "wrong version number".
    if let Some(c) = curl(&["-sS", "-o", "/dev/null", &url], &[]) {
        assert_eq!(c.code, 35, "curl {c:?}");
    }
}

#[test]
fn a_proxy_variable_that_is_not_a_url_is_named_with_its_value_masked() {
    let s = Server::start();
    // (variable, value, as shown, a URL that curl sends through that variable)
    let cases = [
        (
            "http_proxy",
            "http://user:s3cret@exa mple:80",
            "http_proxy=http://user:***@exa mple:80",
            s.url("/a"),
        ),
        (
            "HTTPS_PROXY",
            "http://user:s3cret@[::1",
            "HTTPS_PROXY=http://user:***@[::1",
            s.url("/b").replace("http://", "https://"),
        ),
        (
            "all_proxy",
            "user:s3cret@proxy.example:99999",
            "all_proxy=user:***@proxy.example:99999",
            s.url("/c"),
        ),
        ("http_proxy", "http://", "http_proxy=http://", s.url("/d")),
    ];
    for (var, value, shown, url) in cases {
        let r = fetch_with(&[], &[(var, value.to_string())], &s.url("/never"));
        assert_usage_error(&r);
        assert!(
            r.stderr.contains(shown) && r.stderr.contains("not a usable proxy URL"),
            "{var}: {}",
            r.stderr
        );
        assert!(!r.stderr.contains("s3cret"), "{}", r.stderr);
        assert!(!r.stderr.contains("builder error"), "{}", r.stderr);
        // curl refuses it too (5: "Unsupported proxy syntax"; it shows the password).
        if let Some(c) = curl(&["-sS", "-o", "/dev/null", &url], &[(var, value)]) {
            assert_eq!(c.code, 5, "{var}: curl {c:?}");
        }
    }
    let r = fetch_with(
        &["--proxy", "http://user:s3cret@exa mple:80"],
        &[],
        &s.url("/e"),
    );
    assert_usage_error(&r);
    assert!(
        r.stderr.contains("--proxy http://user:***@exa mple:80"),
        "{}",
        r.stderr
    );
    assert!(s.state.heads_for("/never").is_empty());
}
