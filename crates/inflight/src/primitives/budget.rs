//! The caps on the work of one call of a stream's `poll_next`: our own poll budget, and the
//! share of tokio's task budget that outputs spend.

use std::task::{Context, Poll};

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

/// How many outputs spend one unit of tokio's task budget. One unit per output, as tokio's
/// channels do, cost 36 to 63 instructions per ready task (a third of the whole); one per 8
/// still makes a consumer looping over ready outputs yield every 1024 of them.
const OUTPUTS_PER_UNIT: u8 = 8;

/// Spends tokio's task budget as a stream hands outputs back, so a consumer looping over
/// ready outputs lets the other tasks of its runtime run now and then.
#[derive(Debug, Default)]
pub(crate) struct Coop {
    /// Outputs left before the next unit is spent.
    outputs_left: u8,
}

impl Coop {
    /// Runs one `poll_next`, spending a unit of budget first when one is due (and returning
    /// `Pending` when the task has none left, as tokio's own resources do).
    #[inline(always)]
    pub(crate) fn poll<T>(
        &mut self,
        cx: &mut Context<'_>,
        poll: impl FnOnce(&mut Context<'_>) -> Poll<T>,
    ) -> Poll<T> {
        if self.outputs_left > 0 {
            let polled = poll(cx);
            if polled.is_ready() {
                self.outputs_left -= 1;
            }
            return polled;
        }
        let unit = std::task::ready!(tokio::task::coop::poll_proceed(cx));
        let polled = poll(cx);
        if polled.is_ready() {
            unit.made_progress();
            self.outputs_left = OUTPUTS_PER_UNIT - 1;
        }
        polled
    }
}
