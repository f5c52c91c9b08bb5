//! `inflight fetch`: one GET per URL through one shared client (keep-alive, HTTP/2 over TLS
//! via ALPN), with a per-attempt time limit, a size cap, retries and safe output files.
use std::borrow::Cow;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures::future::BoxFuture;
use inflight::{Failure, Outcome};
use reqwest::{StatusCode, Url};

use crate::fetch::continuation::Continuation;
use crate::fetch::crawl::Print;
use crate::fetch::decode;
use crate::fetch::outdir::OutDir;
use crate::fetch::partial::Partials;
use crate::fetch::print;
use crate::fetch::proxy::Route;
use crate::fetch::tlserr;
use crate::helpers::errchain;
use crate::helpers::fdlimit;
use crate::helpers::mask;
use crate::helpers::shown;
use crate::run::job::{policy_failure, record_of, Finished, Input, Job};
use crate::run::retry::{self, Retryable};
use crate::run::spool::Spool;

/// What every fetch job shares; cheap to clone into each attempt (the client is shared).
#[derive(Clone)]
pub struct Fetcher {
    pub client: reqwest::Client,
    /// The same without credentials: for an https URL redirected to http.
    pub plain_client: reqwest::Client,
    pub max_size: Option<u64>,
    pub max_redirects: usize,
    /// `-o DIR`: where bodies go, and DIR as given (for `--print path`).
    pub out: Option<(Arc<OutDir>, Arc<Path>)>,
    /// Unfinished downloads kept for later attempts (with `-o`, without `--compressed`).
    pub partials: Option<Arc<Partials>>,
    pub print: Option<Print>,
    /// `--compressed`: what the client leaves encoded is decoded here, or fails the URL.
    pub compressed: bool,
    /// Which proxy a URL goes through, to name it when it fails.
    pub route: Route,
}

/// A successful attempt.
pub struct Fetched {
    status: StatusCode,
    bytes: u64,
    path: Option<String>,
    /// Bytes an earlier attempt had saved, which this one continued.
    resumed_from: Option<u64>,
}

/// A failed attempt (a timeout is the library's [`Failure::TimedOut`]).
pub struct FetchError {
    status: Option<StatusCode>,
    message: String,
    retryable: bool,
    retry_after: Option<Duration>,
    bytes: Option<u64>,
    /// The input is not a URL we fetch: no request was made.
    rejected: bool,
    /// A connection refused or reset: the server (or what is in front of it) has too much to
    /// do, as `-j auto` reads it. 429 and 503 say so through `status`.
    refused: bool,
}

impl FetchError {
    fn fatal(message: String) -> FetchError {
        FetchError {
            status: None,
            message,
            retryable: false,
            retry_after: None,
            bytes: None,
            rejected: false,
            refused: false,
        }
    }
    fn transient(message: String) -> FetchError {
        FetchError {
            retryable: true,
            ..FetchError::fatal(message)
        }
    }
}

impl Retryable for FetchError {
    fn retryable(&self) -> bool {
        self.retryable
    }
    fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
    fn overloaded(&self) -> bool {
        self.refused
            || matches!(
                self.status,
                Some(StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE)
            )
    }
}

impl Job for Fetcher {
    type Output = Fetched;
    type Error = FetchError;

    fn attempt(&self, input: &Input) -> BoxFuture<'static, Result<Fetched, FetchError>> {
        let parsed = match input.too_long() {
            Some(message) => Err(message),
            None => parse_url(input.line.trim_ascii()),
        };
        let url = match parsed {
            Ok(url) => url,
            Err(message) => {
                let rejected = FetchError {
                    rejected: true,
                    ..FetchError::fatal(message)
                };
                return Box::pin(std::future::ready(Err(rejected)));
            }
        };
        let fetcher = self.clone();
        let seq = input.seq;
        Box::pin(async move { fetch_once(&fetcher, &url, seq).await })
    }

    fn finish(&self, outcome: Outcome<Input, Fetched, FetchError>) -> Finished {
        let mut record = record_of(&outcome);
        let logged = self.logged(&outcome.input.line);
        if let Cow::Owned(masked) = &logged {
            record.set_input(masked);
        }
        let error = match outcome.result {
            Ok(done) => {
                record.ok = true;
                record.status = Some(i64::from(done.status.as_u16()));
                record.bytes = Some(done.bytes);
                record.path = done.path;
                record.resumed_from = done.resumed_from;
                None
            }
            Err(Failure::Error(failure)) => {
                record.status = failure.status.map(|s| i64::from(s.as_u16()));
                record.bytes = failure.bytes;
                if failure.rejected {
                    record.attempts = 0;
                }
                Some(failure.message)
            }
            Err(failure) => policy_failure(&failure),
        };
        let mut stderr = Spool::default();
        if let Some(message) = error {
            let message = shown::cut(message);
            let shown_input = shown::input(&logged, outcome.input.cut);
            let _ = stderr.push(format!("inflight: {shown_input}: {message}\n").as_bytes());
            record.error = Some(message);
        }
        // After the error is in the record: `--print json` prints the whole record.
        let mut stdout = Spool::default();
        if let Some(what) = self.print {
            let dir = self.out.as_ref().map(|(_, dir)| &**dir);
            if let Some(line) = print::line(what, &record, dir) {
                let _ = stdout.push(&line);
            }
        }
        Finished {
            record,
            stdout,
            stderr,
            code: None,
        }
    }

    /// `host:port` of the URL (`--per-host`); a line that is not a URL has its own empty key.
    fn key(&self, input: &Input) -> String {
        let line = std::str::from_utf8(input.line.trim_ascii()).unwrap_or("");
        match Url::parse(line) {
            Ok(url) => format!(
                "{}:{}",
                url.host_str().unwrap_or(""),
                url.port_or_known_default().unwrap_or(0)
            ),
            Err(_) => String::new(),
        }
    }

    /// The log holds URLs with their passwords masked (so `--resume` compares masked URLs).
    fn logged<'a>(&self, line: &'a [u8]) -> Cow<'a, [u8]> {
        mask::password(line)
    }
}

