//! The dashboard's `/metrics`: the latest reading as Prometheus series, per queue
//! (`queue="NAME"`) and per shared limit (`limit="NAME"`). Encoded at each scrape from the
//! reading the page shows, so a scrape never reads Redis.
use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;
use tokio::sync::watch;

use inflight_redis::LimitOverview;

use super::reader::Reading;
use super::snapshot::QueueReading;

/// The collector over the reader's channel.
pub struct Series(pub watch::Receiver<Arc<Reading>>);

impl fmt::Debug for Series {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Series")
    }
}

/// A registry with the dashboard's series.
pub fn registry(readings: watch::Receiver<Arc<Reading>>) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Series(readings)));
    registry
}

type Value<T> = fn(&T) -> u64;

impl Collector for Series {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let reading = self.0.borrow().clone();
        let up = ConstGauge::new(i64::from(reading.up));
        up.encode(encoder.encode_descriptor(
            "inflight_dashboard_redis_up",
            "1 if Redis answered the dashboard's last reading, else 0 (and no queue series)",
            None,
            up.metric_type(),
        )?)?;
        let queues = &reading.queues;
        let counters: [(&str, &str, Value<QueueReading>); 4] = [
            ("inflight_queue_pushed", "Inputs pushed to the queue", |q| {
                q.overview.status.pushed
            }),
            ("inflight_queue_done", "Inputs finished with success", |q| {
                q.overview.status.done
            }),
            (
                "inflight_queue_failed",
                "Inputs finished with failure",
                |q| q.overview.status.failed,
            ),
            (
                "inflight_queue_dead",
                "Inputs given up after --max-deliveries (dead letters)",
                |q| q.overview.status.dead,
            ),
        ];
        for (name, help, value) in counters {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Counter)?;
            for q in queues {
                let labels = [("queue", q.name.as_str())];
                ConstCounter::new(value(q)).encode(metric.encode_family(&labels)?)?;
            }
        }
        let gauges: [(&str, &str, Value<QueueReading>); 5] = [
            (
                "inflight_queue_waiting",
                "Inputs not yet taken by any worker",
                |q| q.overview.status.waiting,
            ),
            (
                "inflight_queue_in_flight",
                "Inputs taken and not finished",
                |q| q.overview.status.in_flight,
            ),
            (
                "inflight_queue_workers",
                "Workers in the queue's status (holding inputs or with a heartbeat)",
                |q| q.overview.status.workers.len() as u64,
            ),
            (
                "inflight_queue_closed",
                "1 once the queue is closed (no more inputs will come)",
                |q| u64::from(q.overview.status.closed),
            ),
            (
                "inflight_queue_finished",
                "1 once the queue is closed and every input has its result or died",
                |q| u64::from(q.overview.status.is_finished()),
            ),
        ];
        for (name, help, value) in gauges {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for q in queues {
                let labels = [("queue", q.name.as_str())];
                ConstGauge::new(clamp(value(q))).encode(metric.encode_family(&labels)?)?;
            }
        }
        let limits = &reading.limits;
        let gauges: [(&str, &str, Value<LimitOverview>); 3] = [
            ("inflight_limit_held", "Permits of the shared limit held now", |l| l.held),
            ("inflight_limit_waiting", "Waiters for the shared limit", |l| l.waiting),
            ("inflight_limit_limit", "The shared limit in force (stored, else as the processes were started; absent if unknown)", |l| l.limit.unwrap_or(u64::MAX)),
        ];
        for (name, help, value) in gauges {
            let mut metric = encoder.encode_descriptor(name, help, None, MetricType::Gauge)?;
            for l in limits {
                if value(l) == u64::MAX {
                    continue;
                }
                let labels = [("limit", l.name.as_str())];
                ConstGauge::new(clamp(value(l))).encode(metric.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}
