//! The small HTTP/1.1 server behind `--metrics` and `inflight dashboard`: hyper's own
//! connection driver on a tokio listener, a handler per request, GET and HEAD only.
//!
//! Why hyper and not axum: hyper is in the tree already (under reqwest), and four fixed paths
//! need no router, extractor or tower stack; axum would add those crates for a `match`.
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{combinators::UnsyncBoxBody, BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// A response body: whole, or a stream (the dashboard's events).
pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Binds `addr` (`HOST:PORT`; port 0 picks a free one); a one-line error if it cannot.
pub async fn bind(addr: &str, what: &str) -> Result<(TcpListener, SocketAddr), String> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr} for {what}: {e}"))?;
    let local = listener
        .local_addr()
        .map_err(|e| format!("cannot listen on {addr} for {what}: {e}"))?;
    Ok((listener, local))
}

/// Serves every connection of `listener` with `handler`, on tasks of the current runtime,
/// until the runtime ends. Only GET and HEAD reach the handler (nothing served changes
/// anything); other methods get 405.
pub fn serve<H, F>(listener: TcpListener, handler: H)
where
    H: Fn(Request<Incoming>) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<Body>> + Send + 'static,
{
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                // Out of descriptors, most likely: wait a little rather than spin.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                    let handler = handler.clone();
                    async move {
                        Ok::<_, Infallible>(
                            if matches!(*req.method(), Method::GET | Method::HEAD) {
                                handler(req).await
                            } else {
                                text(StatusCode::METHOD_NOT_ALLOWED, "read-only: GET only\n")
                            },
                        )
                    }
                });
                // A client that goes away mid-response is its own business.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
}

/// A whole response of `content_type`, never cached.
pub fn whole(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut response = Response::new(Full::new(body.into()).boxed_unsync());
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    response
}

/// A plain-text response.
pub fn text(status: StatusCode, body: &'static str) -> Response<Body> {
    whole(status, "text/plain; charset=utf-8", body)
}

/// The content type of the OpenMetrics text that `prometheus-client` writes (Prometheus
/// asks for it, and reads it, since 2.5).
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
