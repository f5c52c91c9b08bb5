//! One reading of the dashboard as JSON: what `/api/status` answers and each server-sent
//! event carries. Per queue, the fields of `inflight queue status --json` (same names, same
//! values) and beside them what only the page shows. Every input and error is masked here,
//! before it leaves the process.
use std::time::Duration;

use inflight_redis::{LimitOverview, QueueOverview};
use serde_json::{json, Value};

use crate::helpers::mask;

/// One queue's reading, with what the reader worked out from the readings before it.
pub struct QueueReading {
    pub name: String,
    pub overview: QueueOverview,
    /// Inputs finished per second, over the last few seconds.
    pub rate: f64,
    /// The latest chart point: `[unix ms, done/s, failed/s]`, from the reading before.
    pub point: Option<[f64; 3]>,
}

/// A queue's state in words.
pub fn state(o: &QueueOverview) -> &'static str {
    if o.status.is_finished() {
        "finished"
    } else if o.status.closed {
        "closed"
    } else {
        "open"
    }
}

/// Seconds left at `rate` (0 when nothing is left, none when nothing finishes): what
/// `queue status` says.
pub fn eta(o: &QueueOverview, rate: f64) -> Option<u64> {
    let s = &o.status;
    let left = s.pushed.saturating_sub(s.done + s.failed + s.dead);
    if left == 0 {
        return Some(0);
    }
    (rate > 0.0).then(|| (left as f64 / rate) as u64)
}

/// A text with the password of a URL in it masked.
fn masked(text: &str) -> String {
    String::from_utf8_lossy(&mask::password(text.as_bytes())).into_owned()
}

/// One queue as JSON.
pub fn queue(q: &QueueReading, stale: Duration) -> Value {
    let o = &q.overview;
    let s = &o.status;
    let workers: Vec<Value> = o
        .workers
        .iter()
        .map(|w| {
            json!({
                "name": w.name,
                "host": w.host,
                "active": w.active,
                "in_flight": w.in_flight,
                "done": w.done,
                "failed": w.failed,
                "last_seen_ms": w.last_seen.map(|d| d.as_millis() as u64),
                "stale": w.active && w.last_seen.is_some_and(|d| d > stale),
            })
        })
        .collect();
    let failures: Vec<Value> = o
        .failures
        .iter()
        .map(|r| {
            let error = match (r.record.get("error"), r.record.get("status")) {
                (Some(Value::String(e)), _) => masked(e),
                (_, Some(Value::Number(n))) => format!("status {n}"),
                _ => "failed".to_string(),
            };
            json!({
                "seq": r.position + 1,
                "input": masked(&r.input),
                "error": error,
                "worker": r.worker,
                "attempts": r.record.get("attempts"),
            })
        })
        .collect();
    let dead: Vec<Value> = o
        .dead_letters
        .iter()
        .map(|d| json!({ "seq": d.position + 1, "input": masked(&d.input), "deliveries": d.deliveries }))
        .collect();
    json!({
        "queue": q.name,
        "state": state(o),
        "closed": s.closed,
        "finished": s.is_finished(),
        "pushed": s.pushed,
        "waiting": s.waiting,
        "in_flight": s.in_flight,
        "done": s.done,
        "failed": s.failed,
        "dead": s.dead,
        "rate": (q.rate * 10.0).round() / 10.0,
        "eta_s": eta(o, q.rate),
        "workers": workers,
        "failures": failures,
        "dead_letters": dead,
        "point": q.point,
    })
}

/// One shared limit as JSON.
pub fn limit(l: &LimitOverview) -> Value {
    json!({
        "name": l.name,
        "limit": l.limit,
        "stored": l.stored,
        "held": l.held,
        "waiting": l.waiting,
        "grace": l.grace,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use inflight_redis::{QueueResult, QueueStatus, WorkerOverview};

    fn reading() -> QueueReading {
        let mut o = QueueOverview {
            status: QueueStatus {
                pushed: 10,
                done: 6,
                failed: 1,
                in_flight: 2,
                waiting: 1,
                closed: true,
                ..Default::default()
            },
            ..Default::default()
        };
        o.workers = vec![
            WorkerOverview {
                name: "fresh".into(),
                active: true,
                last_seen: Some(Duration::from_secs(1)),
                ..Default::default()
            },
            WorkerOverview {
                name: "quiet".into(),
                active: true,
                last_seen: Some(Duration::from_secs(90)),
                ..Default::default()
            },
            WorkerOverview {
                name: "gone".into(),
                done: 4,
                ..Default::default()
            },
        ];
        o.failures = vec![QueueResult {
            id: "1-0".into(),
            position: 4,
            input: "https://alice:s3cret@example.invalid/x".into(),
            worker: "fresh".into(),
            ok: false,
            record: json!({ "error": "GET https://alice:s3cret@example.invalid/x: refused", "attempts": 2 }),
        }];
        QueueReading {
            name: "q".into(),
            overview: o,
            rate: 1.5,
            point: None,
        }
    }

    #[test]
    fn inputs_and_errors_are_masked_and_a_quiet_active_worker_is_stale() {
        let v = queue(&reading(), Duration::from_secs(60));
        let text = v.to_string();
        assert!(!text.contains("s3cret"), "{text}");
        assert_eq!(
            v["failures"][0]["input"],
            "https://alice:***@example.invalid/x"
        );
        assert_eq!(
            v["failures"][0]["error"],
            "GET https://alice:***@example.invalid/x: refused"
        );
        assert_eq!(
            (
                v["failures"][0]["seq"].as_u64(),
                v["failures"][0]["attempts"].as_u64()
            ),
            (Some(5), Some(2))
        );
        let stale: Vec<_> = v["workers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w["stale"].as_bool().unwrap())
            .collect();
        assert_eq!(
            stale,
            [false, true, false],
            "a worker that left is not stale"
        );
        assert_eq!(
            (v["state"].as_str(), v["eta_s"].as_u64()),
            (Some("closed"), Some(2))
        );
    }
}
