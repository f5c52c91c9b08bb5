//! `inflight dashboard`: a live, read-only web page of the queues and shared limits on one
//! Redis, with their JSON and Prometheus series.
//!
//! One reader (`reader`) reads Redis once per interval for every viewer, through the
//! library's [`inflight_redis::Queue::overview`] and [`inflight_redis::Redis::shared_limits`]
//! (never through the CLI's text); `snapshot` turns a reading into the JSON the page and
//! `/api/status` share, masked; `series` into Prometheus series; `server` answers requests
//! from the latest reading over the small server of [`crate::metrics::http`].
mod reader;
mod series;
mod server;
mod snapshot;

use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::helpers::{parse, say};
use crate::metrics::http;
use crate::redis::options::{self, Connection};
use crate::run::tally::EXIT_USAGE;

/// `inflight dashboard`.
#[derive(Args, Debug)]
pub struct DashboardArgs {
    /// The queues to show [default: every queue on the Redis, looked for again every 5 s].
    #[arg(value_name = "QUEUE", value_parser = options::name)]
    pub queues: Vec<String>,

    /// Where to serve the page (HOST:PORT). Loopback by default: the page shows inputs (with
    /// URL passwords masked) to whoever can reach it, so serve it wider only behind your own
    /// access control. Port 0 picks a free port (said on stderr).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5555")]
    pub listen: String,

    /// How often Redis is read: once per interval, however many pages are open.
    #[arg(long, value_name = "DURATION", value_parser = interval, default_value = "1s")]
    pub interval: Duration,

    /// A worker with inputs in hand and no heartbeat for this long is shown as stale (a
    /// live worker's heartbeat comes at least every third of its lease).
    #[arg(long, value_name = "DURATION", value_parser = parse::duration, default_value = "60s")]
    pub stale: Duration,

    #[command(flatten)]
    pub connection: Connection,
}

fn interval(s: &str) -> Result<Duration, String> {
    let d = parse::duration(s)?;
    if d < Duration::from_millis(100) {
        return Err("the interval must be at least 100ms".into());
    }
    Ok(d)
}

/// Runs the dashboard until killed; returns the exit status of a failure to start.
pub async fn main(args: DashboardArgs) -> i32 {
    // The address first: a typo in it is said at once, not after Redis answered.
    let (listener, local) = match http::bind(&args.listen, "the dashboard").await {
        Ok(bound) => bound,
        Err(e) => {
            say::line(&format!("inflight: {e}"));
            return EXIT_USAGE;
        }
    };
    let redis = crate::redis::queue_cmd::connect(&args.connection).await;
    if !local.ip().is_loopback() {
        say::line(&format!(
            "inflight: the dashboard listens on {local}, beyond this machine: anyone who can \
             reach it sees the queues' inputs and errors"
        ));
    }
    let (readings, history) = reader::start(
        redis,
        reader::Settings {
            queues: args.queues,
            interval: args.interval,
            stale: args.stale,
        },
    );
    let state = Arc::new(server::State {
        registry: series::registry(readings.clone()),
        readings,
        history,
        local,
    });
    say::line(&format!("inflight: dashboard on http://{local}/"));
    http::serve(listener, move |req| server::handle(state.clone(), req));
    std::future::pending::<i32>().await
}
