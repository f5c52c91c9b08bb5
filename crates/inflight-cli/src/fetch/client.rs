//! The HTTP clients of a `fetch` run, made from the options: redirects, headers, proxies,
//! CA certificates (the TLS setup is `verify`'s) and compression (gzip, br and zstd decoded
//! by reqwest, deflate by `decode`). Every error is one line for a usage error (status 255).
//!
//! Redirects follow curl's rules: http and https targets are followed, https to http
//! included (curl -L does the same; its default redirect protocols are both), anything else
//! is refused (see `fetch`). Authorization, Cookie and Proxy-Authorization headers are not
//! sent on to another host or port (reqwest drops them, as curl does), nor from https to
//! http (curl's rule since CVE-2022-27776): reqwest would keep them when only the scheme
//! changes, so the client stops at such a redirect and `fetch` follows it with the second
//! client, which has no credentials. No Referer is sent, as by curl.
use reqwest::header::{
    HeaderMap, HeaderValue, ACCEPT_ENCODING, AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION,
};
use reqwest::redirect::Policy;
use reqwest::Client;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;

use crate::fetch::crawl::CrawlArgs;
use crate::fetch::headers;
use crate::fetch::proxy::{self, Route};
use crate::fetch::verify;

/// The clients of a run: `full` sends the headers given; `plain` the same without
/// credentials, for what an https URL redirected to http.
pub struct Clients {
    pub full: Client,
    pub plain: Client,
    /// Which proxy a URL goes through (to name it when it fails).
    pub route: Route,
}

/// What both clients are made of besides their headers.
struct Parts {
    tls: rustls::ClientConfig,
    proxies: Vec<reqwest::Proxy>,
}

/// Builds the clients for `fetch`.
pub fn build(max_redirects: usize, args: &CrawlArgs) -> Result<Clients, String> {
    let mut headers = headers::build(&args.header, &args.header_file, args.user_agent.as_deref())?;
    if args.compressed && !headers.contains_key(ACCEPT_ENCODING) {
        // What reqwest would ask for, and deflate, which `decode` decodes (curl asks for the
        // same four).
        headers.insert(
            ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate, br, zstd"),
        );
    }
    let mut plain_headers = headers.clone();
    for name in [AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION] {
        plain_headers.remove(name);
    }
    let proxies = proxy::proxies(args.proxy.as_deref())?;
    let cacert = match &args.cacert {
        Some(path) => Some(read_cacert(path)?),
        None => None,
    };
    let parts = Parts {
        tls: verify::config(cacert)?,
        proxies: proxies.list,
    };
    Ok(Clients {
        full: build_one(max_redirects, args, headers, &parts)?,
        plain: build_one(max_redirects, args, plain_headers, &parts)?,
        route: proxies.route,
    })
}

/// The certificates of `--cacert FILE` (PEM).
fn read_cacert(path: &std::path::Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let pem =
        std::fs::read(path).map_err(|e| format!("cannot read --cacert {}: {e}", path.display()))?;
    CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .ok()
        .filter(|certs| !certs.is_empty())
        .ok_or_else(|| format!("--cacert {}: no PEM certificate in it", path.display()))
}

/// How long an idle kept-alive connection stays open. When descriptors are few (a low
/// `ulimit -n`), idle connections may hold the ones a saved body needs, and a job waiting for
/// one would wait for the pool's 90 s: they are closed after a second instead.
fn idle_timeout() -> std::time::Duration {
    let limit = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
        .map_or(u64::MAX, |(soft, _)| soft);
    if limit < 4096 {
        std::time::Duration::from_secs(1)
    } else {
        std::time::Duration::from_secs(90)
    }
}

/// Follows http(s) redirects up to `max`; stops (hands the 3xx back) at one from https to
/// http or to another scheme, which `fetch` follows without credentials or refuses.
fn redirect_policy(max: usize) -> Policy {
    Policy::custom(move |attempt| {
        let from_https = attempt
            .previous()
            .last()
            .is_some_and(|url| url.scheme() == "https");
        match attempt.url().scheme() {
            _ if attempt.previous().len() > max => attempt.error("too many redirects"),
            "http" if from_https => attempt.stop(),
            "http" | "https" => attempt.follow(),
            _ => attempt.stop(),
        }
    })
}

fn build_one(
    max_redirects: usize,
    args: &CrawlArgs,
    headers: HeaderMap,
    parts: &Parts,
) -> Result<Client, String> {
    // The environment's proxies are read by `proxy`, with curl's rules, not by reqwest's own.
    let mut builder = Client::builder()
        .redirect(redirect_policy(max_redirects))
        .pool_idle_timeout(idle_timeout())
        // No Referer on redirects, as curl (it would carry the first URL, query and all, to
        // the next host).
        .referer(false)
        .default_headers(headers)
        .tcp_nodelay(true)
        .no_proxy()
        .gzip(args.compressed)
        .brotli(args.compressed)
        .zstd(args.compressed)
        // The roots (built-in or --cacert), ALPN, and the certificate check of `verify`.
        .use_preconfigured_tls(parts.tls.clone());
    for p in &parts.proxies {
        builder = builder.proxy(p.clone());
    }
    builder
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {e}"))
}
