//! Proxies, chosen as curl chooses them. `--proxy URL` sends every request through URL.
//! Without it, the environment decides, per URL scheme: `https_proxy` (or `HTTPS_PROXY`) for
//! https, `http_proxy` for http (never `HTTP_PROXY`: a CGI program gets that from a request's
//! `Proxy:` header, so curl ignores it, "httpoxy"), and `all_proxy` (or `ALL_PROXY`) for both when
//! the scheme's own is unset. Either way `no_proxy` (or `NO_PROXY`) lists the hosts reached
//! directly: `*`, or names and domains (`example.com` matches its subdomains too) and IP
//! addresses or CIDR ranges, separated by commas. Lowercase names win over uppercase, as in
//! curl. A proxy URL without a scheme is http.
//!
//! A value that is not a URL is a usage error that names where it came from and shows it with
//! its password masked (`http_proxy=http://user:***@exa mple:80 is not a usable proxy URL
//! (invalid international domain name)`). Besides the client's proxies, a [`Route`] is made from the
//! same values, with the matcher that the client itself uses (hyper-util's), so that a message
//! can name the proxy that a failed request went through.
use std::sync::Arc;

use hyper_util::client::proxy::matcher::Matcher;
use reqwest::{NoProxy, Proxy, Url};

use crate::helpers::{mask, shown};

/// The proxies of a run.
pub struct Proxies {
    /// For `reqwest::ClientBuilder::proxy` (empty: every request direct).
    pub list: Vec<Proxy>,
    /// Which of them a URL goes through, for messages.
    pub route: Route,
}

/// Which proxy a URL goes through: the client's own rules on the same values.
#[derive(Clone, Default)]
pub struct Route {
    /// `None`: every request goes direct.
    matcher: Option<Arc<Matcher>>,
    /// `host:port` of the proxy for http URLs, and for https URLs.
    http: Option<String>,
    https: Option<String>,
}

impl Route {
    /// `host:port` of the proxy that `url` goes through, if any.
    pub fn proxy_for(&self, url: &Url) -> Option<&str> {
        let matcher = self.matcher.as_ref()?;
        let port = url.port_or_known_default()?;
        let uri = format!("{}://{}:{port}/", url.scheme(), url.host_str()?);
        matcher.intercept(&uri.parse().ok()?)?;
        match url.scheme() {
            "https" => self.https.as_deref(),
            _ => self.http.as_deref(),
        }
    }
}

/// The proxies of the run, from `--proxy` or the environment.
pub fn proxies(given: Option<&str>) -> Result<Proxies, String> {
    proxies_from(given, |name| std::env::var(name).ok())
}

