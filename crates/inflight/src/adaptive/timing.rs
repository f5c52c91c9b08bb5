//! How the core streams feed an adaptive limit: the start time of each slot's task, and the
//! controller its end is reported to.
//!
//! Which timer a stream has is decided by its type, not at run time: a stream made with a
//! plain number has [`Untimed`], whose calls compile to nothing, so a fixed limit costs
//! exactly what it cost before adaptive limits existed (a run-time check cost 7 instructions
//! per task of 174, callgrind, BENCHMARKS.md). A stream made with a `Limit` has an optional
//! [`Timing`], present while its limit adapts.

use tokio::time::Instant;

use super::{Controller, Reply};

/// The timing a stream's slots keep for its limit.
pub trait Timer {
    /// The timer for a limit (checked) that `controller` moves, or that is fixed if `None`:
    /// what `Limit::start` gives, passed in so that this file needs nothing of `Limit`.
    fn start(controller: Option<Controller>) -> Self
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
    fn start(controller: Option<Controller>) -> Untimed {
        assert!(
            controller.is_none(),
            "a stream made with a number only ever gets numbers"
        );
        Untimed
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
    fn start(controller: Option<Controller>) -> Self {
        controller.map(|controller| {
            Box::new(Timing {
                controller,
                started: Vec::new(),
            })
        })
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
