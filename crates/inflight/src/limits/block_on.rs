//! Runs one future to completion on the calling thread.
//!
//! Written here rather than taken from `futures-executor` or `pollster` because it is a dozen
//! lines and the library should not pull an executor in for [`Limiter::acquire_blocking`]
//! (crate::Limiter::acquire_blocking) alone.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` on this thread, parking between wake-ups.
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
            return output;
        }
        // A wake-up before this park leaves a token, so it is not lost; a spurious return just
        // polls again.
        std::thread::park();
    }
}
