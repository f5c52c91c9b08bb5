//! [`ErrorPolicy`]: what a run does when inputs fail.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// What a run does when inputs fail. Whatever the policy, every outcome handed back says which
/// input it came from.
///
/// ```
/// let policy = inflight::ErrorPolicy::HaltAfter(3);
/// assert_ne!(policy, inflight::ErrorPolicy::Collect);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum ErrorPolicy {
    /// Hand back every outcome and go on (the default).
    #[default]
    Collect,
    /// Stop at the first failure: pull no more input, cancel the tasks in flight, and end the
    /// stream with the failed outcome (in input order: once the outcomes before it are out).
    FailFast,
    /// Like `FailFast`, at the n-th failure (GNU parallel's `--halt now,fail=n`).
    HaltAfter(u64),
    /// Like `FailFast`, once failures reach `percent` of finished inputs, counted only after
    /// `min_done` have finished (GNU parallel's `--halt now,fail=X%`).
    HaltAtPercent {
        /// The share of failures, 0 to 100, that stops the run.
        percent: f64,
        /// How many inputs must have finished before the share is judged.
        min_done: u64,
    },
}

/// The counts behind an error policy, shared by the tasks of one run.
#[derive(Debug)]
pub(crate) struct Halt {
    policy: ErrorPolicy,
    done: AtomicU64,
    failed: AtomicU64,
    /// Set once the run must stop: the gate pulls nothing more.
    pub(crate) stop: Arc<AtomicBool>,
    /// The index of the outcome that stopped the run, plus one (0: none yet).
    trigger: AtomicU64,
}

impl Halt {
    pub(crate) fn new(policy: ErrorPolicy) -> Halt {
        Halt {
            policy,
            done: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            stop: Arc::new(AtomicBool::new(false)),
            trigger: AtomicU64::new(0),
        }
    }

    /// Counts a finished input; true if it is the one that stops the run.
    pub(crate) fn record(&self, index: u64, ok: bool) -> bool {
        let done = self.done.fetch_add(1, Ordering::AcqRel) + 1;
        if ok {
            return false;
        }
        let failed = self.failed.fetch_add(1, Ordering::AcqRel) + 1;
        let halts = match self.policy {
            ErrorPolicy::Collect => false,
            ErrorPolicy::FailFast => true,
            ErrorPolicy::HaltAfter(n) => failed >= n.max(1),
            ErrorPolicy::HaltAtPercent { percent, min_done } => {
                done >= min_done.max(1) && failed as f64 * 100.0 >= percent * done as f64
            }
        };
        if halts && !self.stop.swap(true, Ordering::AcqRel) {
            self.trigger.store(index + 1, Ordering::Release);
            return true;
        }
        false
    }

    /// The index of the outcome that stopped the run, if it has stopped.
    pub(crate) fn trigger(&self) -> Option<u64> {
        self.trigger.load(Ordering::Acquire).checked_sub(1)
    }
}
