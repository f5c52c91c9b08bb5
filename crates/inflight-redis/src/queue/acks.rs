//! The acknowledgement batcher of one worker: results of finished inputs go to Redis in one
//! script per batch, sent when the batch is full or a linger after its first result.
//!
//! Each [`QueueItem::ack`](crate::QueueItem::ack) queues its result here and waits for its
//! batch's reply, so an acknowledgement that returned is recorded, and a worker that awaits
//! its acknowledgements before exiting (the CLI does, on a clean exit and on SIGTERM) loses
//! none. A SIGKILL loses the batch not yet sent: those inputs are pending in Redis under this
//! worker, and run again once their lease runs out.

use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;

use crate::connection::Redis;
use crate::error::Error;
use crate::keys::{QueueKeys, GROUP};
use crate::scripts;

/// One finished input, waiting for its batch.
pub(crate) struct Ack {
    pub(crate) id: String,
    pub(crate) position: u64,
    pub(crate) ok: bool,
    pub(crate) record: String,
    pub(crate) input: String,
    /// Whether the result was recorded (false: the input had one already).
    pub(crate) reply: oneshot::Sender<Result<bool, Error>>,
}

/// Where and how a worker's batches go.
pub(crate) struct Target {
    pub(crate) redis: Redis,
    pub(crate) keys: QueueKeys,
    pub(crate) worker: String,
    pub(crate) max: usize,
    pub(crate) linger: Duration,
    /// The queue id the worker knows, sent with each batch: a queue deleted or lost refuses
    /// the batch before any write (see `lua/queue_common.lua`).
    pub(crate) known_id: Box<dyn Fn() -> String + Send + Sync>,
}

/// The sending side; the task that sends the batches starts with the first acknowledgement
/// (inside a runtime) and ends when every sender is gone, after its last batch.
pub(crate) struct Batcher {
    tx: mpsc::UnboundedSender<Ack>,
    rx: Mutex<Option<(mpsc::UnboundedReceiver<Ack>, Target)>>,
}

impl Batcher {
    pub(crate) fn new(target: Target) -> Batcher {
        let (tx, rx) = mpsc::unbounded_channel();
        Batcher {
            tx,
            rx: Mutex::new(Some((rx, target))),
        }
    }

    /// Queues `ack` for the next batch.
    pub(crate) fn send(&self, ack: Ack) {
        let rx = self.rx.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some((rx, target)) = rx {
            tokio::spawn(run(target, rx));
        }
        // The task ends only once every sender is gone, and this one is alive.
        let _ = self.tx.send(ack);
    }
}

async fn run(target: Target, mut rx: mpsc::UnboundedReceiver<Ack>) {
    let (max, linger) = (target.max, target.linger);
    let mut batch: Vec<Ack> = Vec::with_capacity(max);
    loop {
        match rx.recv().await {
            Some(first) => batch.push(first),
            None => return,
        }
        let deadline = Instant::now() + linger;
        while batch.len() < max {
            // What is queued already goes in without waiting; then up to the linger.
            match rx.try_recv() {
                Ok(ack) => {
                    batch.push(ack);
                    continue;
                }
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {}
            }
            if linger.is_zero() {
                break;
            }
            match tokio::time::timeout_at(deadline, rx.recv()).await {
                Ok(Some(ack)) => batch.push(ack),
                Ok(None) | Err(_) => break,
            }
        }
        send(&target, &mut batch).await;
    }
}

/// Sends one batch (waiting out an outage up to the outage timeout) and answers each ack.
async fn send(target: &Target, batch: &mut Vec<Ack>) {
    let k = &target.keys;
    let keys = [
        k.inputs.clone(),
        k.meta.clone(),
        k.done.clone(),
        k.results.clone(),
        k.workers.clone(),
        k.events.clone(),
        k.deleted.clone(),
        k.tally.clone(),
        k.failures.clone(),
    ];
    let mut args = Vec::with_capacity(4 + 5 * batch.len());
    args.push(GROUP.to_string());
    args.push(target.worker.clone());
    args.push((target.known_id)());
    args.push(crate::keys::FAILURES_KEPT.to_string());
    for ack in batch.iter_mut() {
        args.push(ack.id.clone());
        args.push(ack.position.to_string());
        args.push(if ack.ok { "1" } else { "0" }.to_string());
        args.push(std::mem::take(&mut ack.record));
        args.push(std::mem::take(&mut ack.input));
    }
    let answer: Result<Vec<u8>, Error> =
        target.redis.script(&scripts::ACK_BATCH, &keys, &args).await;
    for (i, ack) in batch.drain(..).enumerate() {
        let one = match &answer {
            Ok(recorded) => Ok(recorded.get(i).is_some_and(|r| *r == 1)),
            Err(e) => Err(e.clone()),
        };
        let _ = ack.reply.send(one);
    }
}
