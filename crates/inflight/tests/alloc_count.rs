//! A run makes no allocation per task: the allocations of 10^5 tasks equal those of 10^3.
//!
//! A counting global allocator (in this test binary only) counts the allocations made on the
//! current thread, so tests running in parallel on other threads do not disturb the count. The
//! executor is `futures::executor::block_on`, which itself does not allocate per poll.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::Future;

use futures::StreamExt;
use inflight::InflightExt;

#[path = "../benches/common/yield_once.rs"]
mod yield_once;
use yield_once::YieldOnce;

struct Counting;

thread_local! {
    // `const` and `Cell<u64>` (no destructor): touching it never allocates, which matters
    // inside the allocator itself.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded to the system allocator unchanged; counting has no effect on
// the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

fn count() {
    // `try_with`: during thread teardown the slot may be gone; such allocations are not ours.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const LIMIT: usize = 100;
const SMALL: u64 = 1_000;
const LARGE: u64 = 100_000;

/// Allocations (including reallocations) made on this thread while `run(n)` runs, with the sum
/// it returned checked.
fn allocations<Fut: Future<Output = u64>>(n: u64, run: impl FnOnce(u64) -> Fut) -> u64 {
    let before = ALLOCATIONS.with(Cell::get);
    let sum = futures::executor::block_on(run(n));
    let after = ALLOCATIONS.with(Cell::get);
    assert_eq!(sum, n * (n - 1) / 2, "every task ran once");
    after - before
}

async fn sum<S: futures::Stream<Item = u64> + Unpin>(mut outputs: S) -> u64 {
    let mut sum = 0;
    while let Some(output) = outputs.next().await {
        sum += output;
    }
    sum
}

/// Asserts the allocations of a run do not depend on its number of tasks, and are few.
fn assert_flat<Fut: Future<Output = u64>>(what: &str, run: impl Fn(u64) -> Fut) {
    // The first run on a thread pays one-time set-up (the executor's thread-local parker):
    // warm up, then compare.
    allocations(SMALL, &run);
    let small = allocations(SMALL, &run);
    let large = allocations(LARGE, &run);
    assert_eq!(
        small, large,
        "{what}: {SMALL} tasks made {small} allocations, {LARGE} tasks made {large}"
    );
    // Set-up only: the slots (one box and one waker each, at most LIMIT of them), the queue
    // and a few growing vectors.
    assert!(
        large <= 3 * LIMIT as u64 + 64,
        "{what}: {large} allocations"
    );
}

#[test]
fn as_completed_ready() {
    assert_flat("as_completed, ready", |n| {
        sum(inflight::as_completed(
            (0..n).map(|i| async move { i }),
            LIMIT,
        ))
    });
}

#[test]
fn as_completed_yield_once() {
    assert_flat("as_completed, yield once", |n| {
        sum(inflight::as_completed((0..n).map(YieldOnce::new), LIMIT))
    });
}

#[test]
fn ordered_ready() {
    assert_flat("ordered, ready", |n| {
        sum(inflight::ordered((0..n).map(|i| async move { i }), LIMIT))
    });
}

#[test]
fn ordered_yield_once() {
    assert_flat("ordered, yield once", |n| {
        sum(inflight::ordered((0..n).map(YieldOnce::new), LIMIT))
    });
}

#[test]
fn in_flight_on_a_stream_yield_once() {
    assert_flat("in_flight, yield once", |n| {
        sum(futures::stream::iter((0..n).map(YieldOnce::new)).in_flight(LIMIT))
    });
    assert_flat("in_flight_ordered, yield once", |n| {
        sum(futures::stream::iter((0..n).map(YieldOnce::new)).in_flight_ordered(LIMIT))
    });
}
