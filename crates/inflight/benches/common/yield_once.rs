//! A future that yields once: shared by the benchmarks, the memory example, the allocation test
//! and the Python-parity example (which include this file by path).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

/// A future that returns `Pending` once (after waking itself) and then its value: the cheapest
/// task that still goes through the wake-up path of the stream that runs it.
#[derive(Debug)]
pub struct YieldOnce {
    yielded: bool,
    value: u64,
}

impl YieldOnce {
    pub fn new(value: u64) -> Self {
        YieldOnce {
            yielded: false,
            value,
        }
    }
}

impl Future for YieldOnce {
    type Output = u64;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u64> {
        if self.yielded {
            return Poll::Ready(self.value);
        }
        self.yielded = true;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}
