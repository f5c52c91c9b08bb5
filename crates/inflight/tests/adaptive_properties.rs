//! Property tests of the adaptive limit: whatever the bounds, the start and how the tasks'
//! latency grows with their number, no task starts while as many as the limit in force are
//! running, and the limit stays within its bounds.

mod common;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{paused_runtime, Census};
use futures::StreamExt;
use inflight::{Failure, Inflight, Limit};
use proptest::prelude::*;

#[derive(Debug, Clone)]
struct Case {
    min: usize,
    max: usize,
    initial: usize,
    /// Tasks take `service` ms, times how far those in flight exceed `capacity`.
    capacity: usize,
    service: u64,
    /// Every `fail_every`-th task fails fast with a drop (0: none).
    fail_every: usize,
    tasks: usize,
}

fn cases() -> impl Strategy<Value = Case> {
    (
        1usize..6,
        0usize..60,
        1usize..80,
        1usize..40,
        1u64..30,
        0usize..6,
        100usize..1500,
    )
        .prop_map(
            |(min, span, initial, capacity, service, fail_every, tasks)| Case {
                min,
                max: min + span,
                initial,
                capacity,
                service,
                fail_every,
                tasks,
            },
        )
}

impl Case {
    fn limit(&self) -> Limit {
        Limit::adaptive()
            .min(self.min)
            .max(self.max)
            .initial(self.initial)
            .into()
    }

    /// How long a task takes with `running` in flight, itself included.
    fn latency(&self, running: usize) -> Duration {
        let queued = running.saturating_sub(self.capacity) as u64;
        Duration::from_millis(self.service + self.service * queued / self.capacity as u64)
    }
}

/// What happened, in order: a task started with this many running (itself included), or the
/// consumer saw this limit after an output.
#[derive(Debug, Clone, Copy)]
enum Seen {
    Start(usize),
    Limit(usize),
}

/// Replays `log` from `initial`: every start within the limit in force when it started, and
/// every limit within the bounds.
fn check(case: &Case, initial: usize, log: &[Seen]) -> Result<(), TestCaseError> {
    let mut limit = initial;
    prop_assert!((case.min..=case.max).contains(&limit));
    for (i, seen) in log.iter().enumerate() {
        match *seen {
            Seen::Start(running) => {
                prop_assert!(
                    running <= limit,
                    "event {}: {} running, limit {}",
                    i,
                    running,
                    limit
                )
            }
            Seen::Limit(now) => {
                prop_assert!(
                    (case.min..=case.max).contains(&now),
                    "limit {} out of bounds",
                    now
                );
                limit = now;
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    /// In a stream, the limit moves only when an output is handed back, before the next poll
    /// starts anything: a start is within the limit the consumer saw last.
    #[test]
    fn a_stream_never_starts_a_task_past_its_adaptive_limit(case in cases()) {
        let result: Result<(), TestCaseError> = paused_runtime().block_on(async {
            let census = Census::default();
            let log = Rc::new(RefCell::new(Vec::new()));
            let tasks = (0..case.tasks).map(|_| {
                let (census, log, case) = (census.clone(), log.clone(), case.clone());
                async move {
                    let alive = census.enter();
                    log.borrow_mut().push(Seen::Start(census.alive()));
                    tokio::time::sleep(case.latency(census.alive())).await;
                    drop(alive);
                }
            });
            let mut stream = inflight::as_completed(tasks, case.limit());
            let initial = stream.limit();
            let mut outputs = 0;
            while stream.next().await.is_some() {
                outputs += 1;
                log.borrow_mut().push(Seen::Limit(stream.limit()));
            }
            prop_assert_eq!(outputs, case.tasks);
            prop_assert!(census.peak() <= case.max);
            let log = log.borrow().clone();
            check(&case, initial, &log)
        });
        result?;
    }

    /// Under the builder, drops (fast failures `drop_if` names) move the limit too; a task
    /// starts only with a slot of the limit in force, read from the handle.
    #[test]
    fn a_builder_never_starts_a_task_past_its_adaptive_limit(case in cases()) {
        let result: Result<(), TestCaseError> = paused_runtime().block_on(async {
            let running = Arc::new(AtomicUsize::new(0));
            let log = Arc::new(Mutex::new(Vec::new()));
            let builder = Inflight::new(case.limit())
                .drop_if(|f: &Failure<u16>| matches!(f, Failure::Error(503)));
            let handle = builder.handle();
            let initial = handle.limit();
            let outcomes = builder
                .as_completed(0..case.tasks, |&i| {
                    let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                    log.lock().unwrap().push((now, handle.limit()));
                    let (running, case) = (running.clone(), case.clone());
                    async move {
                        let fails = case.fail_every > 0 && i % case.fail_every == 0;
                        let latency = if fails { Duration::from_millis(1) } else { case.latency(now) };
                        tokio::time::sleep(latency).await;
                        running.fetch_sub(1, Ordering::SeqCst);
                        if fails { Err(503u16) } else { Ok(()) }
                    }
                })
                .count()
                .await;
            prop_assert_eq!(outcomes, case.tasks);
            prop_assert!((case.min..=case.max).contains(&initial));
            for &(now, limit) in log.lock().unwrap().iter() {
                prop_assert!((case.min..=case.max).contains(&limit), "limit {}", limit);
                prop_assert!(now <= limit, "{} running, limit {}", now, limit);
            }
            prop_assert!((case.min..=case.max).contains(&handle.limit()));
            Ok(())
        });
        result?;
    }
}