/// [`proxies`] with the environment as a function, for the tests.
fn proxies_from(
    given: Option<&str>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Proxies, String> {
    // The first of `names` that is set and not blank, with its name.
    let first = |names: &[&'static str]| {
        names.iter().find_map(|&name| {
            env(name)
                .filter(|v| !v.trim().is_empty())
                .map(|v| (name, v))
        })
    };
    let listed = first(&["no_proxy", "NO_PROXY"]).map(|(_, list)| list);
    let given = given.map(|url| parse(&Source::Option, url)).transpose()?;
    // With --proxy the environment's proxies are not read, as curl's -x.
    let env_read = given.is_none();
    let from_env = |names: &[&'static str]| -> Result<Option<Url>, String> {
        match (env_read, first(names)) {
            (false, _) | (true, None) => Ok(None),
            (true, Some((name, value))) => parse(&Source::Variable(name), &value).map(Some),
        }
    };
    let https = from_env(&["https_proxy", "HTTPS_PROXY"])?;
    let http = from_env(&["http_proxy"])?;
    let all = given.or(from_env(&["all_proxy", "ALL_PROXY"])?);
    // `*` alone: every host directly. reqwest's own `*` skips IP addresses, curl's does not.
    if listed.as_deref().map(str::trim) == Some("*") {
        return Ok(Proxies {
            list: Vec::new(),
            route: Route::default(),
        });
    }
    let no_proxy = listed.as_deref().and_then(NoProxy::from_string);
    let made = |url: &Url, kind: fn(Url) -> reqwest::Result<Proxy>| {
        kind(url.clone())
            .map(|p| p.no_proxy(no_proxy.clone()))
            .map_err(|_| format!("{} is not a usable proxy URL", shown_url(url.as_str())))
    };
    // Later entries are asked only for the schemes the earlier ones do not take.
    let mut list = Vec::new();
    if let Some(url) = &https {
        list.push(made(url, Proxy::https)?);
    }
    if let Some(url) = &http {
        list.push(made(url, Proxy::http)?);
    }
    if let Some(url) = &all {
        list.push(made(url, Proxy::all)?);
    }
    // The same values in the matcher that reqwest hands its proxies to.
    let http = http.or_else(|| all.clone());
    let https = https.or(all);
    let text = |url: &Option<Url>| url.as_ref().map_or_else(String::new, Url::to_string);
    let host_port = |url: &Option<Url>| {
        let url = url.as_ref()?;
        Some(format!(
            "{}:{}",
            url.host_str()?,
            url.port_or_known_default()?
        ))
    };
    let route = Route {
        matcher: (http.is_some() || https.is_some()).then(|| {
            Arc::new(
                Matcher::builder()
                    .http(text(&http))
                    .https(text(&https))
                    .no(listed.unwrap_or_default())
                    .build(),
            )
        }),
        http: host_port(&http),
        https: host_port(&https),
    };
    Ok(Proxies { list, route })
}

/// Where a proxy URL came from.
enum Source {
    Option,
    Variable(&'static str),
}

impl Source {
    fn name(&self) -> &'static str {
        match self {
            Source::Option => "--proxy",
            Source::Variable(name) => name,
        }
    }

    /// `--proxy VALUE` or `NAME=VALUE`, the password masked.
    fn show(&self, value: &str) -> String {
        match self {
            Source::Option => format!("--proxy {}", shown_url(value)),
            Source::Variable(name) => format!("{name}={}", shown_url(value)),
        }
    }
}

/// A proxy URL as a message shows it: its password masked, control characters escaped, cut
/// if long.
fn shown_url(value: &str) -> String {
    let masked = mask::password(value.as_bytes());
    let mut text = String::new();
    for c in String::from_utf8_lossy(&masked).chars() {
        if c.is_control() {
            text.extend(c.escape_default());
        } else {
            text.push(c);
        }
    }
    shown::cut(text)
}

/// A proxy URL: `host:port` → `http://host:port`; SOCKS and other schemes are refused with a
/// clear message (this build does not speak SOCKS); a value that is not a URL is named, with
/// the parser's reason.
fn parse(source: &Source, value: &str) -> Result<Url, String> {
    let value = value.trim();
    let name = source.name();
    let url = match value.split_once("://") {
        None => format!("http://{value}"),
        Some((scheme, _)) => match scheme.to_ascii_lowercase().as_str() {
            "http" | "https" => value.to_string(),
            s if s.starts_with("socks") => {
                return Err(format!(
                    "{name}: SOCKS proxies are not supported (use an http:// or https:// proxy)"
                ))
            }
            s => {
                return Err(format!(
                    "{name}: unsupported proxy scheme '{}' (use http:// or https://)",
                    shown_url(s)
                ))
            }
        },
    };
    let unusable = |why: &str| format!("{} is not a usable proxy URL ({why})", source.show(value));
    let url = Url::parse(&url).map_err(|e| unusable(&e.to_string()))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(unusable("no host"));
    }
    // The client's proxy matcher reads it as an `http::Uri`, and drops one it cannot read
    // without a word: its requests would go direct.
    if url.as_str().parse::<http::Uri>().is_err() {
        return Err(unusable("not a valid URI"));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn with_env(pairs: &[(&str, &str)], given: Option<&str>) -> Result<Proxies, String> {
        let env: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        proxies_from(given, |name| env.get(name).cloned())
    }

    fn count(pairs: &[(&str, &str)], given: Option<&str>) -> Result<usize, String> {
        with_env(pairs, given).map(|p| p.list.len())
    }

    #[test]
    fn curl_rules() {
        assert_eq!(count(&[], None), Ok(0));
        // HTTP_PROXY in capitals is ignored (httpoxy); the others are read in either case.
        assert_eq!(count(&[("HTTP_PROXY", "http://p:1")], None), Ok(0));
        assert_eq!(count(&[("http_proxy", "p:1")], None), Ok(1));
        assert_eq!(
            count(&[("HTTPS_PROXY", "http://p:1"), ("ALL_PROXY", "p:2")], None),
            Ok(2)
        );
        assert_eq!(count(&[("https_proxy", "")], None), Ok(0));
        assert_eq!(count(&[("http_proxy", "p:1")], Some("q:2")), Ok(1));
        let e = count(&[("all_proxy", "socks5://u:secret@p:1")], None).unwrap_err();
        assert!(e.contains("SOCKS") && !e.contains("secret"), "{e}");
        assert!(count(&[], Some("ftp://p")).is_err());
        // `*` sends every host, IP addresses included, directly.
        assert_eq!(
            count(&[("http_proxy", "p:1"), ("no_proxy", " * ")], None),
            Ok(0)
        );
        assert_eq!(count(&[("NO_PROXY", "*")], Some("p:1")), Ok(0));
    }

    #[test]
    fn the_route_names_the_proxy_a_url_takes() {
        let url = |s: &str| Url::parse(s).unwrap();
        let p = with_env(
            &[
                ("https_proxy", "http://u:pw@secure:3128"),
                ("ALL_PROXY", "all:8080"),
                ("no_proxy", "direct.example,10.0.0.0/8"),
            ],
            None,
        )
        .unwrap();
        let route = &p.route;
        assert_eq!(
            route.proxy_for(&url("https://a.example/x")),
            Some("secure:3128")
        );
        assert_eq!(
            route.proxy_for(&url("http://a.example/x")),
            Some("all:8080")
        );
        assert_eq!(route.proxy_for(&url("http://www.direct.example/")), None);
        assert_eq!(route.proxy_for(&url("http://10.1.2.3:99/")), None);
        let given = with_env(&[("http_proxy", "other:1")], Some("http://given")).unwrap();
        assert_eq!(given.route.proxy_for(&url("http://h/")), Some("given:80"));
        assert_eq!(given.route.proxy_for(&url("https://h/")), Some("given:80"));
        let none = with_env(&[], None).unwrap();
        assert_eq!(none.route.proxy_for(&url("http://h/")), None);
    }

    #[test]
    fn a_value_that_is_not_a_url_is_named_and_masked() {
        for (var, value, reason) in [
            ("http_proxy", "http://u:s3cret@exa mple:80", "invalid"),
            ("HTTPS_PROXY", "u:s3cret@h:99999", "invalid port number"),
            ("all_proxy", "http://", "empty host"),
            ("http_proxy", "http://u:s3cret@[::1", "invalid IPv6 address"),
        ] {
            let e = with_env(&[(var, value)], None).err().unwrap();
            assert!(e.starts_with(&format!("{var}=")), "{e}");
            assert!(
                e.contains("not a usable proxy URL") && e.contains(reason),
                "{e}"
            );
            assert!(!e.contains("s3cret"), "{e}");
        }
        let e = with_env(&[], Some("http://u:s3cret@h:99999"))
            .err()
            .unwrap();
        assert!(e.starts_with("--proxy http://u:***@h:99999 "), "{e}");
        let e = with_env(&[("http_proxy", "http://h\u{1}x y:1")], None)
            .err()
            .unwrap();
        assert!(!e.contains('\u{1}') && e.contains("\\u{1}"), "{e}");
    }
}
