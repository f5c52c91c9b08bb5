//! The shared limits plugged into the library's `Inflight` builder: several builders (standing
//! for processes; each with its own Redis connection) share one global limit, per-key limit and
//! rate on a real redis-server, and a Redis that is gone fails closed.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use inflight::{Failure, Inflight, Rate};
use inflight_redis::{GlobalLimit, GlobalPerKey, GlobalRate, LimitOptions, Redis};

fn fast() -> LimitOptions {
    LimitOptions::default()
        .lease(Duration::from_secs(2))
        .poll(Duration::from_millis(200))
}

/// What runs now and the most at once, overall and per key.
#[derive(Clone, Default)]
struct Watch(Arc<Mutex<Seen>>);

/// Running now and the most at once: overall, then per key.
type Seen = (usize, usize, HashMap<String, (usize, usize)>);

impl Watch {
    fn enter(&self, key: &str) {
        let mut w = self.0.lock().unwrap();
        w.0 += 1;
        w.1 = w.1.max(w.0);
        let k = w.2.entry(key.to_owned()).or_default();
        k.0 += 1;
        k.1 = k.1.max(k.0);
    }
    fn leave(&self, key: &str) {
        let mut w = self.0.lock().unwrap();
        w.0 -= 1;
        w.2.get_mut(key).unwrap().0 -= 1;
    }
    fn peak(&self) -> usize {
        self.0.lock().unwrap().1
    }
    fn key_peak(&self) -> usize {
        self.0
            .lock()
            .unwrap()
            .2
            .values()
            .map(|k| k.1)
            .max()
            .unwrap_or(0)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builders_on_separate_connections_share_the_global_and_per_key_limits() {
    let Some(server) = common::server() else {
        return;
    };
    let watch = Watch::default();
    let mut runs = Vec::new();
    for process in 0..3 {
        // Each "process" has its own connection and its own builder at -j 8.
        let redis = Redis::connect(&server.url()).await.unwrap();
        let builder = Inflight::new(8)
            .shared_limit(GlobalLimit::with_options(&redis, "jobs", 5, fast()))
            .shared_per_key(GlobalPerKey::with_options(&redis, "hosts", 2, fast()));
        let watch = watch.clone();
        runs.push(tokio::spawn(async move {
            let inputs: Vec<String> = (0..12)
                .map(|i| format!("h{}/{process}-{i}", i % 3))
                .collect();
            builder
                .gather(inputs, move |url| {
                    let (url, watch) = (url.clone(), watch.clone());
                    async move {
                        let host = url.split('/').next().unwrap().to_owned();
                        watch.enter(&host);
                        tokio::time::sleep(Duration::from_millis(40)).await;
                        watch.leave(&host);
                        Ok::<_, ()>(())
                    }
                })
                .per_key(8, |url| url.split('/').next().unwrap().to_owned())
                .await
        }));
    }
    let mut done = 0;
    for run in runs {
        let outcomes = run.await.unwrap();
        assert!(outcomes.iter().all(|o| o.is_ok()));
        done += outcomes.len();
    }
    assert_eq!(done, 36);
    assert_eq!(
        watch.peak(),
        5,
        "the global limit, reached and never exceeded"
    );
    assert_eq!(watch.key_peak(), 2, "the per-key limit across processes");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builders_share_the_global_rate() {
    let Some(server) = common::server() else {
        return;
    };
    let starts = Arc::new(Mutex::new(Vec::new()));
    let t0 = Instant::now();
    let mut runs = Vec::new();
    for _ in 0..3 {
        let redis = Redis::connect(&server.url()).await.unwrap();
        let builder = Inflight::new(10).shared_rate(GlobalRate::new(
            &redis,
            "starts",
            Rate::per_second(50).burst(2),
        ));
        let starts = starts.clone();
        runs.push(tokio::spawn(async move {
            builder
                .gather(0..20, move |_| {
                    starts.lock().unwrap().push(t0.elapsed());
                    async { Ok::<_, ()>(()) }
                })
                .await
        }));
    }
    for run in runs {
        assert_eq!(run.await.unwrap().len(), 20);
    }
    let mut starts = starts.lock().unwrap().clone();
    starts.sort();
    // 60 starts at 50/s after a burst of 2: at least 1.16 s; and never more than
    // burst + rate * t in a window (plus one for the delay between Redis's grant and the start).
    assert!(
        *starts.last().unwrap() >= Duration::from_millis(1100),
        "{:?}",
        starts.last()
    );
    for i in 0..starts.len() {
        for j in i..starts.len() {
            let window = (starts[j] - starts[i]).as_secs_f64();
            let allowed = 2.0 + 50.0 * window + 1.0;
            assert!(
                (j - i + 1) as f64 <= allowed,
                "{} starts in {window}s",
                j - i + 1
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_is_gone_fails_closed_through_the_builder() {
    let Some(mut server) = common::server() else {
        return;
    };
    let redis = Redis::builder(&server.url())
        .outage_timeout(Some(Duration::from_millis(800)))
        .connect()
        .await
        .unwrap();
    let limit = GlobalLimit::with_options(&redis, "gone", 4, fast());
    server.stop();
    let ran = Arc::new(AtomicUsize::new(0));
    let outcomes = Inflight::new(2)
        .shared_limit(limit)
        .gather(0..50, |_| {
            ran.fetch_add(1, Ordering::SeqCst);
            async { Ok::<_, ()>(()) }
        })
        .await;
    assert_eq!(
        ran.load(Ordering::SeqCst),
        0,
        "no task ran without the global limit"
    );
    assert!(
        !outcomes.is_empty() && outcomes.len() <= 2,
        "only the inputs pulled report"
    );
    for outcome in &outcomes {
        assert!(
            matches!(&outcome.result, Err(Failure::Unavailable(_))),
            "{:?}",
            outcome.result
        );
    }
}
