//! The cap on polls in one call of a stream's `poll_next`.

/// How many futures one `poll_next` may poll before it yields to the executor. A stream whose
/// tasks keep waking themselves would otherwise hold the thread forever; tokio's own task
/// budget is 128 for the same reason.
pub(crate) const POLLS_PER_CALL: u32 = 128;

/// Counts the polls left in one call.
#[derive(Debug)]
pub(crate) struct Budget {
    left: u32,
}

impl Budget {
    /// A fresh budget for one call.
    pub(crate) fn new() -> Self {
        Budget {
            left: POLLS_PER_CALL,
        }
    }

    /// Takes one poll from the budget; false when none is left.
    pub(crate) fn spend(&mut self) -> bool {
        if self.left == 0 {
            return false;
        }
        self.left -= 1;
        true
    }
}
