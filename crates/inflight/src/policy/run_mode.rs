//! Where a task's attempts run: polled inside the stream ([`Local`]) or spawned on tokio
//! ([`Spawned`]).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::task::JoinHandle;

use crate::task_error::TaskError;

mod sealed {
    pub trait Sealed {}
}

/// How the attempts of a task are run; chosen with [`Inflight::spawned`](crate::Inflight::spawned).
pub trait RunMode<Fut: Future>: sealed::Sealed {
    /// The future that runs one attempt and reports a panic as an error.
    type Attempt: Future<Output = Result<Fut::Output, String>>;
    /// Starts one attempt.
    fn start(&self, attempt: Fut) -> Self::Attempt;
}

/// Attempts are polled inside the stream, on the consumer's task (the default). A panic in a
/// task propagates to the consumer, as with any future it polls.
#[derive(Debug, Clone, Copy, Default)]
pub struct Local;

/// Attempts are spawned as tokio tasks, so CPU-heavy work uses every core; a panic is caught
/// per attempt and becomes [`Failure::Panicked`](crate::Failure::Panicked). The limit still
/// counts them, and dropping the stream aborts them.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spawned;

impl sealed::Sealed for Local {}
impl sealed::Sealed for Spawned {}

impl<Fut: Future> RunMode<Fut> for Local {
    type Attempt = LocalAttempt<Fut>;
    fn start(&self, attempt: Fut) -> LocalAttempt<Fut> {
        LocalAttempt { attempt }
    }
}

impl<Fut> RunMode<Fut> for Spawned
where
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    type Attempt = SpawnedAttempt<Fut::Output>;
    fn start(&self, attempt: Fut) -> SpawnedAttempt<Fut::Output> {
        SpawnedAttempt {
            handle: tokio::spawn(attempt),
        }
    }
}

pin_project! {
    /// An attempt polled in place.
    #[derive(Debug)]
    pub struct LocalAttempt<Fut> {
        #[pin]
        attempt: Fut,
    }
}

impl<Fut: Future> Future for LocalAttempt<Fut> {
    type Output = Result<Fut::Output, String>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().attempt.poll(cx).map(Ok)
    }
}

/// An attempt running as a tokio task; dropping it aborts the task.
#[derive(Debug)]
pub struct SpawnedAttempt<T> {
    handle: JoinHandle<T>,
}

impl<T> Future for SpawnedAttempt<T> {
    type Output = Result<T, String>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.handle).poll(cx).map(|joined| {
            joined.map_err(|error| match TaskError::from(error) {
                TaskError::Panicked(message) => message,
                TaskError::Cancelled => "the task was cancelled".to_owned(),
            })
        })
    }
}

impl<T> Drop for SpawnedAttempt<T> {
    fn drop(&mut self) {
        self.handle.abort();
    }
}
