//! [`Queue::push`]: adding inputs with backpressure, resumable after a kill.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use tokio::time::Instant;

use super::queue::Queue;
use crate::error::Error;
use crate::keys::GROUP;
use crate::scripts;

/// What a push did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PushReport {
    /// Inputs skipped because an earlier push (killed, say) had added them already.
    pub skipped: u64,
    /// Inputs this push added.
    pub added: u64,
}

impl Queue {
    /// Adds `inputs` in order, the first at position 0, waiting while the queue holds
    /// `max_pending` untaken inputs. Inputs the queue holds already (from an earlier push of
    /// the same inputs that was killed) are skipped, so a rerun continues where the last one
    /// stopped: nothing twice, nothing missing. Each batch is added by one atomic script.
    /// A push of no inputs makes the queue, empty, so that closing it ends its workers.
    ///
    /// Push the same inputs in the same order each time; one pusher per queue.
    ///
    /// ```no_run
    /// # async fn f(queue: inflight_redis::Queue) -> Result<(), inflight_redis::Error> {
    /// let report = queue.push(["a", "b", "c"]).await?;
    /// println!("{} added, {} were in already", report.added, report.skipped);
    /// # Ok(()) }
    /// ```
    pub async fn push<I, S>(&self, inputs: I) -> Result<PushReport, Error>
    where
        I: IntoIterator<Item = S>,
        I::IntoIter: Send,
        S: Into<String>,
    {
        let mut inputs = inputs.into_iter();
        self.push_stream(IterStream(&mut inputs)).await
    }

    /// [`Queue::push`] from a stream, for inputs that come slowly (a pipe): a batch goes out
    /// when it is full or [`LINGER`] after its first input, so a slow producer's inputs reach
    /// the workers within that, not when a hundred have come.
    ///
    /// ```no_run
    /// # async fn f(
    /// #     queue: inflight_redis::Queue,
    /// #     lines: impl futures_core::Stream<Item = String> + Unpin + Send,
    /// # ) -> Result<(), inflight_redis::Error> {
    /// let report = queue.push_stream(lines).await?;
    /// println!("{} added", report.added);
    /// # Ok(()) }
    /// ```
    pub async fn push_stream<St, S>(&self, mut inputs: St) -> Result<PushReport, Error>
    where
        St: Stream<Item = S> + Unpin + Send,
        S: Into<String>,
    {
        let inner = &self.inner;
        let already = self.pushed().await?;
        let mut report = PushReport::default();
        while report.skipped < already {
            if next(&mut inputs).await.is_none() {
                return Ok(report);
            }
            report.skipped += 1;
        }
        let keys = vec![
            inner.keys.inputs.clone(),
            inner.keys.meta.clone(),
            inner.keys.deleted.clone(),
        ];
        // The queue's id, should this push make the queue.
        let new_id = crate::keys::random_id();
        let mut position = already;
        let mut batch: Vec<String> = Vec::with_capacity(inner.options.push_batch);
        let mut backoff = Duration::from_millis(10);
        let mut ended = false;
        let mut sent = false;
        loop {
            // The first input is waited for as long as it takes; the rest of a batch only
            // until LINGER after it.
            let mut deadline = (!batch.is_empty()).then(|| Instant::now() + LINGER);
            while !ended && batch.len() < inner.options.push_batch {
                let input = match deadline {
                    None => next(&mut inputs).await,
                    Some(at) => match tokio::time::timeout_at(at, next(&mut inputs)).await {
                        Ok(input) => input,
                        Err(_) => break,
                    },
                };
                match input {
                    Some(input) => {
                        batch.push(input.into());
                        deadline.get_or_insert_with(|| Instant::now() + LINGER);
                    }
                    None => ended = true,
                }
            }
            // A push with no inputs still makes the queue (one script with none), so that
            // its close ends the workers waiting for it instead of "no queue named".
            if batch.is_empty() && (sent || !inner.known_id().is_empty()) {
                return Ok(report);
            }
            sent = true;
            let mut args = Vec::with_capacity(batch.len() + 5);
            args.push(GROUP.to_string());
            args.push(inner.options.max_pending.to_string());
            args.push(position.to_string());
            args.push(inner.known_id());
            args.push(new_id.clone());
            args.extend(batch.iter().cloned());
            let (total, _room, id): (u64, i64, String) =
                inner.script(&scripts::PUSH, &keys, &args).await?;
            inner.saw_id(&id);
            let taken = (total - position) as usize;
            batch.drain(..taken);
            report.added += taken as u64;
            position = total;
            if taken > 0 {
                // Progress (a whole batch, or as many as there was room for when
                // `max_pending` is under a batch): the next wait starts short again.
                backoff = Duration::from_millis(10);
            }
            if !batch.is_empty() {
                // Full: wait for workers to take some. Short polls, since the workers free
                // room at their own pace and one pusher asking is cheap.
                tokio::time::sleep(backoff).await;
                if taken == 0 {
                    backoff = (backoff * 2).min(inner.options.poll / 4);
                }
            }
        }
    }

    /// How many inputs have been pushed so far (the position the next push starts at).
    ///
    /// ```no_run
    /// # async fn f(queue: inflight_redis::Queue) -> Result<(), inflight_redis::Error> {
    /// let n = queue.pushed().await?;
    /// # Ok(()) }
    /// ```
    pub async fn pushed(&self) -> Result<u64, Error> {
        let mut cmd = redis::cmd("HGET");
        cmd.arg(&self.inner.keys.meta).arg("pushed");
        let n: Option<u64> = self.inner.redis.cmd(&cmd).await?;
        Ok(n.unwrap_or(0))
    }
}

/// How long a batch waits for more inputs after its first (see [`Queue::push_stream`]).
///
/// ```
/// assert_eq!(inflight_redis::LINGER.as_millis(), 50);
/// ```
pub const LINGER: Duration = Duration::from_millis(50);

/// The next item of a stream.
async fn next<St: Stream + Unpin>(stream: &mut St) -> Option<St::Item> {
    std::future::poll_fn(|cx| Pin::new(&mut *stream).poll_next(cx)).await
}

/// An iterator as a stream that is always ready.
struct IterStream<'a, I>(&'a mut I);

impl<I: Iterator> Stream for IterStream<'_, I> {
    type Item = I::Item;

    fn poll_next(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<I::Item>> {
        Poll::Ready(self.0.next())
    }
}
