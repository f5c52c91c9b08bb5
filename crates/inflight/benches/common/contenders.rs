//! Each way of running a lazy iterator of tasks with at most `limit` in flight, written the way
//! its documentation suggests, consuming every output.

use std::future::Future;
use std::sync::Arc;

use futures::StreamExt;
use futures_buffered::BufferedStreamExt;
use inflight::InflightExt;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Sums a stream of outputs in completion order.
async fn sum<S: futures::Stream<Item = u64> + Unpin>(mut outputs: S) -> u64 {
    let mut sum = 0;
    while let Some(output) = outputs.next().await {
        sum += output;
    }
    sum
}

/// Sums a stream of outputs that must come in input order (task `i` returns `i`), checking it.
async fn sum_in_order<S: futures::Stream<Item = u64> + Unpin>(mut outputs: S) -> u64 {
    let mut expected = 0;
    while let Some(output) = outputs.next().await {
        assert_eq!(output, expected, "outputs out of input order");
        expected += 1;
    }
    expected * expected.saturating_sub(1) / 2
}

// Completion order.

pub async fn inflight_as_completed<I, F>(tasks: I, limit: usize) -> u64
where
    I: Iterator<Item = F>,
    F: Future<Output = u64>,
{
    sum(inflight::as_completed(tasks, limit)).await
}

pub async fn inflight_in_flight<I, F>(tasks: I, limit: usize) -> u64
where
    I: Iterator<Item = F>,
    F: Future<Output = u64>,
{
    sum(futures::stream::iter(tasks).in_flight(limit)).await
}

pub async fn futures_buffer_unordered<I, F>(tasks: I, limit: usize) -> u64
where
    I: Iterator<Item = F>,
    F: Future<Output = u64>,
{
    sum(futures::stream::iter(tasks).buffer_unordered(limit)).await
}

pub async fn fb_buffered_unordered<I, F>(tasks: I, limit: usize) -> u64
where
    I: Iterator<Item = F>,
    F: Future<Output = u64>,
{
    sum(futures::stream::iter(tasks).buffered_unordered(limit)).await
}

/// The usual tokio pattern: a permit is taken before each spawn (backpressure) and released
/// when the task ends; finished outputs are taken as the loop goes, so memory stays bounded.
pub async fn tokio_joinset_semaphore<I, F>(tasks: I, limit: usize) -> u64
where
    I: Iterator<Item = F>,
    F: Future<Output = u64> + Send + 'static,
{
    let semaphore = Arc::new(Semaphore::new(limit));
    let mut set = JoinSet::new();
    let mut sum = 0;
    for task in tasks {
        let permit = semaphore
            .clone()
            .acquire_owned()
            .await
            .expect("never closed");
        set.spawn(async move {
            let output = task.await;
            drop(permit);
            output
        });
        while let Some(output) = set.try_join_next() {
            sum += output.expect("no panic");
        }
    }
    while let Some(output) = set.join_next().await {
        sum += output.expect("no panic");
    }
    sum
}

/// `inflight::Pool`, used as its documentation shows: the same shape as the JoinSet pattern.
pub async fn inflight_pool<I, F>(tasks: I, limit: usize) -> u64
where
    I: Iterator<Item = F>,
    F: Future<Output = u64> + Send + 'static,
{
    let pool = inflight::Pool::new(limit);
    let mut sum = 0;
    for task in tasks {
        pool.spawn(task).await.expect("the pool is open");
        while let Some(output) = pool.try_join_next() {
            sum += output.expect("no panic");
        }
    }
    while let Some(output) = pool.join_next().await {
        sum += output.expect("no panic");
    }
    sum
}

// Input order.

pub async fn inflight_ordered<I, F>(tasks: I, limit: usize) -> u64
where
    I: Iterator<Item = F>,
    F: Future<Output = u64>,
{
    sum_in_order(inflight::ordered(tasks, limit)).await
}

pub async fn inflight_in_flight_ordered<I, F>(tasks: I, limit: usize) -> u64
where
    I: Iterator<Item = F>,
    F: Future<Output = u64>,
{
    sum_in_order(futures::stream::iter(tasks).in_flight_ordered(limit)).await
}

pub async fn futures_buffered<I, F>(tasks: I, limit: usize) -> u64
where
    I: Iterator<Item = F>,
    F: Future<Output = u64>,
{
    sum_in_order(futures::stream::iter(tasks).buffered(limit)).await
}

pub async fn fb_buffered_ordered<I, F>(tasks: I, limit: usize) -> u64
where
    I: Iterator<Item = F>,
    F: Future<Output = u64>,
{
    sum_in_order(futures::stream::iter(tasks).buffered_ordered(limit)).await
}
