//! Where an attempt runs: polled in place inside the stream, or spawned as a tokio task once
//! the run is made `spawned()`.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tokio::task::JoinHandle;

use crate::task_error::TaskError;

/// How a run starts its attempts: in place until someone turns spawning on.
///
/// Spawning needs `Send + 'static` futures, which only a typed method can check; that method
/// stores the spawning function here, so the run itself needs no such bound and a local run
/// keeps non-`Send` futures.
pub(crate) struct SpawnCell<Fut: Future> {
    spawner: OnceLock<Spawner<Fut>>,
}

/// Spawns one attempt on the current tokio runtime, holding the input's places in the task.
type Spawner<Fut> = fn(Fut, Places) -> JoinHandle<<Fut as Future>::Output>;

/// What an input holds while it runs: its slot of the builder's limit, its key's slot and its
/// shared limits' places. A spawned attempt holds them too, inside its task, so that when the
/// run is dropped (or halted) and the task is aborted, they go back only when the task really
/// ends: an abort stops a task only at its next await, and blocking or CPU-bound work not
/// before it is done.
pub(crate) type Places = Arc<dyn Any + Send + Sync>;

impl<Fut: Future> SpawnCell<Fut> {
    pub(crate) fn new() -> Self {
        SpawnCell {
            spawner: OnceLock::new(),
        }
    }

    /// From now on, attempts are spawned on the current tokio runtime.
    pub(crate) fn enable(&self)
    where
        Fut: Send + 'static,
        Fut::Output: Send + 'static,
    {
        let _ = self.spawner.set(|future, places| {
            tokio::spawn(WithPlaces {
                future,
                _places: places,
            })
        });
    }

    /// Whether attempts are spawned (then they need the input's places, see [`Places`]).
    pub(crate) fn spawns(&self) -> bool {
        self.spawner.get().is_some()
    }

    /// Starts one attempt; a spawned one holds `places` until its task ends.
    pub(crate) fn start(&self, future: Fut, places: Option<&Places>) -> Attempt<Fut> {
        match (self.spawner.get(), places) {
            (Some(spawn), Some(places)) => Attempt::Spawned {
                handle: AbortOnDrop(spawn(future, places.clone())),
            },
            _ => Attempt::Local { future },
        }
    }
}

pin_project! {
    /// One attempt; its output is the task's, or the message of its panic (spawned only: a
    /// local attempt's panic unwinds to the consumer).
    #[project = AttemptProj]
    pub(crate) enum Attempt<Fut: Future> {
        Local { #[pin] future: Fut },
        Spawned { handle: AbortOnDrop<Fut::Output> },
    }
}

impl<Fut: Future> Attempt<Fut> {
    /// Stops the attempt and, if it was spawned, waits until its task has really ended, so the
    /// slot it holds is not given to another task while it still runs (an aborted task stops
    /// only at its next await, and CPU-bound or blocking work not before it is done).
    pub(crate) async fn stop(self: Pin<&mut Self>) {
        if let AttemptProj::Spawned { handle } = self.project() {
            handle.0.abort();
            let _ = (&mut handle.0).await;
        }
    }
}

impl<Fut: Future> Future for Attempt<Fut> {
    type Output = Result<Fut::Output, String>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            AttemptProj::Local { future } => future.poll(cx).map(Ok),
            AttemptProj::Spawned { handle } => Pin::new(&mut handle.0).poll(cx).map(|joined| {
                joined.map_err(|error| match TaskError::from(error) {
                    TaskError::Panicked(message) => message,
                    TaskError::Cancelled => "the task was cancelled".to_owned(),
                })
            }),
        }
    }
}

pin_project! {
    /// A spawned attempt with its input's places. Fields drop in order: the attempt's future
    /// first (whatever it holds is gone), then the places.
    struct WithPlaces<Fut> {
        #[pin]
        future: Fut,
        _places: Places,
    }
}

impl<Fut: Future> Future for WithPlaces<Fut> {
    type Output = Fut::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Fut::Output> {
        self.project().future.poll(cx)
    }
}

/// A spawned attempt's handle; dropping it (the run was dropped or halted) aborts the task.
pub(crate) struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
