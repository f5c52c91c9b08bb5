//! Prometheus metrics: `--metrics ADDR` on `exec` and `fetch` serves `/metrics` for the run
//! ([`run::RunMetrics`]), over the small server in [`http`] that `inflight dashboard` uses too.
//!
//! Why `prometheus-client`: it is the Prometheus project's own Rust client, typed (a counter
//! cannot go down, a histogram has its buckets), and writes OpenMetrics text that Prometheus
//! and the Python parser read as is; nothing of the text format is written by hand here.
//! (`metrics` with its exporter would bring its own HTTP server and a global recorder, where
//! one run's registry is all that is needed.)
pub mod http;
pub mod run;

use std::sync::Arc;

use hyper::StatusCode;

use run::RunMetrics;

/// Serves `metrics` at `http://ADDR/metrics` from now until the process ends; says where on
/// stderr. A one-line error if `addr` cannot be bound.
pub async fn serve(addr: &str, metrics: Arc<RunMetrics>) -> Result<(), String> {
    let (listener, local) = http::bind(addr, "--metrics").await?;
    crate::helpers::say::line(&format!("inflight: metrics on http://{local}/metrics"));
    http::serve(listener, move |req| {
        let metrics = metrics.clone();
        async move {
            if req.uri().path() == "/metrics" {
                http::whole(StatusCode::OK, http::OPENMETRICS, metrics.encode())
            } else {
                http::text(
                    StatusCode::NOT_FOUND,
                    "not found: the metrics are at /metrics\n",
                )
            }
        }
    });
    Ok(())
}
