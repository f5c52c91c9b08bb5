//! Counts of the run, shared by the jobs and the output loop, and the exit status they imply.
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering::Relaxed};

/// Live counts, updated as jobs start and finish.
#[derive(Default)]
pub struct Tally {
    /// Jobs whose first attempt began.
    pub started: AtomicU64,
    pub ok: AtomicU64,
    pub failed: AtomicU64,
    /// Inputs skipped by `--resume`.
    pub skipped: AtomicU64,
    /// The signal that stopped the run (SIGINT, SIGTERM, SIGHUP, SIGQUIT), or 0.
    pub signal: AtomicI32,
    /// Set when stdout was a closed pipe: nobody reads the output any more.
    pub broken_pipe: AtomicBool,
    /// Set when input, log or output failed: the run cannot vouch for its results.
    pub fatal: AtomicBool,
    /// Set when `--halt ...,success=N` stopped the run: it reached what it was after, and
    /// exits 0 whatever failed before (GNU parallel's rule).
    pub halted_on_success: AtomicBool,
}

/// Exit status for bad arguments and for an input, log or output directory that cannot be
/// read or written (GNU parallel's 255): no count of failures (at most 101) nor signal status
/// (128 + N) can be mistaken for it.
pub const EXIT_USAGE: i32 = 255;
/// Exit status when stdout is a closed pipe: 128 + SIGPIPE, what the shell reports for a
/// program killed by SIGPIPE (GNU parallel's status too), so `set -o pipefail` sees it.
pub const EXIT_BROKEN_PIPE: i32 = 141;
/// Up to this many failures, the exit status is their number; past it, one more than it says
/// "more than 100" (GNU parallel's 101), so it never collides with shell meanings.
const MAX_FAILURE_STATUS: u64 = 100;

impl Tally {
    /// Jobs started and not finished.
    pub fn running(&self) -> u64 {
        let done = self.ok.load(Relaxed) + self.failed.load(Relaxed);
        self.started.load(Relaxed).saturating_sub(done)
    }

    /// 0 if all succeeded (or a `success=` halt rule was met); the number of failures up to
    /// 100, 101 for more; 128 + N after signal N (130 Ctrl-C, 129 SIGHUP, 131 SIGQUIT, 143
    /// SIGTERM); 141 when stdout was a closed pipe; 255 after a fatal input, log or output
    /// error.
    pub fn exit_status(&self) -> i32 {
        if self.fatal.load(Relaxed) {
            return EXIT_USAGE;
        }
        let signal = self.signal.load(Relaxed);
        if signal != 0 {
            return 128 + signal;
        }
        if self.broken_pipe.load(Relaxed) {
            return EXIT_BROKEN_PIPE;
        }
        if self.halted_on_success.load(Relaxed) {
            return 0;
        }
        self.failed.load(Relaxed).min(MAX_FAILURE_STATUS + 1) as i32
    }

    /// The closing line, e.g. `inflight: 3000 jobs, 3000 ok, 0 failed in 1.52s`.
    pub fn summary(&self, secs: f64, killed: u64) -> String {
        let ok = self.ok.load(Relaxed);
        let failed = self.failed.load(Relaxed);
        let mut line = format!(
            "inflight: {} jobs, {ok} ok, {failed} failed in {secs:.2}s",
            ok + failed
        );
        let skipped = self.skipped.load(Relaxed);
        if skipped > 0 {
            line += &format!(", {skipped} skipped (done in an earlier run)");
        }
        if killed > 0 {
            line += &format!(", {killed} killed");
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_status_rules() {
        let t = Tally::default();
        assert_eq!(t.exit_status(), 0);
        t.failed.store(3, Relaxed);
        assert_eq!(t.exit_status(), 3);
        t.failed.store(100, Relaxed);
        assert_eq!(t.exit_status(), 100);
        t.failed.store(1000, Relaxed);
        assert_eq!(t.exit_status(), 101);
        t.broken_pipe.store(true, Relaxed);
        assert_eq!(t.exit_status(), 141);
        t.signal.store(2, Relaxed);
        assert_eq!(t.exit_status(), 130);
        t.fatal.store(true, Relaxed);
        assert_eq!(t.exit_status(), 255);
    }

    #[test]
    fn summary_line() {
        let t = Tally::default();
        t.ok.store(2999, Relaxed);
        t.failed.store(1, Relaxed);
        assert_eq!(
            t.summary(1.5191, 0),
            "inflight: 3000 jobs, 2999 ok, 1 failed in 1.52s"
        );
        t.skipped.store(7, Relaxed);
        assert!(t
            .summary(1.0, 2)
            .ends_with(", 7 skipped (done in an earlier run), 2 killed"));
    }
}
