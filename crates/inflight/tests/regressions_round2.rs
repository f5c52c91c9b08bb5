//! The bugs of the round-2 review (issue 20), each pinned by a test that failed before its fix.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use inflight::Inflight;

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
