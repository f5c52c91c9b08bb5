//! The one reader of Redis: every interval it reads every queue and limit once, whoever
//! watches (one viewer or a hundred cost Redis the same), works out rates and the chart's
//! next point, and publishes the reading on a `watch` channel that every page's events and
//! every `/api` and `/metrics` answer take from. Each reading is serialised once, here.
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use inflight_redis::{LimitOverview, Queue, Redis};
use serde_json::{json, Value};
use tokio::sync::watch;

use super::snapshot::{self, QueueReading};

/// Failures and dead letters shown per queue.
const LATEST: usize = 20;
/// How long the window is that the rate is taken over.
const RATE_WINDOW: Duration = Duration::from_secs(5);
/// Points kept per queue for the chart: 15 minutes at one reading a second.
const HISTORY: usize = 900;
/// How often the lists of queues and limits are looked for again (SCANs of the keyspace).
const RESCAN: Duration = Duration::from_secs(5);

/// One reading, as every viewer gets it.
pub struct Reading {
    /// The JSON of `/api/status` and of one server-sent event.
    pub json: Bytes,
    pub queues: Vec<QueueReading>,
    pub limits: Vec<LimitOverview>,
    /// Whether Redis answered this reading (else the JSON is the last one, with an error).
    pub up: bool,
}

/// The chart points of every queue, for `/api/history` (a page's first load).
#[derive(Default)]
pub struct History(Mutex<BTreeMap<String, VecDeque<[f64; 3]>>>);

impl History {
    /// `{"queues": {NAME: [[unix ms, done/s, failed/s], ...]}}`.
    pub fn json(&self) -> String {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        json!({ "queues": &*map }).to_string()
    }

    fn push(&self, queue: &str, point: [f64; 3]) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let points = map.entry(queue.to_string()).or_default();
        points.push_back(point);
        while points.len() > HISTORY {
            points.pop_front();
        }
    }

    fn keep_only(&self, queues: &[String]) {
        let mut map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.retain(|name, _| queues.contains(name));
    }
}

/// What to read and how often.
pub struct Settings {
    /// The queues named on the command line; empty: every queue on the Redis.
    pub queues: Vec<String>,
    pub interval: Duration,
    pub stale: Duration,
}

/// What the reader remembers of a queue between readings.
#[derive(Default)]
struct Past {
    /// (when, finished) over the rate window.
    window: VecDeque<(Instant, u64)>,
    /// The last reading's time (unix ms) and done and failed counts.
    last: Option<(f64, u64, u64)>,
}

/// Starts the reader on the current runtime; the channel has a first reading once Redis
/// answered once.
pub fn start(redis: Redis, settings: Settings) -> (watch::Receiver<Arc<Reading>>, Arc<History>) {
    let empty = Arc::new(Reading {
        json: Bytes::from(
            json!({ "redis": redis.url(), "at_ms": unix_ms(), "error": "reading Redis…", "queues": [], "limits": [] })
                .to_string(),
        ),
        queues: Vec::new(),
        limits: Vec::new(),
        up: false,
    });
    let (tx, rx) = watch::channel(empty);
    let history = Arc::new(History::default());
    tokio::spawn(run(redis, settings, tx, history.clone()));
    (rx, history)
}

async fn run(
    redis: Redis,
    settings: Settings,
    tx: watch::Sender<Arc<Reading>>,
    history: Arc<History>,
) {
    let mut tick = tokio::time::interval(settings.interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut names = settings.queues.clone();
    let mut limit_names: Vec<String> = Vec::new();
    let mut scanned: Option<Instant> = None;
    let mut past: HashMap<String, Past> = HashMap::new();
    // A reading that takes this long means Redis is away: say so on the page.
    let patience = (settings.interval * 3).max(Duration::from_secs(3));
    loop {
        tick.tick().await;
        let read = async {
            // Every RESCAN; and at each reading while none was found, so that the first
            // queue or limit shows at once.
            let none_yet = limit_names.is_empty() || names.is_empty();
            if none_yet || scanned.is_none_or(|at| at.elapsed() >= RESCAN) {
                if settings.queues.is_empty() {
                    names = redis.queue_names().await?;
                    history.keep_only(&names);
                    past.retain(|name, _| names.contains(name));
                }
                limit_names = redis.shared_limit_names().await?;
                scanned = Some(Instant::now());
            }
            let mut queues = Vec::with_capacity(names.len());
            for name in &names {
                let overview = Queue::new(&redis, name).overview(LATEST, LATEST).await?;
                queues.push((name.clone(), overview));
            }
            let mut limits = Vec::with_capacity(limit_names.len());
            for name in &limit_names {
                limits.push(redis.shared_limit(name).await?);
            }
            Ok::<_, inflight_redis::Error>((queues, limits))
        };
        let (queues, limits) = match tokio::time::timeout(patience, read).await {
            Ok(Ok(read)) => read,
            Ok(Err(e)) => {
                tx.send_modify(|r| *r = Arc::new(with_error(r, &e.to_string(), redis.url())));
                continue;
            }
            Err(_) => {
                let e = format!(
                    "Redis did not answer within {}s; showing the last reading",
                    patience.as_secs()
                );
                tx.send_modify(|r| *r = Arc::new(with_error(r, &e, redis.url())));
                continue;
            }
        };
        let now = Instant::now();
        let at = unix_ms() as f64;
        let queues: Vec<QueueReading> = queues
            .into_iter()
            .map(|(name, overview)| {
                let s = &overview.status;
                let p = past.entry(name.clone()).or_default();
                let finished = s.done + s.failed + s.dead;
                p.window.push_back((now, finished));
                while p.window.len() > 2 && now.duration_since(p.window[1].0) >= RATE_WINDOW {
                    p.window.pop_front();
                }
                let (t0, f0) = p.window[0];
                let secs = now.duration_since(t0).as_secs_f64();
                let rate = if secs > 0.0 {
                    finished.saturating_sub(f0) as f64 / secs
                } else {
                    0.0
                };
                let point = p.last.map(|(t, done, failed)| {
                    let dt = ((at - t) / 1000.0).max(0.001);
                    let per_s = |now: u64, then: u64| {
                        ((now.saturating_sub(then) as f64 / dt) * 10.0).round() / 10.0
                    };
                    [at, per_s(s.done, done), per_s(s.failed, failed)]
                });
                p.last = Some((at, s.done, s.failed));
                if let Some(point) = point {
                    history.push(&name, point);
                }
                QueueReading {
                    name,
                    overview,
                    rate,
                    point,
                }
            })
            .collect();
        let body = json!({
            "redis": redis.url(),
            "at_ms": at as u64,
            "interval_ms": settings.interval.as_millis() as u64,
            "error": null,
            "queues": queues.iter().map(|q| snapshot::queue(q, settings.stale)).collect::<Vec<_>>(),
            "limits": limits.iter().map(snapshot::limit).collect::<Vec<_>>(),
        });
        let _ = tx.send(Arc::new(Reading {
            json: Bytes::from(body.to_string()),
            queues,
            limits,
            up: true,
        }));
    }
}

/// The last reading again, with `error` said on it.
fn with_error(last: &Reading, error: &str, url: &str) -> Reading {
    let mut v: Value =
        serde_json::from_slice(&last.json).unwrap_or_else(|_| json!({ "redis": url }));
    v["error"] = Value::String(error.to_string());
    Reading {
        json: Bytes::from(v.to_string()),
        queues: Vec::new(),
        limits: Vec::new(),
        up: false,
    }
}

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
