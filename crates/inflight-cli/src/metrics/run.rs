//! [`RunMetrics`]: what `--metrics` serves for a run of `exec` or `fetch`, local or a queue
//! worker. Every series carries `command` and `worker` labels (the queue worker's name, else
//! `HOST-PID`), so several processes scraped side by side stay apart.
use std::sync::{Arc, OnceLock};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};

/// How a job ended, as the `outcome` label says it.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: &'static str,
}

/// The live numbers that are not counted as they happen but read when scraped: jobs in
/// flight and the limit in force (`-j auto` moves it).
pub type Live = Box<dyn Fn() -> (u64, u64) + Send + Sync>;

/// The metrics of one run.
pub struct RunMetrics {
    registry: Registry,
    started: Counter,
    finished: Family<OutcomeLabel, Counter>,
    retries: Counter,
    in_flight: Gauge,
    limit: Gauge,
    duration: Histogram,
    bytes: Option<Counter>,
    live: OnceLock<Live>,
}

impl RunMetrics {
    /// The metrics of a run of `command` (`exec` or `fetch`, which also counts bytes) by
    /// `worker`, on `queue` if it is a queue worker.
    pub fn new(command: &'static str, worker: &str, queue: Option<&str>) -> Arc<RunMetrics> {
        let mut labels = vec![
            ("command".into(), command.into()),
            ("worker".into(), worker.to_string().into()),
        ];
        if let Some(queue) = queue {
            labels.push(("queue".into(), queue.to_string().into()));
        }
        let mut registry = Registry::with_prefix_and_labels("inflight", labels.into_iter());
        let started = Counter::default();
        registry.register(
            "jobs_started",
            "Jobs whose first attempt began",
            started.clone(),
        );
        let finished = Family::<OutcomeLabel, Counter>::default();
        registry.register(
            "jobs_finished",
            "Jobs finished, by outcome: ok, failed (its own error), timeout (--timeout)",
            finished.clone(),
        );
        // Present from the start, at 0, so that rate() has a first point.
        for outcome in ["ok", "failed", "timeout"] {
            let _ = finished.get_or_create(&OutcomeLabel { outcome });
        }
        let retries = Counter::default();
        registry.register(
            "job_retries",
            "Attempts after a job's first (--retries)",
            retries.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "jobs_in_flight",
            "Jobs started and not finished",
            in_flight.clone(),
        );
        let limit = Gauge::default();
        registry.register(
            "jobs_limit",
            "The limit on jobs at once in force now (-j; moves with -j auto)",
            limit.clone(),
        );
        // 5 ms to about 2.7 minutes, doubling.
        let duration = Histogram::new(exponential_buckets(0.005, 2.0, 16));
        registry.register_with_unit(
            "job_duration",
            "Wall time of a job, from its first attempt's start to its end, retries included",
            Unit::Seconds,
            duration.clone(),
        );
        let bytes = (command == "fetch").then(|| {
            let bytes = Counter::default();
            registry.register_with_unit(
                "fetch_body",
                "Body bytes received by finished jobs",
                Unit::Bytes,
                bytes.clone(),
            );
            bytes
        });
        Arc::new(RunMetrics {
            registry,
            started,
            finished,
            retries,
            in_flight,
            limit,
            duration,
            bytes,
            live: OnceLock::new(),
        })
    }

    /// Where jobs in flight and the limit are read at each scrape (set once, by the run).
    pub fn set_live(&self, live: Live) {
        let _ = self.live.set(live);
    }

    /// A job's first attempt began.
    pub fn started(&self) {
        self.started.inc();
    }

    /// A job ended: `ok`, timed out or not, after `attempts` attempts, in `ms`, with `bytes`.
    pub fn finished(&self, ok: bool, timed_out: bool, attempts: u32, ms: u64, bytes: Option<u64>) {
        let outcome = match (ok, timed_out) {
            (true, _) => "ok",
            (false, true) => "timeout",
            (false, false) => "failed",
        };
        self.finished.get_or_create(&OutcomeLabel { outcome }).inc();
        self.retries.inc_by(u64::from(attempts.saturating_sub(1)));
        self.duration.observe(ms as f64 / 1000.0);
        if let (Some(counter), Some(n)) = (&self.bytes, bytes) {
            counter.inc_by(n);
        }
    }

    /// The OpenMetrics text of every series now.
    pub fn encode(&self) -> String {
        if let Some(live) = self.live.get() {
            let (in_flight, limit) = live();
            self.in_flight.set(clamp(in_flight));
            self.limit.set(clamp(limit));
        }
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// `HOST-PID`: the `worker` label of a run not named by `--worker` (a queue worker's default
/// name starts so too).
pub fn process_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string());
    format!("{host}-{}", std::process::id())
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finished_job_moves_its_outcome_the_retries_the_histogram_and_the_bytes() {
        let m = RunMetrics::new("fetch", "host-1", None);
        m.set_live(Box::new(|| (3, 8)));
        m.started();
        m.finished(false, true, 3, 1500, Some(2048));
        let text = m.encode();
        let has = |line: &str| text.lines().any(|l| l == line);
        let labels = r#"command="fetch",worker="host-1""#;
        assert!(
            has(&format!("inflight_jobs_started_total{{{labels}}} 1")),
            "{text}"
        );
        assert!(
            has(&format!(
                r#"inflight_jobs_finished_total{{{labels},outcome="timeout"}} 1"#
            )),
            "{text}"
        );
        assert!(has(&format!(
            r#"inflight_jobs_finished_total{{{labels},outcome="ok"}} 0"#
        )));
        assert!(has(&format!("inflight_job_retries_total{{{labels}}} 2")));
        assert!(has(&format!("inflight_jobs_in_flight{{{labels}}} 3")));
        assert!(has(&format!("inflight_jobs_limit{{{labels}}} 8")));
        assert!(
            has(&format!("inflight_fetch_body_bytes_total{{{labels}}} 2048")),
            "{text}"
        );
        assert!(has(&format!(
            "inflight_job_duration_seconds_count{{{labels}}} 1"
        )));
        assert!(text.ends_with("# EOF\n"));
    }
}
