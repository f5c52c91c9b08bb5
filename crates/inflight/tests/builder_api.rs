//! The builder as a first-time user meets it: stored in a struct, shared by runs and clones,
//! fallible forms, pools driven by a producer and a consumer side by side, shared limits.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::SyncCensus;
use futures::StreamExt;
use inflight::{
    Acquiring, ErrorPolicy, Failure, Inflight, InflightExt, Limiter, Pool, SharedLimit,
    SharedPermit,
};
use tokio::time::Instant;

/// Counts tasks running now and the most ever at once, across threads.
#[derive(Clone, Default)]
struct Peak {
    now: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Peak {
    fn enter(&self) -> impl Drop {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        struct Out(Arc<AtomicUsize>);
        impl Drop for Out {
            fn drop(&mut self) {
                self.0.fetch_sub(1, Ordering::SeqCst);
            }
        }
        Out(self.now.clone())
    }
    fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

fn sleeper(peak: &Peak, ms: u64) -> impl std::future::Future<Output = Result<(), ()>> + Send {
    let inside = peak.enter();
    async move {
        tokio::time::sleep(Duration::from_millis(ms)).await;
        drop(inside);
        Ok(())
    }
}

#[test]
fn the_builder_is_one_type_that_is_clone_send_sync_and_debug() {
    fn assert_traits<T: Clone + Send + Sync + std::fmt::Debug + 'static>() {}
    assert_traits::<Inflight>();
    // Whatever was configured, it is still `Inflight`: storable without type parameters.
    struct Client {
        policy: Inflight,
    }
    let client = Client {
        policy: Inflight::new(4)
            .timeout(Duration::from_secs(1))
            .retry_if(|f: &Failure<std::io::Error>| !matches!(f, Failure::Panicked(_)))
            .errors(ErrorPolicy::fail_fast())
            .on_event(|_| {}),
    };
    let debug = format!("{:?}", client.policy.clone());
    assert!(debug.contains("limit: 4"), "{debug}");
}

#[tokio::test(start_paused = true)]
async fn two_runs_at_once_from_one_builder_share_its_limit() {
    common::deadline(async move {
        let builder = Inflight::new(2);
        let clone = builder.clone();
        let peak = Peak::default();
        let start = Instant::now();
        let (a, b) = tokio::join!(
            builder.gather(0..6, |_| sleeper(&peak, 1000)),
            clone.gather(0..6, |_| sleeper(&peak, 1000)),
        );
        assert_eq!(a.len() + b.len(), 12);
        assert_eq!(peak.peak(), 2, "two runs of one builder: 2 in all");
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(6),
            "and every slot was used"
        );
        assert_eq!(builder.handle().in_flight(), 0);
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn progress_is_shared_by_clones_and_runs() {
    common::deadline(async move {
        let builder = Inflight::new(3);
        let progress = builder.clone().progress();
        let _ = builder
            .gather(0..5, |&i| async move { Ok::<_, ()>(i) })
            .await;
        let _ = builder
            .clone()
            .gather(0..5, |&i| async move { Ok::<_, ()>(i) })
            .await;
        assert_eq!(progress.snapshot().done, 10);
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn try_gather_returns_at_the_first_error_and_cancels_the_rest() {
    common::deadline(async move {
        let census = SyncCensus::default();
        let pulled = Arc::new(AtomicUsize::new(0));
        let inputs = {
            let pulled = pulled.clone();
            (0..1_000u64).inspect(move |_| {
                pulled.fetch_add(1, Ordering::SeqCst);
            })
        };
        let start = Instant::now();
        let failed = Inflight::new(4)
            .try_gather(inputs, |&i| {
                let alive = census.enter();
                async move {
                    tokio::time::sleep(Duration::from_millis(if i == 2 { 10 } else { 50_000 }))
                        .await;
                    drop(alive);
                    if i == 2 {
                        Err(format!("input {i} broke"))
                    } else {
                        Ok(i)
                    }
                }
            })
            .await
            .unwrap_err();
        assert_eq!(start.elapsed(), Duration::from_millis(10), "not 50 s");
        assert_eq!((failed.input, failed.index), (2, 2));
        assert_eq!(failed.failure, Failure::Error("input 2 broke".to_string()));
        assert_eq!(failed.to_string(), "input #2 failed after 1 attempt");
        assert_eq!(census.alive(), 0, "everything in flight was cancelled");
        assert_eq!(
            pulled.load(Ordering::SeqCst),
            4,
            "nothing pulled after the error"
        );

        // The core form, and its success.
        let all = inflight::try_gather((0..10).map(|i| async move { Ok::<_, ()>(i * 2) }), 3).await;
        assert_eq!(all, Ok((0..10).map(|i| i * 2).collect()));
        let first_error = inflight::try_gather(
            (0..10).map(|i| async move {
                tokio::time::sleep(Duration::from_millis(100 - i * 10)).await;
                if i % 3 == 2 {
                    Err(i)
                } else {
                    Ok(i)
                }
            }),
            10,
        )
        .await;
        assert_eq!(
            first_error,
            Err(8),
            "first to fail, not first in input order"
        );
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn the_fallible_stream_forms_end_at_the_first_error() {
    common::deadline(async move {
        let census = SyncCensus::default();
        let outputs: Vec<Result<u64, u64>> = futures::stream::iter(0..100u64)
            .map(|i| {
                let alive = census.enter();
                async move {
                    tokio::time::sleep(Duration::from_millis(10 + (i % 3) * 10)).await;
                    drop(alive);
                    if i == 4 {
                        Err(i)
                    } else {
                        Ok(i)
                    }
                }
            })
            .try_in_flight(3)
            .collect()
            .await;
        assert_eq!(outputs.last(), Some(&Err(4)));
        assert_eq!(outputs.iter().filter(|o| o.is_err()).count(), 1);
        assert_eq!(census.alive(), 0);

        let ordered: Vec<Result<u64, u64>> = futures::stream::iter(0..100u64)
            .map(|i| async move {
                tokio::time::sleep(Duration::from_millis(100 - i)).await;
                if i == 6 {
                    Err(i)
                } else {
                    Ok(i)
                }
            })
            .try_in_flight_ordered(8)
            .collect()
            .await;
        assert_eq!(ordered, (0..6).map(Ok).chain([Err(6)]).collect::<Vec<_>>());
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn stream_takes_a_stream_that_is_not_unpin() {
    common::deadline(async move {
        let inputs = futures::stream::unfold(0u32, |n| async move {
            tokio::task::yield_now().await;
            (n < 5).then_some((n, n + 1))
        });
        let mut outcomes = Inflight::new(2).stream(inputs, |&n| async move { Ok::<_, ()>(n * n) });
        let mut sum = 0;
        while let Some(outcome) = outcomes.next().await {
            sum += outcome.result.unwrap();
        }
        assert_eq!(sum, 30);
    })
    .await
}

fn host_of(url: &str) -> &str {
    url.split('/').nth(2).unwrap_or("")
}

#[tokio::test(start_paused = true)]
async fn per_key_takes_the_run_input_type_without_annotation() {
    common::deadline(async move {
        let urls: Vec<String> = (0..12)
            .map(|i| format!("https://{}.example/{i}", ["a", "b", "c"][i % 3]))
            .collect();
        let by_host: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
        let worst = Arc::new(AtomicUsize::new(0));
        let outcomes = Inflight::new(6)
            .gather(urls, |url| {
                let (url, by_host, worst) = (url.clone(), by_host.clone(), worst.clone());
                async move {
                    let host = host_of(&url).to_owned();
                    let now = {
                        let mut map = by_host.lock().unwrap();
                        *map.entry(host.clone()).or_default() += 1;
                        map[&host]
                    };
                    worst.fetch_max(now, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    *by_host.lock().unwrap().get_mut(&host).unwrap() -= 1;
                    Ok::<_, ()>(())
                }
            })
            .per_key(1, |url| host_of(url).to_owned())
            .await;
        assert_eq!(outcomes.len(), 12);
        assert_eq!(worst.load(Ordering::SeqCst), 1);
    })
    .await
}

#[tokio::test(start_paused = true)]
#[should_panic(
    expected = "takes failures of `u16`, but this run's task fails with `alloc::string::String`"
)]
async fn a_retry_policy_for_another_error_type_is_named_in_the_panic() {
    common::deadline(async move {
        let builder = Inflight::new(1).retry_if(|f: &Failure<u16>| f.error() == Some(&503));
        let _ = builder.as_completed([()], |_| async { Err::<(), _>(String::new()) });
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn a_pool_producer_and_consumer_side_by_side_with_bounded_memory() {
    common::deadline(async move {
        let pool = Pool::new(4);
        let most_held = AtomicUsize::new(0);
        let producer = async {
            for i in 0..2_000u64 {
                pool.spawn(async move {
                    tokio::time::sleep(Duration::from_millis(1 + i % 7)).await;
                    i
                })
                .await
                .unwrap();
                most_held.fetch_max(pool.len(), Ordering::SeqCst);
            }
            pool.close();
        };
        let consumer = async {
            let mut sum = 0;
            while let Some(output) = pool.join_next().await {
                sum += output.unwrap();
            }
            sum
        };
        let ((), sum) = tokio::join!(producer, consumer);
        assert_eq!(sum, 1999 * 2000 / 2);
        assert!(most_held.load(Ordering::SeqCst) <= 8, "outputs piled up");
    })
    .await
}

#[tokio::test(start_paused = true)]
async fn an_input_pool_producer_and_consumer_side_by_side() {
    common::deadline(async move {
        let peak = Peak::default();
        let pool = Inflight::new(3).pool({
            let peak = peak.clone();
            move |_: &u32| sleeper(&peak, 5)
        });
        let producer = async {
            for i in 0..300 {
                pool.submit(i).await.unwrap();
            }
            pool.close();
            assert_eq!(pool.submit(300).await, Err(300), "closed");
        };
        let consumer = async {
            let mut n = 0;
            while let Some(outcome) = pool.join_next().await {
                assert!(outcome.is_ok());
                n += 1;
            }
            n
        };
        let ((), n) = tokio::join!(producer, consumer);
        assert_eq!(n, 300);
        assert_eq!(peak.peak(), 3);
    })
    .await
}

/// A per-key limit shared between builders, made of one `Limiter` per key.
#[derive(Default)]
struct PerKeyLimiters(Mutex<HashMap<String, Limiter>>, usize);

impl SharedLimit for PerKeyLimiters {
    fn acquire<'a>(&'a self, key: Option<&'a str>) -> Acquiring<'a> {
        let limiter = self
            .0
            .lock()
            .unwrap()
            .entry(key.expect("a per-key limit gets a key").to_owned())
            .or_insert_with(|| Limiter::new(self.1))
            .clone();
        Box::pin(async move { Ok(SharedPermit::new(limiter.acquire().await)) })
    }
}

#[tokio::test(start_paused = true)]
async fn shared_limits_cap_what_several_builders_run_together() {
    common::deadline(async move {
        let together = Limiter::new(3);
        let per_key = Arc::new(PerKeyLimiters(Mutex::default(), 1));
        let a = Inflight::new(10)
            .shared_limit(together.clone())
            .shared_per_key(per_key.clone());
        let b = Inflight::new(10)
            .shared_limit(together.clone())
            .shared_per_key(per_key.clone());
        let peak = Peak::default();
        let key_peak: Arc<Mutex<HashMap<u32, usize>>> = Arc::default();
        let worst_key = Arc::new(AtomicUsize::new(0));
        let task = |&i: &u32| {
            let inside = peak.enter();
            let (key_peak, worst_key) = (key_peak.clone(), worst_key.clone());
            async move {
                let key = i % 4;
                let now = {
                    let mut map = key_peak.lock().unwrap();
                    *map.entry(key).or_default() += 1;
                    map[&key]
                };
                worst_key.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(1)).await;
                *key_peak.lock().unwrap().get_mut(&key).unwrap() -= 1;
                drop(inside);
                Ok::<_, ()>(())
            }
        };
        let start = Instant::now();
        let (ra, rb) = tokio::join!(
            a.gather(0..12u32, task).per_key(10, |i| i % 4),
            b.gather(0..12u32, task).per_key(10, |i| i % 4),
        );
        assert_eq!(ra.len() + rb.len(), 24);
        assert_eq!(
            peak.peak(),
            3,
            "the shared limit caps both builders together"
        );
        assert_eq!(
            worst_key.load(Ordering::SeqCst),
            1,
            "one at a time per key, across builders"
        );
        assert_eq!(
            start.elapsed(),
            Duration::from_secs(8),
            "24 tasks, 3 at once"
        );
        assert_eq!(together.in_flight(), 0);
    })
    .await
}

/// A shared limit whose server is away for good: it must never let a task through.
struct Unreachable;

impl SharedLimit for Unreachable {
    fn acquire<'a>(&'a self, _key: Option<&'a str>) -> Acquiring<'a> {
        Box::pin(async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            Err("redis at 127.0.0.1:1 unreachable for 5s".into())
        })
    }
}

#[tokio::test(start_paused = true)]
async fn a_shared_limit_that_cannot_be_had_fails_closed_and_stops_the_run() {
    common::deadline(async move {
        let ran = Arc::new(AtomicUsize::new(0));
        let mut outcomes = Inflight::new(2)
            .shared_limit(Unreachable)
            .as_completed(0..100, |_| {
                ran.fetch_add(1, Ordering::SeqCst);
                async { Ok::<_, ()>(()) }
            });
        let mut failed = Vec::new();
        while let Some(outcome) = outcomes.next().await {
            failed.push(outcome);
        }
        assert_eq!(
            ran.load(Ordering::SeqCst),
            0,
            "no task ran without the shared limit"
        );
        assert!(outcomes.halted());
        assert!(
            failed.len() <= 2,
            "only the inputs already pulled are reported"
        );
        assert!(failed.iter().all(|o| matches!(
            &o.result,
            Err(Failure::Unavailable(m)) if m.contains("unreachable")
        ) && o.attempts == 0));
    })
    .await
}

/// A run stopped from elsewhere starts nothing more and ends an input waiting out a long retry
/// delay at once, with its last failure (a Ctrl-C during a server's `Retry-After`).
#[tokio::test(start_paused = true)]
async fn a_stop_handle_ends_waiting_retries_and_starts_nothing_more() {
    common::deadline(async move {
        let calls = Arc::new(AtomicUsize::new(0));
        let builder = Inflight::new(2).retry(
            inflight::Retry::attempts(5)
                .backoff(Duration::from_secs(60), Duration::from_secs(60))
                .no_jitter(),
        );
        let mut run = builder.as_completed(0..100u32, |&i| {
            calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if i == 0 {
                    Err("busy") // then waits 60 s to retry
                } else {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                    Ok(i)
                }
            }
        });
        let stop = run.stop_handle();
        let start = Instant::now();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            stop.stop();
        });
        let mut outcomes = Vec::new();
        while let Some(outcome) = run.next().await {
            outcomes.push(outcome);
        }
        // Input 0 handed back its failure at the stop (1 s); input 1, running, finished (2 s).
        assert_eq!(start.elapsed(), Duration::from_secs(2));
        outcomes.sort_by_key(|o| o.index);
        assert_eq!(outcomes.len(), 2);
        assert_eq!(outcomes[0].result, Err(Failure::Error("busy")));
        assert_eq!(outcomes[0].attempts, 1);
        assert_eq!(calls.load(Ordering::SeqCst), 2, "no attempt after the stop");
        assert!(run.halted());
    })
    .await
}