/// Only absolute http and https URLs are fetched.
fn parse_url(line: &[u8]) -> Result<Url, String> {
    let line = std::str::from_utf8(line).map_err(|_| "malformed URL: not UTF-8".to_string())?;
    let url = Url::parse(line).map_err(|e| format!("malformed URL: {e}"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(format!(
            "unsupported scheme '{other}' (only http and https)"
        )),
    }
}

/// One attempt: request, status check, body streamed to a counter or a file, size cap.
async fn fetch_once(fetcher: &Fetcher, url: &Url, seq: u64) -> Result<Fetched, FetchError> {
    // Rounds in a row of waiting for descriptors with no other request to free one.
    let mut alone = 0;
    // An unfinished download of this URL that this attempt may continue (see `partial`).
    let mut continuation = Continuation::start(fetcher.partials.as_ref(), url);
    let mut asked_again = false;
    let mut client = &fetcher.client;
    let mut target = url.clone();
    let mut downgrades = 0;
    let mut response = loop {
        let request = continuation.request(client.get(target.clone()));
        match request.send().await {
            Ok(r) if continuation.ask_again(r.status()) => {}
            Ok(r) => match downgraded(&r) {
                // https to http: followed as curl does, without the credentials.
                Some(next) if downgrades < fetcher.max_redirects => {
                    downgrades += 1;
                    client = &fetcher.plain_client;
                    target = next;
                }
                _ => break r,
            },
            // Out of descriptors: other requests will free some; try again later.
            Err(e) if fdlimit::exhausted_in(&e) => fdlimit::wait(&mut alone).await,
            // A kept-alive connection that the server closed as the request went out (its
            // idle timeout or request cap): nothing was answered, so the GET is sent once
            // more, on a new connection, as curl does ("Connection died, retrying a fresh
            // connect"), without counting an attempt.
            Err(e) if !asked_again && closed_before_answer(&e) => asked_again = true,
            Err(e) => return Err(transport_error(&e, fetcher, &target)),
        }
    };
    let status = response.status();
    if status.is_redirection() {
        if let Some(refused) = refused_redirect(&response) {
            return Err(FetchError {
                status: Some(status),
                ..FetchError::fatal(format!("{refused} (HTTP {status})"))
            });
        }
    }
    if !status.is_success() {
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry::retry_after(v, SystemTime::now()));
        return Err(FetchError {
            status: Some(status),
            message: format!("HTTP {status}"),
            retryable: status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error(),
            retry_after,
            bytes: None,
            rejected: false,
            refused: false,
        });
    }
    // An encoding that cannot be decoded fails before any file or directory is made.
    let mut decoder =
        decode::decoder(fetcher.compressed, response.headers()).map_err(|message| FetchError {
            status: Some(status),
            ..FetchError::fatal(message)
        })?;
    let too_large = |max: u64| FetchError {
        status: Some(status),
        message: format!("too large: body exceeds --max-size of {max} bytes (cut off)"),
        retryable: false,
        retry_after: None,
        bytes: None,
        rejected: false,
        refused: false,
    };
    let offset = continuation
        .settle(&response)
        .map_err(|message| FetchError {
            status: Some(status),
            ..FetchError::transient(message)
        })?;
    if let (Some(max), Some(len)) = (fetcher.max_size, response.content_length()) {
        if offset + len > max {
            return Err(too_large(max));
        }
    }
    let target = match &fetcher.out {
        Some((out, _)) => loop {
            match out.target(url, seq) {
                Ok(target) => break Some(target),
                // Out of descriptors for its directory: others will free some.
                Err(e) if fdlimit::exhausted(&e) => fdlimit::wait(&mut alone).await,
                Err(e) => {
                    return Err(FetchError::fatal(format!(
                        "cannot make the file's directory: {e}"
                    )))
                }
            }
        },
        None => None,
    };
    let mut sink = match &target {
        Some(t) => Some(
            continuation
                .body(t.dir.clone(), url, &response)
                .map_err(|e| FetchError::fatal(format!("cannot continue the body: {e}")))?,
        ),
        None => None,
    };
    let mut bytes = offset;
    let mut ended = false;
    while !ended {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            // One more pass with nothing: what the decoder still holds comes out.
            Ok(None) => {
                ended = true;
                Default::default()
            }
            Err(e) => {
                let mut failure = body_error(&e, fetcher, url);
                failure.status = Some(status);
                failure.bytes = Some(bytes);
                return Err(failure);
            }
        };
        let mut rest: &[u8] = &chunk;
        loop {
            let piece = match &mut decoder {
                None if rest.is_empty() => break,
                None => std::mem::take(&mut rest),
                Some(decoder) => match decoder.next(&mut rest, ended) {
                    Ok(Some(piece)) => piece,
                    Ok(None) => break,
                    Err(message) => {
                        return Err(FetchError {
                            status: Some(status),
                            bytes: Some(bytes),
                            ..FetchError::fatal(message)
                        })
                    }
                },
            };
            bytes += piece.len() as u64;
            if fetcher.max_size.is_some_and(|max| bytes > max) {
                return Err(too_large(fetcher.max_size.unwrap_or_default()));
            }
            if let Some(body) = &mut sink {
                // Out of descriptors for the file: others will free some; offer it again.
                while let Err(e) = body.push(piece) {
                    if !fdlimit::exhausted(&e) {
                        return Err(FetchError::fatal(format!("cannot write body: {e}")));
                    }
                    fdlimit::wait(&mut alone).await;
                }
            }
        }
    }
    let path = match (sink, target) {
        (Some(mut body), Some(target)) => {
            while let Err(e) = body.ready() {
                if !fdlimit::exhausted(&e) {
                    return Err(FetchError::fatal(format!("cannot write body: {e}")));
                }
                fdlimit::wait(&mut alone).await;
            }
            let name = body.keep(&target.name).map_err(|e| FetchError {
                status: Some(status),
                bytes: Some(bytes),
                ..FetchError::fatal(format!("cannot save body: {e}"))
            })?;
            Some(target.prefix + &name)
        }
        _ => None,
    };
    Ok(Fetched {
        status,
        bytes,
        path,
        resumed_from: (offset > 0).then_some(offset),
    })
}

