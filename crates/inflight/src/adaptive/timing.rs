//! How the core streams feed an adaptive limit: the start time of each slot's task, and the
//! controller its end is reported to.
//!
//! Which timer a stream has is decided by its type, not at run time: a stream made with a
//! plain number has [`Untimed`], whose calls compile to nothing, so a fixed limit costs
//! exactly what it cost before adaptive limits existed (a run-time check cost 7 instructions
//! per task of 174, callgrind, BENCHMARKS.md). A stream made with a [`Limit`] has an optional
//! [`Timing`], present while its limit adapts.

use tokio::time::Instant;

use super::{Controller, Reply};
use crate::limit::Limit;

/// The timing a stream's slots keep for its limit.
pub trait Timer {
    /// The timer for `limit` (checked), and the limit to start at; `current` is the limit it
    /// replaces at run time, if any.
    fn start(limit: Limit, current: Option<usize>) -> (usize, Self)
    where
        Self: Sized;
    /// The task in slot `index` starts now.
    fn started(&mut self, index: usize);
    /// The task in slot `index` ended now, with `in_flight` running (itself included): the
    /// new limit, if it changed.
    fn finished(&mut self, index: usize, in_flight: usize) -> Option<usize>;
}

/// No timing: the limit is a number, changed only by `set_limit`.
#[derive(Debug, Default)]
pub struct Untimed;

impl Timer for Untimed {
    fn start(limit: Limit, _current: Option<usize>) -> (usize, Untimed) {
        let limit = limit
            .as_fixed()
            .expect("a stream made with a number only ever gets numbers");
        (limit, Untimed)
    }

    #[inline(always)]
    fn started(&mut self, _index: usize) {}

    #[inline(always)]
    fn finished(&mut self, _index: usize, _in_flight: usize) -> Option<usize> {
        None
    }
}

/// The start times of the tasks in the slots, by slot index, and their controller.
#[derive(Debug)]
pub struct Timing {
    controller: Controller,
    /// `None` for a slot whose task started before this timing did (the limit was made
    /// adaptive while it ran): its latency is unknown, and it is not counted.
    started: Vec<Option<Instant>>,
}

/// Timing while the limit adapts, none while it is fixed.
impl Timer for Option<Box<Timing>> {
    fn start(limit: Limit, current: Option<usize>) -> (usize, Self) {
        let (limit, controller) = limit.start(current);
        let timing = controller.map(|controller| {
            Box::new(Timing {
                controller,
                started: Vec::new(),
            })
        });
        (limit, timing)
    }

    fn started(&mut self, index: usize) {
        if let Some(timing) = self {
            if index >= timing.started.len() {
                timing.started.resize(index + 1, None);
            }
            timing.started[index] = Some(Instant::now());
        }
    }

    /// The core streams know no outcome, so nothing is a drop.
    fn finished(&mut self, index: usize, in_flight: usize) -> Option<usize> {
        let timing = self.as_mut()?;
        let started = timing.started.get_mut(index)?.take()?;
        let now = Instant::now();
        timing.controller.record(Reply {
            now,
            latency: now - started,
            in_flight,
            dropped: false,
        })
    }
}
