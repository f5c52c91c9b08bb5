//! How one attempt of `fetch -o` continues an unfinished download (see `partial`): what it
//! asks for, what it makes of the answer, and the body it writes to.
use std::sync::Arc;

use reqwest::header::{CONTENT_RANGE, IF_RANGE, RANGE};
use reqwest::{RequestBuilder, Response, StatusCode, Url};

use crate::fetch::body::Body;
use crate::fetch::partial::{self, Found, Partials};
use crate::fetch::save::Dir;
use crate::helpers::mask;

/// One attempt's view of the URL's partial file.
pub struct Continuation {
    partials: Option<Arc<Partials>>,
    /// The URL's key, when it was needed to look for a partial.
    key: Option<String>,
    found: Option<Found>,
}

impl Continuation {
    /// Looks for a partial file of `url` that this attempt may continue. (A run of small
    /// files with nothing to continue computes no key.)
    pub fn start(partials: Option<&Arc<Partials>>, url: &Url) -> Continuation {
        let key = partials
            .filter(|p| p.may_find())
            .map(|_| Partials::key(url.as_str()));
        let found = match (partials, &key) {
            (Some(partials), Some(key)) => partials.find(key),
            _ => None,
        };
        Continuation {
            partials: partials.cloned(),
            key,
            found,
        }
    }

    /// The request, asking for the rest if there is a partial: `If-Range` gets the rest only
    /// if the file is still the one its bytes came from, else all of it.
    pub fn request(&self, request: RequestBuilder) -> RequestBuilder {
        match &self.found {
            Some(f) => request
                .header(RANGE, format!("bytes={}-", f.len))
                .header(IF_RANGE, f.validator.as_str()),
            None => request,
        }
    }

    /// A 416 to a range request: the partial is no shorter than the file, so it is no use.
    /// Drops it and says whether to ask again, for all of the body.
    pub fn ask_again(&mut self, status: StatusCode) -> bool {
        if status == StatusCode::RANGE_NOT_SATISFIABLE && self.found.is_some() {
            self.discard();
            return true;
        }
        false
    }

    /// After a success: a 206 that runs from where the partial ends to the end of the file,
    /// of the same version, continues it; any other answer starts over (the server ignores
    /// ranges, or the validator no longer matches). Returns the bytes already had, or an
    /// error line (the partial dropped, so a retry asks for all of it) for a 206 that was not
    /// asked for, stops short of the end, or comes from another version of the file (a server
    /// that ignored If-Range).
    pub fn settle(&mut self, response: &Response) -> Result<u64, String> {
        let status = response.status();
        let Some(found) = &self.found else {
            if status == StatusCode::PARTIAL_CONTENT {
                return Err("the server sent part of the body, which was not asked for".into());
            }
            return Ok(0);
        };
        if status != StatusCode::PARTIAL_CONTENT {
            self.discard();
            return Ok(0);
        }
        let problem = match content_range(response) {
            None => Some("a part of the body without a valid Content-Range".to_string()),
            Some((start, _, _)) if start != found.len => Some(format!(
                "a part of the body from byte {start}, not from {}",
                found.len
            )),
            Some((_, end, total)) if total != Some(end + 1) => Some(format!(
                "a part of the body that ends at byte {end}, not at the end ({})",
                total.map_or("unknown".to_string(), |t| t.to_string())
            )),
            _ => match partial::validator(response.headers()) {
                Some(now) if now != found.validator => Some(format!(
                    "a part of another version of the file ({now}, not {})",
                    found.validator
                )),
                _ => None,
            },
        };
        match problem {
            None => Ok(found.len),
            Some(problem) => {
                self.discard();
                Err(format!(
                    "the server sent {problem}; the download starts over on a retry"
                ))
            }
        }
    }

    /// The body to write to in `dir`: the partial being continued, or a new one that may be
    /// kept once large (when the response has a validator and may pass the size for it).
    pub fn body(self, dir: Dir, url: &Url, response: &Response) -> std::io::Result<Body> {
        if let (Some(found), Some(partials)) = (self.found, &self.partials) {
            return Body::continued(dir, found, partials.clone());
        }
        let mut body = Body::new(dir);
        let may_grow = response
            .content_length()
            .is_none_or(|len| len >= partial::KEEP_AFTER);
        let validator = self
            .partials
            .as_ref()
            .filter(|_| may_grow)
            .and_then(|_| partial::validator(response.headers()));
        if let (Some(partials), Some(validator)) = (self.partials, validator) {
            let key = self.key.unwrap_or_else(|| Partials::key(url.as_str()));
            let masked = mask::password(url.as_str().as_bytes());
            let shown = String::from_utf8_lossy(&masked).into_owned();
            body.keepable(partials, key, validator, shown);
        }
        Ok(body)
    }

    /// Removes the partial file: it turned out to be of no use.
    fn discard(&mut self) {
        if let (Some(partials), Some(found)) = (&self.partials, self.found.take()) {
            partials.remove(&found.key);
        }
    }
}

/// `Content-Range: bytes START-END/TOTAL` of a 206 (`TOTAL` may be `*`, unknown).
fn content_range(response: &Response) -> Option<(u64, u64, Option<u64>)> {
    let range = response.headers().get(CONTENT_RANGE)?.to_str().ok()?;
    let (span, total) = range.trim().strip_prefix("bytes ")?.split_once('/')?;
    let (start, end) = span.split_once('-')?;
    let (start, end): (u64, u64) = (start.trim().parse().ok()?, end.trim().parse().ok()?);
    let total = match total.trim() {
        "*" => None,
        total => Some(total.parse().ok()?),
    };
    (start <= end).then_some((start, end, total))
}
