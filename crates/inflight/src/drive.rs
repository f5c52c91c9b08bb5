//! [`drive`]: run a stream on its own tokio task, so its futures progress while the consumer is
//! busy elsewhere.

use std::pin::{pin, Pin};
use std::task::{Context, Poll};

use futures_core::Stream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::limit_check::check_limit;

/// Polls `stream` on a spawned tokio task and hands its items over a channel of `capacity`.
///
/// The streams of this crate run their futures only while polled: a consumer that awaits
/// something slow between items freezes every task in flight (the "buffered streams" trap,
/// futures-rs #2387). Wrapped in `drive`, tasks go on regardless, until `capacity` outputs wait
/// for the consumer; then the driver waits too (backpressure), so pulled minus handed back is
/// at most the stream's own bound plus `capacity`.
///
/// Use the plain stream when the consumer only stores or forwards each item; use `drive` when
/// it does slow work per item. Dropping the returned stream stops the driver and so drops the
/// inner stream and its tasks. A panic inside the driven stream is raised again in the consumer.
///
/// # Panics
///
/// If `capacity` is 0, or when called outside a tokio runtime.
///
/// # Example
///
/// ```
/// use futures::StreamExt;
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// let start = tokio::time::Instant::now();
/// let tasks = (0..4).map(|i| async move {
///     tokio::time::sleep(Duration::from_secs(1)).await;
///     i
/// });
/// let mut outputs = inflight::drive(inflight::as_completed(tasks, 4), 4);
/// // The consumer is slow, but the tasks ran meanwhile: all four end at 1 s, not 1, 2, 3, 4.
/// while let Some(_) = outputs.next().await {
///     tokio::time::sleep(Duration::from_secs(1)).await;
/// }
/// assert_eq!(start.elapsed(), Duration::from_secs(5));
/// # }
/// ```
#[track_caller]
pub fn drive<S>(stream: S, capacity: usize) -> Driven<S::Item>
where
    S: Stream + Send + 'static,
    S::Item: Send + 'static,
{
    check_limit(capacity, "drive: capacity");
    let (sender, receiver) = mpsc::channel(capacity);
    let driver = tokio::spawn(async move {
        let mut stream = pin!(stream);
        while let Some(item) =
            std::future::poll_fn(|cx: &mut Context<'_>| stream.as_mut().poll_next(cx)).await
        {
            if sender.send(item).await.is_err() {
                break; // The consumer is gone.
            }
        }
    });
    Driven {
        receiver: Receiver::Bounded(receiver),
        driver: Some(driver),
    }
}

/// Like [`drive`], but the driver never waits for the consumer: outputs pile up until taken.
/// For a push-style pool, whose producer must not deadlock against its own unread outputs.
pub(crate) fn drive_unbounded<S>(stream: S) -> Driven<S::Item>
where
    S: Stream + Send + 'static,
    S::Item: Send + 'static,
{
    let (sender, receiver) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut stream = pin!(stream);
        while let Some(item) =
            std::future::poll_fn(|cx: &mut Context<'_>| stream.as_mut().poll_next(cx)).await
        {
            if sender.send(item).is_err() {
                break;
            }
        }
    });
    Driven {
        receiver: Receiver::Unbounded(receiver),
        driver: Some(driver),
    }
}

#[derive(Debug)]
enum Receiver<T> {
    Bounded(mpsc::Receiver<T>),
    Unbounded(mpsc::UnboundedReceiver<T>),
}

/// The stream returned by [`drive`].
#[must_use = "streams do nothing unless polled"]
#[derive(Debug)]
pub struct Driven<T> {
    receiver: Receiver<T>,
    /// Taken once the driver's end has been checked for a panic.
    driver: Option<JoinHandle<()>>,
}

impl<T> Stream for Driven<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let received = match &mut self.receiver {
            Receiver::Bounded(receiver) => receiver.poll_recv(cx),
            Receiver::Unbounded(receiver) => receiver.poll_recv(cx),
        };
        if let Some(item) = std::task::ready!(received) {
            return Poll::Ready(Some(item));
        }
        // The channel closed: the stream ended, or the driver panicked. Say which.
        let Some(driver) = self.driver.as_mut() else {
            return Poll::Ready(None);
        };
        let ended = std::task::ready!(Pin::new(driver).poll(cx));
        self.driver = None;
        if let Err(error) = ended {
            if error.is_panic() {
                std::panic::resume_unwind(error.into_panic());
            }
        }
        Poll::Ready(None)
    }
}

impl<T> Drop for Driven<T> {
    fn drop(&mut self) {
        if let Some(driver) = &self.driver {
            driver.abort();
        }
    }
}

use std::future::Future as _;
