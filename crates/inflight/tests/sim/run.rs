//! Runs a scenario against the server, under a policy for the limit, on tokio's paused clock.

use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

use futures::StreamExt;
use inflight::{Failure, Inflight, Limit, RunHandle};
use tokio::time::Instant;

use super::scenario::Scenario;
use super::server::{Server, SimError};
use super::trace::Trace;

/// One reply, as a controller outside the library sees it.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub now: Instant,
    pub latency: Duration,
    /// In flight when the reply came (itself no longer counted).
    pub in_flight: usize,
    /// A 503 or a reset: "too much".
    pub dropped: bool,
}

/// A limit algorithm written outside the library, driving a fixed limit through the handle.
pub trait Controller {
    fn initial(&self) -> usize;
    /// Takes one reply; returns the limit to use from now on.
    fn sample(&mut self, sample: Sample) -> usize;
}

/// Who sets the limit.
pub enum Policy {
    /// A fixed limit at this multiple of the capacity of each segment: 1.0 is the oracle, which
    /// knows the hidden capacity (and is told at once when it changes).
    Fixed(f64),
    /// A controller outside the library, told of each reply by the consumer.
    External(Box<dyn Controller>),
    /// The library's own limit, under `Inflight` with `drop_if` (503s and resets are drops).
    Library(Limit),
    /// The library's own limit on `inflight::as_completed`, which sees latency only.
    Stream(Limit),
}

/// The failures that mean "too much".
pub fn is_drop(failure: &Failure<SimError>) -> bool {
    matches!(failure, Failure::Error(_))
}

/// Runs `scenario` under `policy` on a fresh paused-clock runtime.
pub fn simulate(scenario: &Scenario, policy: Policy, seed: u64) -> Trace {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("runtime")
        .block_on(async {
            match policy {
                Policy::Stream(limit) => run_stream(scenario, limit, seed).await,
                policy => run_builder(scenario, policy, seed).await,
            }
        })
}

fn fixed_limit(factor: f64, capacity: usize) -> usize {
    ((factor * capacity as f64).round() as usize).max(1)
}

/// Plays the scenario's conditions on the server (and, for a fixed policy, sets the limit to
/// the new capacity through `handle`); says when it is over.
async fn script(
    scenario: &Scenario,
    server: Server,
    fixed: Option<(f64, RunHandle)>,
    over: Rc<Cell<bool>>,
) {
    let start = Instant::now();
    for (at, segment) in scenario.timed() {
        tokio::time::sleep_until(start + at).await;
        server.set(segment.conditions);
        if let Some((factor, handle)) = &fixed {
            handle.set_limit(fixed_limit(*factor, segment.conditions.capacity));
        }
    }
    tokio::time::sleep_until(start + scenario.duration()).await;
    over.set(true);
}

async fn run_builder(scenario: &Scenario, mut policy: Policy, seed: u64) -> Trace {
    let first = scenario.segments[0].conditions;
    let server = Server::new(first, seed);
    let limit = match &policy {
        Policy::Fixed(factor) => Limit::fixed(fixed_limit(*factor, first.capacity)),
        Policy::External(controller) => Limit::fixed(controller.initial()),
        Policy::Library(limit) => *limit,
        Policy::Stream(_) => unreachable!("run_stream"),
    };
    let builder = Inflight::new(limit).drop_if(is_drop);
    let handle = builder.handle();
    let start = Instant::now();
    let over = Rc::new(Cell::new(false));
    let fixed = match &policy {
        Policy::Fixed(factor) => Some((*factor, handle.clone())),
        _ => None,
    };
    let script = script(scenario, server.clone(), fixed, over.clone());
    let consumer = async {
        let mut trace = Trace::default();
        let mut outcomes = builder.as_completed(0u64.., |_| {
            let server = server.clone();
            async move { server.request().await }
        });
        while let Some(outcome) = outcomes.next().await {
            if over.get() {
                break;
            }
            let now = Instant::now();
            let dropped = outcome.result.as_ref().err().is_some_and(is_drop);
            if let Policy::External(controller) = &mut policy {
                let limit = controller.sample(Sample {
                    now,
                    latency: outcome.elapsed,
                    in_flight: handle.in_flight(),
                    dropped,
                });
                if limit != handle.limit() {
                    handle.set_limit(limit);
                }
            }
            trace.record(
                now - start,
                outcome.elapsed,
                outcome.is_ok(),
                handle.limit(),
                handle.in_flight(),
            );
        }
        trace
    };
    let ((), trace) = tokio::join!(script, consumer);
    trace
}

async fn run_stream(scenario: &Scenario, limit: Limit, seed: u64) -> Trace {
    let server = Server::new(scenario.segments[0].conditions, seed);
    let start = Instant::now();
    let over = Rc::new(Cell::new(false));
    let script = script(scenario, server.clone(), None, over.clone());
    let consumer = async {
        let mut trace = Trace::default();
        let requests = (0u64..).map(|_| {
            let server = server.clone();
            async move {
                let began = Instant::now();
                let result = server.request().await;
                (began.elapsed(), result)
            }
        });
        let mut replies = inflight::as_completed(requests, limit);
        while let Some((latency, result)) = replies.next().await {
            if over.get() {
                break;
            }
            let (limit, running) = (replies.limit(), replies.running());
            trace.record(
                Instant::now() - start,
                latency,
                result.is_ok(),
                limit,
                running,
            );
        }
        trace
    };
    let ((), trace) = tokio::join!(script, consumer);
    trace
}
