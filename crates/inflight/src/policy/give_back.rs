//! Inputs a run gives back: a push-style pool's inputs that were handed over but will never
//! have an outcome, because the run halted. Every submitted input comes back one way or the
//! other (an outcome, or here), so a producer can tell what was not done.

use std::sync::{Arc, Mutex, OnceLock};

/// Where a run's unrun inputs go; only pools have one.
pub(crate) struct GiveBack<I> {
    inputs: Mutex<Vec<I>>,
}

/// Set by the run's object before the run starts (a pool sets it); read by the gate.
pub(crate) type GiveBackCell<I> = OnceLock<Arc<GiveBack<I>>>;

impl<I> GiveBack<I> {
    pub(crate) fn new() -> Arc<Self> {
        Arc::new(GiveBack {
            inputs: Mutex::new(Vec::new()),
        })
    }

    pub(crate) fn push(&self, input: I) {
        self.lock().push(input);
    }

    /// The inputs given back so far, taken.
    pub(crate) fn take(&self) -> Vec<I> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<I>> {
        // A push cannot panic halfway (but for an allocation failure): the list stays valid.
        self.inputs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// An input on its way through a run: dropped before its outcome is made (the run halted and
/// dropped its task, or never started it), it goes to the run's [`GiveBack`], if it has one.
pub(crate) struct Returnable<I> {
    input: Option<I>,
    to: Option<Arc<GiveBack<I>>>,
}

impl<I> Returnable<I> {
    pub(crate) fn new(input: I, to: Option<Arc<GiveBack<I>>>) -> Self {
        Returnable {
            input: Some(input),
            to,
        }
    }

    pub(crate) fn get(&self) -> &I {
        self.input.as_ref().expect("present until taken")
    }

    /// The input, for its outcome: it is not given back.
    pub(crate) fn into_inner(mut self) -> I {
        self.input.take().expect("present until taken")
    }
}

impl<I> Drop for Returnable<I> {
    fn drop(&mut self) {
        if let (Some(input), Some(to)) = (self.input.take(), &self.to) {
            to.push(input);
        }
    }
}
