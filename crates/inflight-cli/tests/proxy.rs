//! `fetch` through an HTTP proxy that the test starts: `--proxy`, and the environment's
//! variables read as curl reads them (`NO_PROXY` included). The https tunnel (CONNECT) is
//! tested in tls.rs.
mod common;

use std::time::{Duration, Instant};

use common::proxy::Proxy;
use common::server::Server;
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
