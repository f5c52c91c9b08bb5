//! Outputs in completion order: [`as_completed`] and [`AsCompleted`].

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::stream::FusedStream;
use futures_core::Stream;
use pin_project_lite::pin_project;

use crate::limits::limit::{check, IntoLimit, Limit, TimerOf};
use crate::limits::limit_handle::{LimitHandle, Remote};
use crate::primitives::budget::{Budget, Coop};
use crate::primitives::engine::Engine;
use crate::primitives::iter_source::IterSource;

/// Runs `futures` with at most `limit` in flight and yields their outputs as they complete.
///
/// `limit` is a number, or a [`Limit::adaptive`] that finds the number from the futures'
/// latency. The iterator is pulled lazily, one item each time a slot is free, so it may be infinite and
/// its futures are made only when they can start. The futures run inside the stream: they make
/// progress while the stream is polled (see [`drive`](crate::drive) for a mode in which they
/// progress on their own). Dropping the stream drops every future in flight.
///
/// # Panics
///
/// If `limit` is 0 (or an adaptive limit's min is above its max).
///
/// # Example
///
/// ```
/// use futures::StreamExt;
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() {
/// // The seeds' `limited_as_completed`: task i sleeps 1/i s, at most 10 at once.
/// let tasks = (1..=100u64).map(|i| async move {
///     tokio::time::sleep(Duration::from_secs(1) / i as u32).await;
///     i
/// });
/// let mut results = inflight::as_completed(tasks, 10);
/// let mut order = Vec::new();
/// while let Some(i) = results.next().await {
///     order.push(i);
/// }
/// assert_eq!(order.len(), 100);
/// assert_eq!(order.last(), Some(&1)); // the longest task finishes last
/// # }
/// ```
#[track_caller]
pub fn as_completed<I, L>(futures: I, limit: L) -> AsCompleted<IterSource<I::IntoIter>, L::Kept>
where
    I: IntoIterator,
    I::Item: Future,
    L: IntoLimit,
{
    let limit = check(limit.into(), "as_completed: limit");
    AsCompleted::new(IterSource::new(futures.into_iter()), limit)
}

pin_project! {
    /// A stream of the outputs of futures from `St`, in completion order, at most `limit` in
    /// flight. Made by [`as_completed`] and [`InflightExt::in_flight`](crate::InflightExt::in_flight).
    ///
    /// It is `Unpin` when `St` is, whatever the futures are: each runs in a pinned slot of its own.
    /// `L` is the limit it keeps: `usize` when made with a number, [`Limit`] when made with a
    /// `Limit` or an adaptive one (see [`IntoLimit`]).
    #[must_use = "streams do nothing unless polled"]
    pub struct AsCompleted<St: Stream, L: IntoLimit = usize> {
        #[pin]
        engine: Engine<St, TimerOf<L>>,
        coop: Coop,
        // Made by the first `limit_handle`: a change from a handle waits here for the next poll.
        remote: Option<Arc<Remote>>,
    }
}

impl<St, L> AsCompleted<St, L>
where
    St: Stream,
    St::Item: Future,
    L: IntoLimit,
{
    /// The caller has checked `limit` (each entry point names itself in the panic).
    pub(crate) fn new(source: St, limit: Limit) -> Self {
        AsCompleted {
            engine: Engine::new(source, limit),
            coop: Coop::default(),
            remote: None,
        }
    }

    /// How many futures are in flight now.
    ///
    /// ```
    /// let stream = inflight::as_completed([async { 1 }], 4);
    /// assert_eq!(stream.running(), 0); // nothing starts before the first poll
    /// ```
    pub fn running(&self) -> usize {
        self.engine.running()
    }

    /// How many futures have been pulled from the source so far.
    ///
    /// ```
    /// # futures::executor::block_on(async {
    /// use futures::StreamExt;
    /// let mut stream = inflight::as_completed((0..).map(|i| async move { i }), 4);
    /// stream.next().await;
    /// assert_eq!(stream.pulled(), 1); // lazy: the infinite source was pulled once
    /// # });
    /// ```
    pub fn pulled(&self) -> u64 {
        self.engine.pulled()
    }

    /// The most futures that may be in flight at once: the fixed limit, or where an adaptive
    /// one is now.
    ///
    /// ```
    /// assert_eq!(inflight::as_completed([async {}], 8).limit(), 8);
    /// ```
    pub fn limit(&self) -> usize {
        self.engine.limit()
    }

    /// A cloneable handle that changes this stream's limit from another task, while the
    /// consumer awaits it; see [`LimitHandle`]. Take it before handing the stream over.
    ///
    /// ```
    /// let mut stream = inflight::as_completed([async { 1 }], 2);
    /// let handle = stream.limit_handle();
    /// std::thread::spawn(move || handle.set_limit(10)).join().unwrap();
    /// # futures::executor::block_on(futures::StreamExt::next(&mut stream));
    /// assert_eq!(stream.limit(), 10);
    /// ```
    pub fn limit_handle(&mut self) -> LimitHandle<L> {
        let limit = self.engine.limit();
        LimitHandle::new(
            self.remote
                .get_or_insert_with(|| Remote::new(limit))
                .clone(),
        )
    }

    /// `poll_next` for a stream with a [`LimitHandle`]: a change asked for meanwhile first,
    /// and the consumer registered to be woken by the next. Out of line, so a stream without
    /// a handle pays one test per poll.
    #[cold]
    #[inline(never)]
    fn poll_with_handle(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<<St::Item as Future>::Output>> {
        let this = self.project();
        let mut engine = this.engine;
        let remote = this.remote.as_ref().expect("checked by the caller");
        if let Some(limit) = remote.take() {
            engine.as_mut().set_limit_pinned(limit);
        }
        let polled = this.coop.poll(cx, |cx| {
            engine.as_mut().poll_output(cx, &mut Budget::new(), true)
        });
        remote.after_poll(engine.limit(), polled.is_pending(), cx);
        polled
    }

    /// Tells the handles of a change made here.
    fn changed(&self) {
        if let Some(remote) = &self.remote {
            remote.set(self.engine.limit());
        }
    }
}

impl<St> AsCompleted<St, usize>
where
    St: Stream,
    St::Item: Future,
{
    /// Changes the limit. A raised limit fills the new slots on the next poll (and wakes the
    /// task that polled it last); a lowered one starts nothing new until the futures in flight
    /// have fallen below it (none is cancelled). A limit of 0 pauses: nothing new starts until
    /// it is raised again (see the crate docs on [limits](crate#limits)).
    ///
    /// ```
    /// let mut stream = inflight::as_completed([async {}], 8);
    /// stream.set_limit(2);
    /// assert_eq!(stream.limit(), 2);
    /// ```
    pub fn set_limit(&mut self, limit: usize) {
        self.engine.set_limit(Limit::fixed(limit));
        self.changed();
    }
}

impl<St> AsCompleted<St, Limit>
where
    St: Stream,
    St::Item: Future,
{
    /// Changes the limit, as for a fixed one (0 pauses); a number fixes it (an adaptive limit
    /// stops adapting), and an adaptive limit adapts from the limit in force unless given an
    /// [`initial`](crate::AdaptiveLimit::initial) value.
    ///
    /// ```
    /// use inflight::Limit;
    /// let mut stream = inflight::as_completed([async {}], Limit::adaptive().max(100));
    /// stream.set_limit(2);
    /// assert_eq!(stream.limit(), 2);
    /// stream.set_limit(Limit::adaptive().max(100));
    /// assert_eq!(stream.limit(), 2); // adapting again, from where it was
    /// ```
    pub fn set_limit(&mut self, limit: impl Into<Limit>) {
        self.engine.set_limit(limit.into());
        self.changed();
    }
}

impl<St, L> Stream for AsCompleted<St, L>
where
    St: Stream,
    St::Item: Future,
    L: IntoLimit,
{
    type Item = <St::Item as Future>::Output;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.remote.is_some() {
            return self.poll_with_handle(cx);
        }
        let this = self.project();
        let mut engine = this.engine;
        this.coop.poll(cx, |cx| {
            engine.as_mut().poll_output(cx, &mut Budget::new(), true)
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.engine.size_hint()
    }
}

impl<St, L> FusedStream for AsCompleted<St, L>
where
    St: Stream,
    St::Item: Future,
    L: IntoLimit,
{
    fn is_terminated(&self) -> bool {
        self.engine.is_done()
    }
}

impl<St: Stream, L: IntoLimit> std::fmt::Debug for AsCompleted<St, L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsCompleted").finish_non_exhaustive()
    }
}