/// The http URL that an https response redirects to, if it is one.
fn downgraded(response: &reqwest::Response) -> Option<Url> {
    if !response.status().is_redirection() || response.url().scheme() != "https" {
        return None;
    }
    let location = response.headers().get(reqwest::header::LOCATION)?;
    let target = response.url().join(location.to_str().ok()?).ok()?;
    (target.scheme() == "http").then_some(target)
}

/// Why a redirect was not followed, when its target is not http or https (the client hands
/// such a response back as it is, which alone would say only "HTTP 302 Found").
fn refused_redirect(response: &reqwest::Response) -> Option<String> {
    let location = response.headers().get(reqwest::header::LOCATION)?;
    let Some(target) = location
        .to_str()
        .ok()
        .and_then(|l| response.url().join(l).ok())
    else {
        return Some("redirect to an invalid URL refused".into());
    };
    if matches!(target.scheme(), "http" | "https") {
        return None;
    }
    let shown = String::from_utf8_lossy(&mask::password(target.as_str().as_bytes())).into_owned();
    Some(shown::cut(format!(
        "redirect to {shown} refused: only http and https redirects are followed"
    )))
}

/// A failure while the body came: a body that cannot be decoded (`--compressed`, decoded by
/// the client: gzip, br, zstd) will not decode on a retry either, and is said to be corrupt;
/// anything else is the connection's.
fn body_error(e: &reqwest::Error, fetcher: &Fetcher, url: &Url) -> FetchError {
    let from_the_connection = errchain::find::<hyper::Error>(e).is_some();
    let undecodable = io_kind(e).is_some_and(|kind| {
        matches!(
            kind,
            std::io::ErrorKind::InvalidData
                | std::io::ErrorKind::InvalidInput
                | std::io::ErrorKind::UnexpectedEof
        )
    });
    if fetcher.compressed && !from_the_connection && undecodable {
        return FetchError::fatal(format!(
            "cannot decode the body: it is corrupt ({}); nothing saved",
            root_cause(e)
        ));
    }
    transport_error(e, fetcher, url)
}

