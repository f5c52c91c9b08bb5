//! `inflight fetch`: one GET per URL through one shared client (keep-alive, HTTP/2 over TLS
//! via ALPN), with a per-attempt time limit, a size cap, retries and safe output files.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use reqwest::{StatusCode, Url};

use crate::exec::human;
use crate::log::Record;
use crate::names;
use crate::perhost::PerHost;
use crate::retry;
use crate::run::{Finished, Input, Shared};
use crate::save::PartFile;

/// What every fetch job shares.
pub struct Fetcher {
    pub client: reqwest::Client,
    pub max_size: Option<u64>,
    pub max_redirects: usize,
    pub out_dir: Option<PathBuf>,
    pub per_host: Option<PerHost>,
}

impl Fetcher {
    /// The one client of the run.
    pub fn client(max_redirects: usize) -> reqwest::Result<reqwest::Client> {
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::limited(max_redirects))
            .user_agent(concat!("inflight/", env!("CARGO_PKG_VERSION")))
            .tcp_nodelay(true)
            .build()
    }
}

/// A successful attempt.
struct Fetched {
    status: StatusCode,
    bytes: u64,
    path: Option<String>,
}

/// A failed attempt.
struct Failure {
    status: Option<StatusCode>,
    message: String,
    retryable: bool,
    retry_after: Option<Duration>,
    bytes: Option<u64>,
}

impl Failure {
    fn fatal(message: String) -> Failure {
        Failure {
            status: None,
            message,
            retryable: false,
            retry_after: None,
            bytes: None,
        }
    }
    fn transient(message: String) -> Failure {
        Failure {
            retryable: true,
            ..Failure::fatal(message)
        }
    }
}

/// Fetches one URL to completion, with retries; `None` if the run stopped before it started.
pub async fn job(input: Input, shared: Arc<Shared>, fetcher: Arc<Fetcher>) -> Option<Finished> {
    let url = parse_url(input.line.trim());
    let mut attempts = 0;
    let mut began = Instant::now();
    let outcome = loop {
        if let (Some(pacer), Ok(_)) = (&shared.pacer, &url) {
            pacer.wait().await;
        }
        if attempts == 0 {
            if !shared.begin() {
                return None;
            }
            began = Instant::now();
        }
        let url = match &url {
            Ok(url) => url,
            Err(message) => break Err(Failure::fatal(message.clone())),
        };
        attempts += 1;
        let permit = match &fetcher.per_host {
            Some(hosts) => Some(hosts.acquire(url).await),
            None => None,
        };
        let result = match shared.timeout {
            Some(limit) => tokio::time::timeout(limit, fetch_once(&fetcher, url, input.seq))
                .await
                .unwrap_or_else(|_| {
                    Err(Failure::transient(format!(
                        "timed out after {}",
                        human(limit)
                    )))
                }),
            None => fetch_once(&fetcher, url, input.seq).await,
        };
        drop(permit);
        match result {
            Err(failure)
                if failure.retryable
                    && attempts <= shared.retries
                    && !shared.stop.is_cancelled() =>
            {
                let pause = failure
                    .retry_after
                    .unwrap_or_else(|| retry::backoff(attempts));
                tokio::time::sleep(pause).await;
            }
            other => break other,
        }
    };
    let mut record = Record {
        input: input.line,
        seq: input.seq,
        attempts,
        ms: began.elapsed().as_millis() as u64,
        ..Record::default()
    };
    let mut stderr = Vec::new();
    match outcome {
        Ok(done) => {
            record.ok = true;
            record.status = Some(i64::from(done.status.as_u16()));
            record.bytes = Some(done.bytes);
            record.path = done.path;
        }
        Err(failure) => {
            record.status = failure.status.map(|s| i64::from(s.as_u16()));
            record.bytes = failure.bytes;
            let line = format!("inflight: {}: {}\n", record.input, failure.message);
            stderr.extend_from_slice(line.as_bytes());
            record.error = Some(failure.message);
        }
    }
    Some(Finished {
        record,
        stdout: Vec::new(),
        stderr,
    })
}

