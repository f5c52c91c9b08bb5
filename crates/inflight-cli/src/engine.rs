//! Where the jobs meet the library: a stream of job futures, at most `limit` in flight, outputs
//! in completion order or (with `-k`) input order. The only module that names `inflight`'s
//! streams, so swapping in the library's policy builder later touches this file alone.
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{BoxStream, Stream, StreamExt};
use inflight::InflightExt;
use tokio::task::JoinHandle;

/// Runs the futures of `jobs`, at most `limit` at once.
pub fn run<S>(
    jobs: S,
    limit: usize,
    keep_order: bool,
) -> BoxStream<'static, <S::Item as Future>::Output>
where
    S: Stream + Send + 'static,
    S::Item: Future + Send + 'static,
    <S::Item as Future>::Output: Send + 'static,
{
    if keep_order {
        jobs.in_flight_ordered(limit).boxed()
    } else {
        jobs.in_flight(limit).boxed()
    }
}

/// Spawns `fut` on the runtime, so jobs progress on every core however the consumer is busy,
/// and aborts it when dropped, so dropping the stream still cancels the jobs in flight (the
/// library's "drop cancels" carries over to spawned work).
pub fn spawn<F>(fut: F) -> Spawned<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    Spawned(tokio::spawn(fut))
}

/// A spawned job; see [`spawn`]. Resolves to `None` if the job panicked (already reported by
/// the panic hook) or was aborted.
pub struct Spawned<T>(JoinHandle<T>);

impl<T> Future for Spawned<T> {
    type Output = Option<T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        Pin::new(&mut self.0).poll(cx).map(Result::ok)
    }
}

impl<T> Drop for Spawned<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