/// `host:port` of a URL, for messages.
fn host_port(url: &Url) -> String {
    format!(
        "{}:{}",
        url.host_str().unwrap_or(""),
        url.port_or_known_default().unwrap_or(0)
    )
}

/// A one-line message for a reqwest error, and whether a retry may help. `url` is where the
/// request went (the error's own URL, after redirects, if it has one).
fn transport_error(e: &reqwest::Error, fetcher: &Fetcher, url: &Url) -> FetchError {
    let max_redirects = fetcher.max_redirects;
    let url = e.url().unwrap_or(url);
    let cause = root_cause(e);
    if e.is_redirect() {
        // reqwest's own text only repeats "too many redirects"; where it led says more.
        let last = e.url().map_or_else(String::new, |url| {
            let shown = mask::password(url.as_str().as_bytes());
            format!(", the last to {}", String::from_utf8_lossy(&shown))
        });
        return FetchError::fatal(shown::cut(format!(
            "too many redirects (more than {max_redirects}){last}"
        )));
    }
    if e.is_builder() {
        return FetchError::fatal(format!("bad request: {cause}"));
    }
    if let Some(problem) = tlserr::certificate_problem(e) {
        // The server's certificate will not change on a retry.
        return FetchError::fatal(format!("connection failed: {problem}"));
    }
    if tlserr::not_tls(e) {
        // A plain HTTP server will not learn TLS before a retry.
        return FetchError::fatal(format!(
            "connection failed: {} did not answer in TLS: it looks like a plain HTTP server \
             (try http:// instead of https://)",
            host_port(url)
        ));
    }
    let kind = io_kind(e);
    let refused = kind.is_some_and(|kind| {
        matches!(
            kind,
            std::io::ErrorKind::ConnectionRefused
                | std::io::ErrorKind::ConnectionReset
                | std::io::ErrorKind::ConnectionAborted
        )
    });
    if e.is_connect() {
        // Through a proxy, the connection that failed may be the proxy's: say which.
        let proxy = fetcher.route.proxy_for(url);
        let what = match (proxy, kind == Some(std::io::ErrorKind::ConnectionRefused)) {
            (Some(proxy), true) => format!("proxy {proxy} refused the connection"),
            (None, true) => format!("{} refused the connection", host_port(url)),
            (Some(proxy), false) => format!("{cause} (through proxy {proxy})"),
            (None, false) => cause,
        };
        return FetchError {
            refused,
            ..FetchError::transient(format!("connection failed: {what}"))
        };
    }
    if refused {
        return FetchError {
            refused,
            ..FetchError::transient(format!("connection reset: {cause}"))
        };
    }
    if e.is_timeout() {
        return FetchError::transient(format!("timed out: {cause}"));
    }
    if e.is_body() || e.is_decode() {
        return FetchError::transient(format!("body failed: {cause}"));
    }
    FetchError::transient(format!("request failed: {cause}"))
}

/// Whether the connection closed before any of the response came (hyper's "incomplete
/// message"): the mark of a kept-alive connection that the server had just closed.
fn closed_before_answer(e: &(dyn std::error::Error + 'static)) -> bool {
    errchain::find::<hyper::Error>(e).is_some_and(hyper::Error::is_incomplete_message)
}

/// The kind of the first I/O error in the chain of `e`, if any.
fn io_kind(e: &(dyn std::error::Error + 'static)) -> Option<std::io::ErrorKind> {
    errchain::find::<std::io::Error>(e).map(std::io::Error::kind)
}

/// The innermost error's message: reqwest's own is just "error sending request for url".
fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut current = e;
    while let Some(next) = current.source() {
        current = next;
    }
    current.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_checks() {
        assert!(parse_url(b"http://x/a").is_ok());
        assert!(parse_url(b"https://x/a").is_ok());
        assert_eq!(
            parse_url(b"ftp://x/a").unwrap_err(),
            "unsupported scheme 'ftp' (only http and https)"
        );
        assert!(parse_url(b"file:///etc/passwd")
            .unwrap_err()
            .starts_with("unsupported scheme"));
        assert!(parse_url(b"not a url")
            .unwrap_err()
            .starts_with("malformed URL"));
        assert!(parse_url(b"http://")
            .unwrap_err()
            .starts_with("malformed URL"));
        assert_eq!(
            parse_url(b"http://x/\xff").unwrap_err(),
            "malformed URL: not UTF-8"
        );
    }
}
