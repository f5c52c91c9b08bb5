//! The server with a hidden capacity: `capacity` requests are served at once, `queue` more wait
//! in a FIFO line behind them, and any beyond that are turned away with a 503 at once.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use inflight::Limiter;

use super::rng::Rng;

/// Median service time of a request, when nothing slows the server down.
pub const MEDIAN: Duration = Duration::from_millis(50);
/// Spread of the log of the service time: p99 is about 3.2x the median.
pub const SIGMA: f64 = 0.5;
/// How long a refusal (503) or a failure unrelated to load takes to come back: a round trip.
pub const FAST_REPLY: Duration = Duration::from_millis(5);
/// The mix of fast and slow requests: this share is fast, with this median; the rest slow.
pub const MIX_FAST_SHARE: f64 = 0.7;
pub const MIX_FAST_MEDIAN: Duration = Duration::from_millis(10);
pub const MIX_SLOW_MEDIAN: Duration = Duration::from_millis(250);

/// What the server is like at one time; the scenario changes it as the run goes on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Conditions {
    /// Requests served at once: the hidden capacity.
    pub capacity: usize,
    /// Requests that may wait for a place, in arrival order; beyond that, 503.
    pub queue: usize,
    /// Every service time is multiplied by this (1.0: normal), whatever the load.
    pub slowdown: f64,
    /// This share of requests fails at once (connection reset), whatever the load.
    pub fast_errors: f64,
    /// Fast and slow requests mixed, instead of one log-normal around [`MEDIAN`].
    pub mix: bool,
}

impl Conditions {
    /// A healthy server of `capacity`, with a queue twice as long as its capacity.
    pub fn capacity(capacity: usize) -> Conditions {
        Conditions {
            capacity,
            queue: 2 * capacity,
            slowdown: 1.0,
            fast_errors: 0.0,
            mix: false,
        }
    }

    pub fn slowdown(self, slowdown: f64) -> Conditions {
        Conditions { slowdown, ..self }
    }

    pub fn fast_errors(self, share: f64) -> Conditions {
        Conditions {
            fast_errors: share,
            ..self
        }
    }

    pub fn mixed(self) -> Conditions {
        Conditions { mix: true, ..self }
    }
}

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SimError {
    /// 503: the server's line was full ("too much": a drop).
    Unavailable,
    /// The connection was reset, for reasons of its own (a drop too, as the CLI counts it).
    Reset,
}

/// The server; clones share it.
#[derive(Clone)]
pub struct Server {
    state: Rc<RefCell<State>>,
    /// Places of service: first come, first served, and resizable while held.
    places: Limiter,
}

struct State {
    conditions: Conditions,
    waiting: usize,
    rng: Rng,
}

impl Server {
    pub fn new(conditions: Conditions, seed: u64) -> Server {
        Server {
            state: Rc::new(RefCell::new(State {
                conditions,
                waiting: 0,
                rng: Rng::new(seed),
            })),
            places: Limiter::new(conditions.capacity),
        }
    }

    /// Changes the conditions from now on (requests already served keep their service time).
    pub fn set(&self, conditions: Conditions) {
        self.state.borrow_mut().conditions = conditions;
        self.places.set_limit(conditions.capacity);
    }

    /// One request: its reply after the time it took.
    pub async fn request(&self) -> Result<(), SimError> {
        let fails = {
            let mut state = self.state.borrow_mut();
            let share = state.conditions.fast_errors;
            share > 0.0 && state.rng.uniform() < share
        };
        if fails {
            tokio::time::sleep(FAST_REPLY).await;
            return Err(SimError::Reset);
        }
        let place = match self.places.try_acquire() {
            Some(place) => place,
            None => {
                let full = {
                    let state = self.state.borrow();
                    state.waiting >= state.conditions.queue
                };
                if full {
                    tokio::time::sleep(FAST_REPLY).await;
                    return Err(SimError::Unavailable);
                }
                let _waiting = Waiting::enter(&self.state);
                self.places.acquire().await
            }
        };
        // Drawn when service starts, so a slowdown applies to what is served from then on.
        let service = self.state.borrow_mut().service_time();
        tokio::time::sleep(service).await;
        drop(place);
        Ok(())
    }
}

impl State {
    fn service_time(&mut self) -> Duration {
        let c = self.conditions;
        let median = if !c.mix {
            MEDIAN
        } else if self.rng.uniform() < MIX_FAST_SHARE {
            MIX_FAST_MEDIAN
        } else {
            MIX_SLOW_MEDIAN
        };
        let seconds = self.rng.log_normal(median.as_secs_f64(), SIGMA) * c.slowdown;
        Duration::from_secs_f64(seconds)
    }
}

/// Counts a request in the line while it waits (and out if it is cancelled there).
struct Waiting(Rc<RefCell<State>>);

impl Waiting {
    fn enter(state: &Rc<RefCell<State>>) -> Waiting {
        state.borrow_mut().waiting += 1;
        Waiting(state.clone())
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        self.0.borrow_mut().waiting -= 1;
    }
}
