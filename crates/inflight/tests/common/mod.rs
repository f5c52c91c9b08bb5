//! Helpers shared by the integration tests: probes that count what is alive and what was polled.
#![allow(dead_code)]

use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

/// Counts live tasks and the most that were ever alive at once (single-threaded).
#[derive(Clone, Default)]
pub struct Census {
    alive: Rc<Cell<usize>>,
    peak: Rc<Cell<usize>>,
    made: Rc<Cell<usize>>,
}

impl Census {
    /// A guard to hold inside a task: counted alive from now until it is dropped.
    pub fn enter(&self) -> Alive {
        self.alive.set(self.alive.get() + 1);
        self.made.set(self.made.get() + 1);
        self.peak.set(self.peak.get().max(self.alive.get()));
        Alive(self.alive.clone())
    }
    pub fn alive(&self) -> usize {
        self.alive.get()
    }
    pub fn peak(&self) -> usize {
        self.peak.get()
    }
    pub fn made(&self) -> usize {
        self.made.get()
    }
}

/// Held by a live task; dropping it (the task finished or was cancelled) counts it out.
pub struct Alive(Rc<Cell<usize>>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.set(self.0.get() - 1);
    }
}

/// The same census for tasks that move between threads.
#[derive(Clone, Default)]
pub struct SyncCensus {
    alive: Arc<AtomicUsize>,
}

impl SyncCensus {
    pub fn enter(&self) -> SyncAlive {
        self.alive.fetch_add(1, Ordering::SeqCst);
        SyncAlive(self.alive.clone())
    }
    pub fn alive(&self) -> usize {
        self.alive.load(Ordering::SeqCst)
    }
}

pub struct SyncAlive(Arc<AtomicUsize>);

impl Drop for SyncAlive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A future that returns `Pending` `times` times, waking itself each time, then `value`.
pub struct YieldTimes<T> {
    pub times: usize,
    pub value: Option<T>,
    pub polls: Option<Rc<Cell<usize>>>,
}

pub fn yield_times<T>(times: usize, value: T) -> YieldTimes<T> {
    YieldTimes {
        times,
        value: Some(value),
        polls: None,
    }
}

impl<T: Unpin> Future for YieldTimes<T> {
    type Output = T;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        if let Some(polls) = &self.polls {
            polls.set(polls.get() + 1);
        }
        if self.times == 0 {
            return Poll::Ready(self.value.take().expect("polled after completion"));
        }
        self.times -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// The makespan of greedy list scheduling in input order on `limit` machines: each task starts
/// at the earliest time a slot frees. A work-conserving limiter reaches exactly this.
pub fn greedy_makespan(durations: &[u64], limit: usize) -> u64 {
    let mut free_at = vec![0u64; limit.min(durations.len()).max(1)];
    let mut makespan = 0;
    for &d in durations {
        let (slot, start) = free_at
            .iter()
            .copied()
            .enumerate()
            .min_by_key(|&(i, t)| (t, i))
            .expect("at least one slot");
        free_at[slot] = start + d;
        makespan = makespan.max(start + d);
    }
    makespan
}

/// Builds a current-thread runtime with a paused clock, for one proptest case.
pub fn paused_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime")
}

pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// Runs a test's body under a deadline, so a lost wake-up fails the test instead of hanging
/// it. On a paused clock the deadline is virtual (it fires as soon as nothing else can happen,
/// which is what a lost wake-up looks like); on a real clock it is a minute.
pub async fn deadline<F: std::future::Future>(body: F) -> F::Output {
    let limit = if paused() {
        Duration::from_secs(24 * 3600)
    } else {
        Duration::from_secs(60)
    };
    tokio::time::timeout(limit, body)
        .await
        .expect("the test stopped making progress: a lost wake-up?")
}

/// Whether the runtime's clock is paused (it does not move while this thread sleeps).
fn paused() -> bool {
    let before = tokio::time::Instant::now();
    std::thread::sleep(Duration::from_millis(2));
    before.elapsed() < Duration::from_millis(1)
}
