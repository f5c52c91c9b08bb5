//! [`Results`]: reading a queue's results stream, once or following it; and the dead letters.

use std::collections::VecDeque;
use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use redis::aio::ConnectionManager;
use redis::streams::{StreamId, StreamRangeReply, StreamReadReply};

use super::inner::QueueInner;
use super::status::QueueStatus;
use crate::connection::Attempt;
use crate::error::Error;
use crate::stream::Unfold;

/// One input's result, as its worker acknowledged it.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueResult {
    /// The entry's id in the results stream (for [`Queue::results_after`](crate::Queue::results_after)).
    pub id: String,
    /// The input's position, from 0.
    pub position: u64,
    /// The input.
    pub input: String,
    /// The worker that finished it.
    pub worker: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// The record given to [`QueueItem::ack`](crate::QueueItem::ack).
    pub record: serde_json::Value,
}

/// An input that went to the dead letters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// The input's position, from 0.
    pub position: u64,
    /// The input.
    pub input: String,
    /// How many times it was handed out without a result.
    pub deliveries: u32,
}

/// Results in the order they were recorded, from [`Queue::results`](crate::Queue::results).
/// Without follow it ends at the last result recorded now; with follow it waits for more
/// (XREAD BLOCK on its own connection) and ends once the queue is closed and finished.
///
/// ```no_run
/// # async fn f(queue: inflight_redis::Queue) -> Result<(), inflight_redis::Error> {
/// use futures::StreamExt;
/// let mut results = queue.results(true);
/// while let Some(result) = results.next().await {
///     let r = result?;
///     println!("{} {} {}", r.position, r.ok, r.record);
/// }
/// # Ok(()) }
/// ```
pub struct Results {
    inner: Unfold<Box<Reader>, Result<QueueResult, Error>>,
}

struct Reader {
    queue: Arc<QueueInner>,
    /// Where the next read starts: `-` or `(ID` (after ID).
    from: String,
    follow: bool,
    buffer: VecDeque<QueueResult>,
    blocking: Option<ConnectionManager>,
    done: bool,
}

/// Results per read.
const PAGE: usize = 1000;

impl Results {
    pub(crate) fn new(queue: Arc<QueueInner>, from: String, follow: bool) -> Results {
        let reader = Box::new(Reader {
            queue,
            from,
            follow,
            buffer: VecDeque::new(),
            blocking: None,
            done: false,
        });
        Results {
            inner: Unfold::new(reader, |r| Box::pin(r.next())),
        }
    }
}

impl Stream for Results {
    type Item = Result<QueueResult, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.inner).poll_next(cx)
    }
}

impl fmt::Debug for Results {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Results").finish_non_exhaustive()
    }
}

impl Reader {
    async fn next(mut self: Box<Self>) -> Option<(Result<QueueResult, Error>, Box<Self>)> {
        loop {
            if let Some(r) = self.buffer.pop_front() {
                return Some((Ok(r), self));
            }
            if self.done {
                return None;
            }
            // Whether the queue was finished before this read: then this read has everything.
            let finished_before = if self.follow {
                match QueueStatus::read(&self.queue).await {
                    Ok(s) => s.is_finished(),
                    Err(e) => {
                        self.done = true;
                        return Some((Err(e), self));
                    }
                }
            } else {
                true
            };
            if let Err(e) = self.read_page().await {
                self.done = true;
                return Some((Err(e), self));
            }
            if self.buffer.is_empty() {
                if finished_before {
                    self.done = true;
                } else {
                    self.wait().await;
                }
            }
        }
    }

    async fn read_page(&mut self) -> Result<(), Error> {
        let mut cmd = redis::cmd("XRANGE");
        cmd.arg(&self.queue.keys.results)
            .arg(&self.from)
            .arg("+")
            .arg("COUNT")
            .arg(PAGE);
        let page: StreamRangeReply = self.queue.redis.cmd(&cmd).await?;
        for entry in page.ids {
            self.take(entry);
        }
        Ok(())
    }

    fn take(&mut self, entry: StreamId) {
        self.from = format!("({}", entry.id);
        if let Some(r) = parse_result(&entry) {
            self.buffer.push_back(r);
        }
    }

    /// Blocks up to a poll for new results.
    async fn wait(&mut self) {
        let q = self.queue.clone();
        let poll = q.options.poll;
        if self.blocking.is_none() {
            match q.redis.blocking_connection(poll) {
                Ok(c) => self.blocking = Some(c),
                Err(_) => {
                    tokio::time::sleep(poll).await;
                    return;
                }
            }
        }
        let after = self.from.trim_start_matches('(');
        let after = if after == "-" { "0-0" } else { after };
        let mut cmd = redis::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(PAGE)
            .arg("BLOCK")
            .arg(poll.as_millis() as u64)
            .arg("STREAMS")
            .arg(&q.keys.results)
            .arg(after);
        let conn = self.blocking.as_mut().expect("made above");
        let read: Result<Option<StreamReadReply>, Attempt> = q.redis.blocking_cmd(conn, &cmd).await;
        match read {
            Ok(Some(reply)) => {
                for key in reply.keys {
                    for entry in key.ids {
                        self.take(entry);
                    }
                }
            }
            Ok(None) => {}
            Err(_) => tokio::time::sleep(poll.min(std::time::Duration::from_millis(200))).await,
        }
    }
}

fn parse_result(entry: &StreamId) -> Option<QueueResult> {
    let field = |name: &str| entry.get::<String>(name);
    let record = field("record")?;
    Some(QueueResult {
        id: entry.id.clone(),
        position: field("pos")?.parse().ok()?,
        input: field("input").unwrap_or_default(),
        worker: field("worker").unwrap_or_default(),
        ok: field("ok").as_deref() == Some("1"),
        record: serde_json::from_str(&record).unwrap_or(serde_json::Value::String(record)),
    })
}

impl DeadLetter {
    pub(crate) async fn read(queue: &QueueInner, max: usize) -> Result<Vec<DeadLetter>, Error> {
        let mut cmd = redis::cmd("XRANGE");
        cmd.arg(&queue.keys.dead)
            .arg("-")
            .arg("+")
            .arg("COUNT")
            .arg(max);
        let page: StreamRangeReply = queue.redis.cmd(&cmd).await?;
        Ok(page
            .ids
            .iter()
            .filter_map(|e| {
                Some(DeadLetter {
                    position: e.get::<String>("pos")?.parse().ok()?,
                    input: e.get("input").unwrap_or_default(),
                    deliveries: e.get::<String>("deliveries")?.parse().ok()?,
                })
            })
            .collect())
    }
}
