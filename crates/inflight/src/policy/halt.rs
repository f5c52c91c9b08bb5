//! [`ErrorPolicy`]: what a run does when inputs fail.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// What a run does when inputs fail (or, with GNU parallel's `success=` and `done=` rules,
/// succeed or finish). Whatever the policy, every outcome handed back says which input it came
/// from; how a halted run ends is its [`HaltMode`].
///
/// Three variants, one per kind of rule, and constructors for the common cases:
///
/// | you want | write | GNU parallel |
/// | --- | --- | --- |
/// | every outcome | `ErrorPolicy::Collect` (the default) | `--halt never` |
/// | stop at the first failure | [`ErrorPolicy::fail_fast()`] | `--halt now,fail=1` |
/// | stop at the n-th failure | [`ErrorPolicy::halt_after_failures(n)`](ErrorPolicy::halt_after_failures) | `--halt now,fail=n` |
/// | stop when failures reach a share | [`ErrorPolicy::halt_at_failure_percent(p, min_done)`](ErrorPolicy::halt_at_failure_percent) | `--halt now,fail=p%` |
/// | stop after n successes (or n done) | `ErrorPolicy::HaltAfter { counted: Counted::Succeeded, n }` | `--halt now,success=n` |
///
/// ```
/// use inflight::{Counted, ErrorPolicy};
/// assert_eq!(ErrorPolicy::fail_fast(), ErrorPolicy::HaltAfter { counted: Counted::Failed, n: 1 });
/// assert_ne!(ErrorPolicy::fail_fast(), ErrorPolicy::Collect);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[non_exhaustive]
pub enum ErrorPolicy {
    /// Hand back every outcome and go on (the default).
    #[default]
    Collect,
    /// Halt once `n` finished inputs of the kind `counted` have been seen: pull no more input,
    /// make no more attempts, and end the stream with the outcome that crossed the line (in
    /// input order: once the outcomes before it are out). An `n` of 0 counts as 1.
    HaltAfter {
        /// Which finished inputs count.
        counted: Counted,
        /// How many of them halt the run.
        n: u64,
    },
    /// Halt once inputs of the kind `counted` reach `percent` of the finished inputs, judged
    /// only after `min_done` have finished (at least 1). It takes at least one input of that
    /// kind: a `percent` of 0 halts at the first one.
    HaltAtShare {
        /// Which finished inputs count.
        counted: Counted,
        /// Their share, 0 to 100, of the finished inputs that halts the run.
        percent: f64,
        /// How many inputs must have finished before the share is judged.
        min_done: u64,
    },
}

impl ErrorPolicy {
    /// Halt at the first failure.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let outcomes = inflight::Inflight::new(1)
    ///     .errors(inflight::ErrorPolicy::fail_fast())
    ///     .gather(0..10, |&i| async move { if i == 2 { Err("bad") } else { Ok(i) } })
    ///     .await;
    /// assert_eq!(outcomes.len(), 3); // 0, 1 and the failure; nothing after it ran
    /// # }
    /// ```
    pub fn fail_fast() -> ErrorPolicy {
        ErrorPolicy::halt_after_failures(1)
    }

    /// Halt at the `n`-th failure.
    ///
    /// ```
    /// let policy = inflight::ErrorPolicy::halt_after_failures(3);
    /// # drop(policy);
    /// ```
    pub fn halt_after_failures(n: u64) -> ErrorPolicy {
        ErrorPolicy::HaltAfter {
            counted: Counted::Failed,
            n,
        }
    }

