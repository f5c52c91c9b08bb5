//! The work queue on Redis Streams: [`Queue`](queue::Queue) to push, read status and results;
//! [`Items`](worker::Items), the stream of inputs a worker runs; [`QueueItem`](item::QueueItem)
//! with its acknowledgement.
//!
//! `inner` holds the shared state at the bottom (a queue's, and one worker's); `options`
//! beside it; `status`, `results`, `item` and `worker` build on it, `queue` (the handle) on
//! those, and `push` on the handle.

pub(crate) mod inner;
pub(crate) mod item;
pub(crate) mod options;
pub(crate) mod push;
#[allow(clippy::module_inception)]
pub(crate) mod queue;
pub(crate) mod results;
pub(crate) mod status;
pub(crate) mod worker;