/// Only absolute http and https URLs are fetched.
fn parse_url(line: &str) -> Result<Url, String> {
    let url = Url::parse(line).map_err(|e| format!("malformed URL: {e}"))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(format!(
            "unsupported scheme '{other}' (only http and https)"
        )),
    }
}

/// One attempt: request, status check, body streamed to a counter or a file, size cap.
async fn fetch_once(fetcher: &Fetcher, url: &Url, seq: u64) -> Result<Fetched, Failure> {
    let mut response = fetcher
        .client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| transport_error(&e, fetcher.max_redirects))?;
    let status = response.status();
    if !status.is_success() {
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry::retry_after(v, SystemTime::now()));
        return Err(Failure {
            status: Some(status),
            message: format!("HTTP {status}"),
            retryable: status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error(),
            retry_after,
            bytes: None,
        });
    }
    let too_large = |max: u64| Failure {
        status: Some(status),
        message: format!("too large: body exceeds --max-size of {max} bytes (cut off)"),
        retryable: false,
        retry_after: None,
        bytes: None,
    };
    if let (Some(max), Some(len)) = (fetcher.max_size, response.content_length()) {
        if len > max {
            return Err(too_large(max));
        }
    }
    let mut sink = match &fetcher.out_dir {
        Some(dir) => Some(
            PartFile::create(dir, seq)
                .map_err(|e| Failure::fatal(format!("cannot write in {}: {e}", dir.display())))?,
        ),
        None => None,
    };
    let mut bytes = 0u64;
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                let mut failure = transport_error(&e, fetcher.max_redirects);
                failure.status = Some(status);
                failure.bytes = Some(bytes);
                return Err(failure);
            }
        };
        bytes += chunk.len() as u64;
        if fetcher.max_size.is_some_and(|max| bytes > max) {
            return Err(too_large(fetcher.max_size.unwrap_or_default()));
        }
        if let Some(file) = &mut sink {
            file.write(&chunk)
                .map_err(|e| Failure::fatal(format!("cannot write body: {e}")))?;
        }
    }
    let path = match sink {
        Some(file) => Some(
            file.keep(&names::for_url(url))
                .map_err(|e| Failure::fatal(format!("cannot save body: {e}")))?,
        ),
        None => None,
    };
    Ok(Fetched {
        status,
        bytes,
        path,
    })
}

/// A one-line message for a reqwest error, and whether a retry may help.
fn transport_error(e: &reqwest::Error, max_redirects: usize) -> Failure {
    let cause = root_cause(e);
    if e.is_redirect() {
        return Failure::fatal(format!(
            "too many redirects (more than {max_redirects}): {cause}"
        ));
    }
    if e.is_builder() {
        return Failure::fatal(format!("bad request: {cause}"));
    }
    if e.is_connect() {
        return Failure::transient(format!("connection failed: {cause}"));
    }
    if e.is_timeout() {
        return Failure::transient(format!("timed out: {cause}"));
    }
    if e.is_body() || e.is_decode() {
        return Failure::transient(format!("body failed: {cause}"));
    }
    Failure::transient(format!("request failed: {cause}"))
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
        assert!(parse_url("http://x/a").is_ok());
        assert!(parse_url("https://x/a").is_ok());
        assert_eq!(
            parse_url("ftp://x/a").unwrap_err(),
            "unsupported scheme 'ftp' (only http and https)"
        );
        assert!(parse_url("file:///etc/passwd")
            .unwrap_err()
            .starts_with("unsupported scheme"));
        assert!(parse_url("not a url")
            .unwrap_err()
            .starts_with("malformed URL"));
        assert!(parse_url("http://")
            .unwrap_err()
            .starts_with("malformed URL"));
    }
}