    /// Halt once failures reach `percent` of the finished inputs, judged after `min_done` have
    /// finished. A share is reached only by at least one failure: `0.0` means "at the first
    /// failure once `min_done` inputs have finished" (a run without failures never halts),
    /// and `100.0` "when every finished input failed".
    ///
    /// # Panics
    ///
    /// `halt_at_failure_percent` panics if `percent` is not within 0 to 100 (or is NaN),
    /// naming the value: it could never be reached.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// use inflight::{ErrorPolicy, Inflight};
    /// let policy = ErrorPolicy::halt_at_failure_percent(0.0, 3);
    /// // No failure: nothing halts.
    /// let all = Inflight::new(1).errors(policy).gather(0..10, |&i| async move { Ok::<_, ()>(i) });
    /// assert_eq!(all.await.len(), 10);
    /// // The first failure, once 3 have finished, halts the run.
    /// let run = Inflight::new(1).errors(policy);
    /// let some = run.gather(0..10, |&i| async move { if i == 4 { Err(i) } else { Ok(i) } });
    /// assert_eq!(some.await.len(), 5);
    /// # }
    /// ```
    #[track_caller]
    pub fn halt_at_failure_percent(percent: f64, min_done: u64) -> ErrorPolicy {
        assert!(
            (0.0..=100.0).contains(&percent),
            "halt_at_failure_percent: percent must be within 0 and 100, got {percent}"
        );
        ErrorPolicy::HaltAtShare {
            counted: Counted::Failed,
            percent,
            min_done,
        }
    }
}

/// Which finished inputs a halting [`ErrorPolicy`] counts.
///
/// ```
/// assert_ne!(inflight::Counted::Failed, inflight::Counted::Done);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
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
///     .errors(ErrorPolicy::fail_fast())
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
#[non_exhaustive]
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
    /// Whether shared limits apply (one that cannot be had stops the run).
    pub(crate) shared_limits: bool,
    /// Wakes the tasks waiting out a retry's backoff (or the rate before a retry) when the run
    /// stops: they make no new attempt, so they end at once.
    stopped: tokio::sync::Notify,
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
            shared_limits: false,
            stopped: tokio::sync::Notify::new(),
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
        // A share of none is never reached, so 0 % halts at the first counted input (once
        // `min_done` have finished), not at the first input of any kind.
        let share = |counted: Counted, percent: f64, min_done: u64| {
            let counted = count(counted);
            done >= min_done.max(1)
                && counted > 0
                && counted as f64 * 100.0 >= percent * done as f64
        };
        // Only an outcome of the counted kind can cross the threshold.
        let counts = |counted: Counted| match counted {
            Counted::Failed => !ok,
            Counted::Succeeded => ok,
            Counted::Done => true,
        };
        let halts = match self.policy {
            ErrorPolicy::Collect => false,
            ErrorPolicy::HaltAfter { counted, n } => counts(counted) && count(counted) >= n.max(1),
            ErrorPolicy::HaltAtShare {
                counted,
                percent,
                min_done,
            } => share(counted, percent, min_done),
        };
        if halts && !self.stop.swap(true, Ordering::AcqRel) {
            self.trigger.store(index + 1, Ordering::Release);
            self.stopped.notify_waiters();
            return true;
        }
        false
    }

    /// Stops the run without an outcome to blame: nothing more is pulled or started, and what
    /// runs finishes (a shared limit that cannot be had).
    pub(crate) fn stop_soon(&self) {
        self.stop.store(true, Ordering::Release);
        self.stopped.notify_waiters();
    }

    /// Runs `wait` unless the run stops first; false if it stopped (now or before).
    pub(crate) async fn unless_stopped(&self, wait: impl std::future::Future<Output = ()>) -> bool {
        let stopped = self.stopped.notified();
        let mut stopped = std::pin::pin!(stopped);
        // Registered before the check, so a stop in between is not missed.
        stopped.as_mut().enable();
        if self.stopped() {
            return false;
        }
        let mut wait = std::pin::pin!(wait);
        std::future::poll_fn(|cx| {
            if std::future::Future::poll(stopped.as_mut(), cx).is_ready() {
                return std::task::Poll::Ready(false);
            }
            wait.as_mut().poll(cx).map(|()| true)
        })
        .await
            && !self.stopped()
    }

    /// Whether the run may stop before its input runs out.
    pub(crate) fn may_stop(&self) -> bool {
        self.policy != ErrorPolicy::Collect || self.shared_limits
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
