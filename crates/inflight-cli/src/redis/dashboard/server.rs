//! The dashboard's routes: the page, its JSON, its events and `/metrics`. Nothing here reads
//! Redis: each answer is the reader's latest reading, so a viewer costs a copy of bytes.
//!
//! - `/`: the page (one document: its CSS and script inline, no other request but to this
//!   server, which its Content-Security-Policy enforces in the browser too);
//! - `/api/status`: the latest reading as JSON; `/api/history`: the chart's points;
//! - `/api/events`: server-sent events, one reading per interval;
//! - `/metrics`: Prometheus series of the latest reading.
//!
//! On a loopback address, a request whose `Host` is not a loopback name is refused, so that a
//! web page elsewhere cannot read the dashboard through DNS rebinding.
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{HeaderValue, CONTENT_SECURITY_POLICY, HOST};
use hyper::{Request, Response, StatusCode};
use prometheus_client::registry::Registry;
use tokio::sync::watch;

use super::reader::{History, Reading};
use crate::metrics::http::{self, Body};

/// The page, built into the binary.
const PAGE: &str = include_str!("page.html");

/// The browser may load nothing from anywhere but this server, and post nothing anywhere.
const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
    connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// What every request is answered from.
pub struct State {
    pub readings: watch::Receiver<Arc<Reading>>,
    pub history: Arc<History>,
    pub registry: Registry,
    pub local: SocketAddr,
}

/// Answers one request.
pub async fn handle(state: Arc<State>, req: Request<Incoming>) -> Response<Body> {
    if state.local.ip().is_loopback() && !loopback_host(&req) {
        return http::text(
            StatusCode::FORBIDDEN,
            "forbidden: this dashboard answers only to a loopback host name\n",
        );
    }
    match req.uri().path() {
        "/" | "/index.html" => {
            let mut page = http::whole(StatusCode::OK, "text/html; charset=utf-8", PAGE);
            page.headers_mut()
                .insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
            page
        }
        "/api/status" => {
            let json = state.readings.borrow().json.clone();
            http::whole(StatusCode::OK, "application/json", json)
        }
        "/api/history" => http::whole(StatusCode::OK, "application/json", state.history.json()),
        "/api/events" => events(state.readings.clone()),
        "/metrics" => {
            let mut text = String::new();
            // Writing to a String cannot fail.
            let _ = prometheus_client::encoding::text::encode(&mut text, &state.registry);
            http::whole(StatusCode::OK, http::OPENMETRICS, text)
        }
        _ => http::text(StatusCode::NOT_FOUND, "not found\n"),
    }
}

/// Server-sent events: the latest reading at once, then each new one as the reader makes it.
fn events(mut readings: watch::Receiver<Arc<Reading>>) -> Response<Body> {
    readings.mark_changed();
    let stream = futures::stream::unfold(readings, |mut rx| async move {
        rx.changed().await.ok()?;
        let json = rx.borrow_and_update().json.clone();
        let mut event = Vec::with_capacity(json.len() + 8);
        event.extend_from_slice(b"data: ");
        event.extend_from_slice(&json);
        event.extend_from_slice(b"\n\n");
        Some((Ok::<_, Infallible>(Frame::data(Bytes::from(event))), rx))
    });
    let mut response = Response::new(BodyExt::boxed_unsync(StreamBody::new(stream.boxed())));
    let headers = response.headers_mut();
    headers.insert(
        hyper::header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(
        hyper::header::CACHE_CONTROL,
        HeaderValue::from_static("no-store"),
    );
    response
}

/// Whether the request's Host names this machine's loopback (`localhost`, `127.x`, `[::1]`).
fn loopback_host(req: &Request<Incoming>) -> bool {
    let Some(host) = req.headers().get(HOST).and_then(|h| h.to_str().ok()) else {
        return true; // HTTP/1.0 without Host: not a browser
    };
    let name = match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    };
    let name = name.trim_start_matches('[').trim_end_matches(']');
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
