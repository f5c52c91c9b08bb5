//! The bugs of the round-2 review (issue 20), each pinned by a test that failed before its fix.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use inflight::{ErrorPolicy, Failure, Inflight};

/// Counts the tasks running at once and the most that ever did, across threads.
#[derive(Clone, Default)]
struct Running {
    now: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Running {
    /// Blocking work that no abort can stop: `ms` of `std::thread::sleep`, counted as running
    /// from start to end.
    fn block(&self, ms: u64) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.peak.fetch_max(now, Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(ms));
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
    fn peak(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

/// Bug 2: dropping a `.spawned()` run gave the builder's places back at once while its aborted
/// tasks went on (an abort cannot stop blocking work), so the next run of the same builder ran
/// 4 at limit 2. A spawned attempt now holds its input's places until it really ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_dropped_spawned_run_frees_its_places_only_when_its_tasks_end() {
    common::deadline(async move {
        let builder = Inflight::new(2);
        let running = Running::default();
        let task = |_: &u32| {
            let running = running.clone();
            async move {
                running.block(300);
                tokio::task::yield_now().await;
                Ok::<_, ()>(())
            }
        };
        let mut first = builder.as_completed(0..10, task).spawned();
        // Both places taken by blocking tasks; then the run is dropped mid-way.
        let none = tokio::time::timeout(Duration::from_millis(100), first.next()).await;
        assert!(none.is_err(), "nothing finishes in 100 ms");
        drop(first);
        let outcomes = builder.gather(0..4, task).spawned().await;
        assert_eq!(outcomes.len(), 4);
        assert!(outcomes.iter().all(|o| o.is_ok()));
        assert!(
            running.peak() <= 2,
            "{} ran at once at limit 2",
            running.peak()
        );
        assert_eq!(builder.handle().in_flight(), 0);
    })
    .await
}

/// Bug 3: `halt_at_failure_percent(0.0, n)` halted a run without a single failure (3 of 10
/// outcomes, every one Ok): a share of 0 was "reached" by none. Now 0 % means the first
/// failure once `n` inputs have finished.
#[tokio::test(start_paused = true)]
async fn a_zero_percent_halt_waits_for_a_failure() {
    common::deadline(async move {
        let policy = ErrorPolicy::halt_at_failure_percent(0.0, 3);
        let run = Inflight::new(1).errors(policy);
        let all = run.gather(0..10, |&i| async move { Ok::<_, u32>(i) }).await;
        assert_eq!(all.len(), 10, "no failure, no halt");
        // A failure before the third input finishes is judged when the third does.
        let early = run
            .gather(0..10, |&i| async move {
                if i == 0 {
                    Err(i)
                } else {
                    Ok(i)
                }
            })
            .await;
        assert_eq!(early.len(), 3);
        let late = run
            .gather(0..10, |&i| async move {
                if i == 6 {
                    Err(i)
                } else {
                    Ok(i)
                }
            })
            .await;
        assert_eq!(late.len(), 7);
        assert_eq!(late[6].result, Err(Failure::Error(6)));
        // The other end: 100 % halts only when every finished input failed.
        let every = Inflight::new(1)
            .errors(ErrorPolicy::halt_at_failure_percent(100.0, 2))
            .gather(0..10, |&i| async move {
                if i < 3 {
                    Err(i)
                } else {
                    Ok(i)
                }
            })
            .await;
        assert_eq!(every.len(), 2);
    })
    .await
}

/// Friction: `Pool::spawn` panicked after `close()` while `InputPool::submit` gave its input
/// back; and it returned nothing to abort a task by. Now it gives the task back in a `Closed`
/// error, and returns the task's abort handle (as `JoinSet::spawn`).
#[tokio::test(start_paused = true)]
async fn a_pool_spawn_gives_the_task_back_once_closed_and_returns_an_abort_handle() {
    common::deadline(async move {
        let pool = inflight::Pool::new(1);
        let hanging = pool
            .spawn(async {
                std::future::pending::<()>().await;
                1
            })
            .await
            .unwrap();
        assert_eq!(pool.running(), 1);
        hanging.abort();
        let aborted = pool.join_next().await.unwrap();
        assert_eq!(aborted, Err(inflight::TaskError::Cancelled));
        assert_eq!(pool.running(), 0, "the aborted task's slot is free");
        let id = pool.spawn(async { 2 }).await.unwrap().id();
        assert_ne!(id, hanging.id());
        assert_eq!(pool.join_next().await.unwrap(), Ok(2));
        pool.close();
        let refused = pool.spawn(async { 3 }).await.unwrap_err();
        assert_eq!(refused.to_string(), "the pool is closed");
        assert_eq!(refused.into_inner().await, 3);
        assert!(pool.join_next().await.is_none());
    })
    .await
}

/// Docs: `drive` now says that a panic ends the driven stream (unlike `as_completed` polled
/// directly, where a consumer that catches it polls on to the other futures).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_ends_the_driven_stream_after_the_items_before_it() {
    use futures::FutureExt;
    common::deadline(async move {
        let tasks = (0..5u64).map(|i| async move {
            tokio::time::sleep(Duration::from_millis(20 * i)).await;
            assert_ne!(i, 2, "task 2 failed");
            i
        });
        let mut driven = inflight::drive(inflight::as_completed(tasks, 5), 8);
        assert_eq!(driven.next().await, Some(0));
        assert_eq!(driven.next().await, Some(1));
        let caught = std::panic::AssertUnwindSafe(driven.next())
            .catch_unwind()
            .await;
        assert!(caught.is_err(), "the panic reaches the consumer");
        assert_eq!(driven.next().await, None, "and the driven stream is over");
    })
    .await
}
