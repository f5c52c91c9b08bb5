//! The one HTTP client of a `fetch` run, made from the options: redirects, headers, proxies,
//! CA certificates and compression. Every error is one line for a usage error (status 255).
//!
//! Redirects follow curl's rules: http and https targets are followed, https to http
//! included (curl -L does the same; its default redirect protocols are both), anything else
//! is refused (see `fetch`); Authorization, Cookie and Proxy-Authorization headers are not
//! sent on to another host or port (reqwest drops them, as curl does), so a token given with
//! -H reaches only the host it was meant for. An https page that redirects to http on the
//! default ports always changes port (443 to 80), so its credentials are dropped too. No
//! Referer is sent, as by curl.
use reqwest::{Certificate, Client};

use crate::crawl::CrawlArgs;
use crate::{headers, proxy};

/// Builds the client for `fetch`.
pub fn build(max_redirects: usize, args: &CrawlArgs) -> Result<Client, String> {
    let headers = headers::build(&args.header, &args.header_file, args.user_agent.as_deref())?;
    // The environment's proxies are read by `proxy`, with curl's rules, not by reqwest's own.
    let mut builder = Client::builder()
        .redirect(reqwest::redirect::Policy::limited(max_redirects))
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
