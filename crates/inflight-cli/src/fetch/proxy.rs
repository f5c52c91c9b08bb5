//! Proxies, chosen as curl chooses them. `--proxy URL` sends every request through URL.
//! Without it, the environment decides, per URL scheme: `https_proxy` (or `HTTPS_PROXY`) for
//! https, `http_proxy` for http (never `HTTP_PROXY`: a CGI program gets that from a request's
//! `Proxy:` header, so curl ignores it, "httpoxy"), and `all_proxy` (or `ALL_PROXY`) for both when
//! the scheme's own is unset. Either way `no_proxy` (or `NO_PROXY`) lists the hosts reached
//! directly: `*`, or names and domains (`example.com` matches its subdomains too) and IP
//! addresses or CIDR ranges, separated by commas. Lowercase names win over uppercase, as in
//! curl. A proxy URL without a scheme is http.
use reqwest::{NoProxy, Proxy};

/// The proxies of the run, for `reqwest::ClientBuilder::proxy` (an empty list: direct).
pub fn proxies(given: Option<&str>) -> Result<Vec<Proxy>, String> {
    proxies_from(given, |name| std::env::var(name).ok())
}

/// [`proxies`] with the environment as a function, for the tests.
fn proxies_from(
    given: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<Proxy>, String> {
    let first = |names: &[&str]| {
        names
            .iter()
            .find_map(|name| env(name).filter(|v| !v.trim().is_empty()))
    };
    let listed = first(&["no_proxy", "NO_PROXY"]);
    // `*` alone: every host directly. reqwest's own `*` skips IP addresses, curl's does not.
    if listed.as_deref().map(str::trim) == Some("*") {
        return match given {
            Some(url) => with_scheme(url, "--proxy").map(|_| Vec::new()),
            None => Ok(Vec::new()),
        };
    }
    let no_proxy = listed.and_then(|list| NoProxy::from_string(&list));
    let make = |source: &str, url: &str, kind: fn(String) -> reqwest::Result<Proxy>| {
        let url = with_scheme(url, source)?;
        kind(url.clone())
            .map(|p| p.no_proxy(no_proxy.clone()))
            .map_err(|e| format!("{source}: not a usable proxy URL: {e}"))
    };
    if let Some(url) = given {
        return Ok(vec![make("--proxy", url, Proxy::all)?]);
    }
    let mut list = Vec::new();
    if let Some(url) = first(&["https_proxy", "HTTPS_PROXY"]) {
        list.push(make("https_proxy", &url, Proxy::https)?);
    }
    if let Some(url) = first(&["http_proxy"]) {
        list.push(make("http_proxy", &url, Proxy::http)?);
    }
    // Later entries are asked only for the schemes the earlier ones do not take.
    if let Some(url) = first(&["all_proxy", "ALL_PROXY"]) {
        list.push(make("all_proxy", &url, Proxy::all)?);
    }
    Ok(list)
}

/// `host:port` → `http://host:port`; socks proxies are refused with a clear message (this
/// build does not speak SOCKS). The message never shows the URL, which may hold a password.
fn with_scheme(url: &str, source: &str) -> Result<String, String> {
    let url = url.trim();
    match url.split_once("://") {
        None => Ok(format!("http://{url}")),
        Some((scheme, _)) => match scheme.to_ascii_lowercase().as_str() {
            "http" | "https" => Ok(url.to_string()),
            s if s.starts_with("socks") => Err(format!(
                "{source}: SOCKS proxies are not supported (use an http:// or https:// proxy)"
            )),
            s => Err(format!(
                "{source}: unsupported proxy scheme '{s}' (use http:// or https://)"
            )),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with_env(pairs: &[(&str, &str)], given: Option<&str>) -> Result<usize, String> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        proxies_from(given, |name| env.get(name).cloned()).map(|l| l.len())
    }

    #[test]
    fn curl_rules() {
        assert_eq!(with_env(&[], None), Ok(0));
        // HTTP_PROXY in capitals is ignored (httpoxy); the others are read in either case.
        assert_eq!(with_env(&[("HTTP_PROXY", "http://p:1")], None), Ok(0));
        assert_eq!(with_env(&[("http_proxy", "p:1")], None), Ok(1));
        assert_eq!(
            with_env(&[("HTTPS_PROXY", "http://p:1"), ("ALL_PROXY", "p:2")], None),
            Ok(2)
        );
        assert_eq!(with_env(&[("https_proxy", "")], None), Ok(0));
        assert_eq!(with_env(&[("http_proxy", "p:1")], Some("q:2")), Ok(1));
        let e = with_env(&[("all_proxy", "socks5://u:secret@p:1")], None).unwrap_err();
        assert!(e.contains("SOCKS") && !e.contains("secret"), "{e}");
        assert!(with_env(&[], Some("ftp://p")).is_err());
        // `*` sends every host, IP addresses included, directly.
        assert_eq!(
            with_env(&[("http_proxy", "p:1"), ("no_proxy", " * ")], None),
            Ok(0)
        );
        assert_eq!(with_env(&[("NO_PROXY", "*")], Some("p:1")), Ok(0));
    }
}
