//! [`ErrorPolicy`]: what a run does when inputs fail.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// What a run does when inputs fail (or, with GNU parallel's `success=` and `done=` rules,
/// succeed or finish). Whatever the policy, every outcome handed back says which input it came
/// from; how a halted run ends is its [`HaltMode`].
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
    /// [`HaltMode::Soon`] lets the tasks in flight finish instead.
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
    /// Halts once `n` inputs of the kind `counted` have finished: GNU parallel's
    /// `--halt now,success=n` and `done=n` (with [`Counted::Failed`], the same as `HaltAfter`).
    ///
    /// ```
    /// use inflight::{Counted, ErrorPolicy};
    /// let first_success_wins = ErrorPolicy::HaltAfterCount { counted: Counted::Succeeded, n: 1 };
    /// # drop(first_success_wins);
    /// ```
    HaltAfterCount {
        /// Which finished inputs count.
        counted: Counted,
        /// How many of them stop the run.
        n: u64,
    },
    /// Halts once inputs of the kind `counted` reach `percent` of finished inputs, judged only
    /// after `min_done` have finished: GNU parallel's `--halt now,success=X%` (with
    /// [`Counted::Failed`], the same as `HaltAtPercent`).
    ///
    /// ```
    /// use inflight::{Counted, ErrorPolicy};
    /// let mostly_fine = ErrorPolicy::HaltAtShare { counted: Counted::Succeeded, percent: 90.0, min_done: 10 };
    /// # drop(mostly_fine);
    /// ```
    HaltAtShare {
        /// Which finished inputs count.
        counted: Counted,
        /// Their share, 0 to 100, of the finished inputs that stops the run.
        percent: f64,
        /// How many inputs must have finished before the share is judged.
        min_done: u64,
    },
}

/// Which finished inputs a halting [`ErrorPolicy`] counts.
///
/// ```
/// assert_ne!(inflight::Counted::Failed, inflight::Counted::Done);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// Inputs that failed.
    Failed,
    /// Inputs that succeeded.
    Succeeded,
    /// Every finished input.
    Done,
}

/// How a run ends once its [`ErrorPolicy`] halts it (GNU parallel's `--halt now` and
/// `--halt soon`). Either way, no more input is pulled and no new attempt (retry) is made.
///
/// ```
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// use std::time::Duration;
/// use inflight::{ErrorPolicy, HaltMode, Inflight};
/// let outcomes = Inflight::new(2)
///     .errors(ErrorPolicy::FailFast)
///     .halt_mode(HaltMode::Soon)
///     .gather(0..10, |&i| async move {
///         tokio::time::sleep(Duration::from_secs(if i == 0 { 1 } else { 2 })).await;
///         if i == 0 { Err("bad") } else { Ok(i) }
///     })
///     .await;
/// // Input 0 failed; input 1 was running, so it finished and was handed back too.
/// assert_eq!(outcomes.len(), 2);
/// assert_eq!(outcomes[1].result, Ok(1));
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HaltMode {
    /// Cancel the tasks in flight and end the stream with the outcome that halted the run (in
    /// input order: once the outcomes before it are out). The default.
    #[default]
    Now,
    /// Let the tasks in flight finish and hand back their outcomes, then end the stream.
    Soon,
}

/// The counts behind an error policy, shared by the tasks of one run.
#[derive(Debug)]
pub(crate) struct Halt {
    policy: ErrorPolicy,
    pub(crate) mode: HaltMode,
    done: AtomicU64,
    failed: AtomicU64,
    /// Set once the run must stop: the gate pulls nothing more.
    pub(crate) stop: Arc<AtomicBool>,
    /// The index of the outcome that stopped the run, plus one (0: none yet).
    trigger: AtomicU64,
}

impl Halt {
    pub(crate) fn new(policy: ErrorPolicy, mode: HaltMode) -> Halt {
        Halt {
            policy,
            mode,
            done: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            stop: Arc::new(AtomicBool::new(false)),
            trigger: AtomicU64::new(0),
        }
    }

    /// Counts a finished input; true if it is the one that stops the run.
    pub(crate) fn record(&self, index: u64, ok: bool) -> bool {
        if self.policy == ErrorPolicy::Collect {
            return false; // Nothing to decide, so nothing to count.
        }
        // The done count goes up after the failed count, so that done >= failed in any read.
        let failed = if ok {
            self.failed.load(Ordering::Acquire)
        } else {
            self.failed.fetch_add(1, Ordering::AcqRel) + 1
        };
        let done = self.done.fetch_add(1, Ordering::AcqRel) + 1;
        let count = |counted: Counted| match counted {
            Counted::Failed => failed,
            Counted::Succeeded => done.saturating_sub(failed),
            Counted::Done => done,
        };
        let share = |counted: Counted, percent: f64, min_done: u64| {
            done >= min_done.max(1) && count(counted) as f64 * 100.0 >= percent * done as f64
        };
        // Only an outcome of the counted kind can cross the threshold.
        let counts = |counted: Counted| match counted {
            Counted::Failed => !ok,
            Counted::Succeeded => ok,
            Counted::Done => true,
        };
        let halts = match self.policy {
            ErrorPolicy::Collect => false,
            ErrorPolicy::FailFast => !ok,
            ErrorPolicy::HaltAfter(n) => !ok && failed >= n.max(1),
            ErrorPolicy::HaltAtPercent { percent, min_done } => {
                !ok && share(Counted::Failed, percent, min_done)
            }
            ErrorPolicy::HaltAfterCount { counted, n } => {
                counts(counted) && count(counted) >= n.max(1)
            }
            ErrorPolicy::HaltAtShare {
                counted,
                percent,
                min_done,
            } => share(counted, percent, min_done),
        };
        if halts && !self.stop.swap(true, Ordering::AcqRel) {
            self.trigger.store(index + 1, Ordering::Release);
            return true;
        }
        false
    }

    /// Whether the run has halted (or is halting).
    pub(crate) fn stopped(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// The index of the outcome that stopped the run, if it has stopped.
    pub(crate) fn trigger(&self) -> Option<u64> {
        self.trigger.load(Ordering::Acquire).checked_sub(1)
    }
}
