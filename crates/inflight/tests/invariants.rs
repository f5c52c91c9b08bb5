//! Property tests of DESIGN.md's invariants, over random durations, limits and input sizes, on
//! tokio's paused clock so every schedule is exact.

mod common;

use std::cell::Cell;
use std::rc::Rc;

use common::{greedy_makespan, ms, paused_runtime, Census};
use futures::StreamExt;
use inflight::InflightExt;
use proptest::prelude::*;
use tokio::time::Instant;

/// Which entry point a case runs through.
#[derive(Debug, Clone, Copy)]
enum Entry {
    AsCompleted,
    Ordered,
    StreamUnordered,
    StreamOrdered,
    Gather,
}

fn entries() -> impl Strategy<Value = Entry> {
    prop_oneof![
        Just(Entry::AsCompleted),
        Just(Entry::Ordered),
        Just(Entry::StreamUnordered),
        Just(Entry::StreamOrdered),
        Just(Entry::Gather),
    ]
}

struct Observed {
    outputs: Vec<usize>,
    makespan: u64,
    peak: usize,
    /// The most that pulled minus handed back ever reached.
    max_outstanding: usize,
}

/// Runs one case: task i sleeps `durations[i]` ms (0 means ready at once) and returns i.
fn run(entry: Entry, durations: &[u64], limit: usize) -> Observed {
    paused_runtime().block_on(async {
        let census = Census::default();
        let pulled = Rc::new(Cell::new(0usize));
        let handed = Rc::new(Cell::new(0usize));
        let max_outstanding = Rc::new(Cell::new(0usize));
        let tasks = durations.iter().copied().enumerate().map(|(i, d)| {
            pulled.set(pulled.get() + 1);
            let outstanding = pulled.get() - handed.get();
            max_outstanding.set(max_outstanding.get().max(outstanding));
            let alive = census.enter();
            async move {
                if d > 0 {
                    tokio::time::sleep(ms(d)).await;
                }
                drop(alive);
                i
            }
        });
        let start = Instant::now();
        let mut outputs = Vec::new();
        let mut take = |i: usize| {
            handed.set(handed.get() + 1);
            outputs.push(i);
        };
        match entry {
            Entry::AsCompleted => {
                let mut s = inflight::as_completed(tasks, limit);
                while let Some(i) = s.next().await {
                    take(i);
                }
            }
            Entry::Ordered => {
                // A reorder buffer as large as the input never stops the pulling, so the
                // schedule is the greedy one; the default cap is checked separately.
                let mut s =
                    inflight::ordered(tasks, limit).reorder_capacity(durations.len().max(1));
                while let Some(i) = s.next().await {
                    take(i);
                }
            }
            Entry::StreamUnordered => {
                let mut s = futures::stream::iter(tasks).in_flight(limit);
                while let Some(i) = s.next().await {
                    take(i);
                }
            }
            Entry::StreamOrdered => {
                let mut s = futures::stream::iter(tasks)
                    .in_flight_ordered(limit)
                    .reorder_capacity(durations.len().max(1));
                while let Some(i) = s.next().await {
                    take(i);
                }
            }
            Entry::Gather => {
                for i in inflight::gather(tasks, limit).await {
                    take(i);
                }
            }
        }
        assert_eq!(census.alive(), 0);
        Observed {
            outputs,
            makespan: start.elapsed().as_millis() as u64,
            peak: census.peak(),
            max_outstanding: max_outstanding.get(),
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_entry_point_keeps_the_invariants(
        entry in entries(),
        durations in prop::collection::vec(0u64..50, 0..80),
        limit in 1usize..12,
    ) {
        let seen = run(entry, &durations, limit);
        // 4. Each output exactly once, in the named order.
        let mut sorted = seen.outputs.clone();
        sorted.sort_unstable();
        prop_assert_eq!(&sorted, &(0..durations.len()).collect::<Vec<_>>());
        if matches!(entry, Entry::Ordered | Entry::StreamOrdered | Entry::Gather) {
            prop_assert_eq!(&seen.outputs, &sorted);
        }
        // 1. Peak in flight is exactly min(limit, n) when tasks take time.
        if durations.iter().all(|&d| d > 0) {
            prop_assert_eq!(seen.peak, limit.min(durations.len()));
        }
        prop_assert!(seen.peak <= limit);
        // 2. Work-conserving: the greedy list schedule in input order, to the millisecond.
        prop_assert_eq!(seen.makespan, greedy_makespan(&durations, limit));
        // 3. Lazy: pulled minus handed back never exceeds the limit (completion order).
        if matches!(entry, Entry::AsCompleted | Entry::StreamUnordered) {
            prop_assert!(seen.max_outstanding <= limit, "{} > {}", seen.max_outstanding, limit);
        }
    }

    /// With the default reorder buffer, input order holds at most `limit` running plus `limit`
    /// finished but waiting: pulled minus handed back never exceeds twice the limit.
    #[test]
    fn ordered_stays_within_limit_plus_buffer(
        durations in prop::collection::vec(1u64..50, 0..80),
        limit in 1usize..12,
        capacity in 1usize..12,
    ) {
        paused_runtime().block_on(async {
            let census = Census::default();
            let pulled = Rc::new(Cell::new(0usize));
            let handed = Rc::new(Cell::new(0usize));
            let worst = Rc::new(Cell::new(0usize));
            let tasks = durations.iter().copied().enumerate().map(|(i, d)| {
                pulled.set(pulled.get() + 1);
                worst.set(worst.get().max(pulled.get() - handed.get()));
                let alive = census.enter();
                async move {
                    tokio::time::sleep(ms(d)).await;
                    drop(alive);
                    i
                }
            });
            let mut s = inflight::ordered(tasks, limit).reorder_capacity(capacity);
            let mut expected = 0;
            while let Some(i) = s.next().await {
                assert_eq!(i, expected);
                expected += 1;
                handed.set(handed.get() + 1);
                assert!(s.buffered_len() <= capacity + limit);
            }
            assert_eq!(expected, durations.len());
            assert!(census.peak() <= limit);
            assert!(worst.get() <= limit + capacity, "{} > {} + {}", worst.get(), limit, capacity);
        });
    }
}

#[test]
fn equal_tasks_take_ceil_n_over_limit_rounds() {
    for (n, limit) in [(100u64, 10usize), (101, 10), (7, 3), (1, 5), (1000, 1000)] {
        let durations = vec![10; n as usize];
        let seen = run(Entry::AsCompleted, &durations, limit);
        assert_eq!(
            seen.makespan,
            n.div_ceil(limit as u64) * 10,
            "n={n} limit={limit}"
        );
    }
}

#[test]
fn an_infinite_iterator_is_pulled_only_as_far_as_needed() {
    futures::executor::block_on(async {
        let pulled = Rc::new(Cell::new(0usize));
        let tasks = (0u64..).map(|i| {
            pulled.set(pulled.get() + 1);
            common::yield_times(1, i)
        });
        let first: Vec<u64> = inflight::as_completed(tasks, 4).take(10).collect().await;
        assert_eq!(first.len(), 10);
        // Ten handed back, at most four more in flight.
        assert!(pulled.get() <= 14, "pulled {}", pulled.get());
    });
}

#[test]
fn an_infinite_stream_works_in_input_order() {
    futures::executor::block_on(async {
        let outputs: Vec<u64> = futures::stream::iter(0u64..)
            .map(|i| common::yield_times((i % 3) as usize, i))
            .in_flight_ordered(5)
            .take(50)
            .collect()
            .await;
        assert_eq!(outputs, (0..50).collect::<Vec<_>>());
    });
}
