//! The HTTP clients of a `fetch` run, made from the options: redirects, headers, proxies,
//! CA certificates and compression. Every error is one line for a usage error (status 255).
//!
//! Redirects follow curl's rules: http and https targets are followed, https to http
//! included (curl -L does the same; its default redirect protocols are both), anything else
//! is refused (see `fetch`). Authorization, Cookie and Proxy-Authorization headers are not
//! sent on to another host or port (reqwest drops them, as curl does), nor from https to
//! http (curl's rule since CVE-2022-27776): reqwest would keep them when only the scheme
//! changes, so the client stops at such a redirect and `fetch` follows it with the second
//! client, which has no credentials. No Referer is sent, as by curl.
use reqwest::header::{HeaderMap, AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION};
use reqwest::redirect::Policy;
use reqwest::{Certificate, Client};

use crate::fetch::crawl::CrawlArgs;
use crate::fetch::headers;
use crate::fetch::proxy;

/// The clients of a run: `full` sends the headers given; `plain` the same without
/// credentials, for what an https URL redirected to http.
pub struct Clients {
    pub full: Client,
    pub plain: Client,
}

/// Builds the clients for `fetch`.
pub fn build(max_redirects: usize, args: &CrawlArgs) -> Result<Clients, String> {
    let headers = headers::build(&args.header, &args.header_file, args.user_agent.as_deref())?;
    let mut plain_headers = headers.clone();
    for name in [AUTHORIZATION, COOKIE, PROXY_AUTHORIZATION] {
        plain_headers.remove(name);
    }
    Ok(Clients {
        full: build_one(max_redirects, args, headers)?,
        plain: build_one(max_redirects, args, plain_headers)?,
    })
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

fn build_one(max_redirects: usize, args: &CrawlArgs, headers: HeaderMap) -> Result<Client, String> {
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
        .zstd(args.compressed);
    for p in proxy::proxies(args.proxy.as_deref())? {
        builder = builder.proxy(p);
    }
    if let Some(path) = &args.cacert {
        let pem = std::fs::read(path)
            .map_err(|e| format!("cannot read --cacert {}: {e}", path.display()))?;
        let certs = Certificate::from_pem_bundle(&pem)
            .ok()
            .filter(|c| !c.is_empty())
            .ok_or_else(|| format!("--cacert {}: no PEM certificate in it", path.display()))?;
        builder = builder.tls_built_in_root_certs(false);
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder
        .build()
        .map_err(|e| format!("cannot set up the HTTP client: {e}"))
}
