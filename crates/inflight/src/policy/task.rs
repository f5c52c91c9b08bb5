//! One input's whole life under the policies: shared limits, pacing, attempts, timeouts,
//! backoff, counting.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::attempt::{Places, SpawnCell};
use super::drop_if::{is_drop, DropIf};
use super::event::Event;
use super::gate::Admitted;
use super::give_back::Returnable;
use super::halt::Halt;
use super::handle::Control;
use super::outcome::{Failure, Outcome};
use super::progress::{CountsPanic, Progress};
use super::retry::{Retry, RetryIf};
use super::throttle::rate::Pacer;
use super::throttle::shared::{SharedLimitError, SharedLimits, SharedPermit};

/// A hook that sees every event of a run.
pub(crate) type Hook = Arc<dyn Fn(&Event) + Send + Sync>;

/// What every task of one run shares.
pub(crate) struct RunShared<F, E, Fut: Future> {
    pub(crate) task: F,
    pub(crate) timeout: Option<Duration>,
    pub(crate) retry: Option<Retry>,
    pub(crate) retry_if: Arc<dyn RetryIf<E> + Send + Sync>,
    pub(crate) spawn: Arc<SpawnCell<Fut>>,
    pub(crate) pacer: Pacer,
    pub(crate) shared: SharedLimits,
    pub(crate) progress: Option<Progress>,
    pub(crate) hook: Option<Hook>,
    pub(crate) halt: Arc<Halt>,
    /// The builder's limit, which an adaptive limit moves from each attempt's end.
    pub(crate) control: Arc<Control>,
    pub(crate) drop_if: Option<DropIf<E>>,
}

impl<F, E, Fut: Future> RunShared<F, E, Fut> {
    /// Tells an adaptive limit of an attempt that began at `began` and ended now, failing with
    /// `failure` (or not). Out of line: inlined into the attempt loop, it cost a fixed limit,
    /// which never calls it, 17 more instructions per task.
    #[inline(never)]
    fn replied(&self, began: Option<Instant>, failure: Option<&Failure<E>>) {
        let Some(began) = began else {
            return;
        };
        let dropped = failure.is_some_and(|failure| is_drop(failure, self.drop_if.as_ref()));
        if let Some((from, to)) = self.control.replied(began.elapsed(), dropped) {
            if let Some(hook) = &self.hook {
                hook(&Event::LimitChanged { from, to });
            }
        }
    }
}

/// Runs one admitted input to its outcome; `None` if the run halted before it could start (it
/// was pulled, but never ran: nothing to hand back). The input's slot and key slot live as long
/// as this future, so they free when it ends or is cancelled.
pub(crate) async fn run_input<I, T, E, F, Fut>(
    admitted: Admitted<I>,
    shared: Arc<RunShared<F, E, Fut>>,
) -> Option<Outcome<I, T, E>>
where
    F: Fn(&I) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let Admitted {
        input,
        index,
        slot,
        key,
    } = admitted;
    // Without shared limits (the usual case) there is nothing to wait for: no await at all.
    let places = if shared.shared.holds_places() {
        take_shared_places(&shared.shared, key.as_ref().map(|k| k.key()))
            .await
            .map(Some)
    } else {
        Ok(None)
    };
    // Every place is held here until this future ends or is dropped; spawned attempts hold
    // them too, so that a dropped run's aborted tasks keep them until they really end.
    let (input, result, attempts, elapsed) = match places {
        Ok(held) => {
            // Moved into the spawned attempts' share, or else held here to the end.
            let (shared_places, _held) = if shared.spawn.spawns() {
                (Some(Arc::new((slot, key, held)) as Places), None)
            } else {
                (None, held)
            };
            attempts(&shared, input, index, shared_places.as_ref()).await?
        }
        Err(error) => {
            // Never fail open: without the shared limit, nothing more starts.
            shared.halt.stop_soon();
            let failure = Failure::Unavailable(error.to_string());
            (input.into_inner(), Err(failure), 0, Duration::ZERO)
        }
    };
    let ok = result.is_ok();
    if let Some(progress) = &shared.progress {
        progress.finished(ok, elapsed);
    }
    if let Some(hook) = &shared.hook {
        hook(&Event::Finished {
            index,
            ok,
            attempts,
            elapsed,
        });
    }
    shared.halt.record(index, ok);
    Some(Outcome::new(input, index, result, attempts, elapsed))
}

/// The result of one input (its attempts, retries included), how many attempts it took and how
/// long from the first start, with the input handed back; `None` if the run halted before the
/// first start. The input is owned, not borrowed, across the awaits, so it need not be `Sync`
/// for the run to be `Send`.
async fn attempts<I, T, E, F, Fut>(
    shared: &RunShared<F, E, Fut>,
    input: Returnable<I>,
    index: u64,
    places: Option<&Places>,
) -> Option<(I, Result<T, Failure<E>>, u32, Duration)>
where
    F: Fn(&I) -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempts = 0;
    let mut started = None;
    // With retries, when the attempt under way began (the first began at `started`).
    let mut retry_began = None;
    // Read once per input: whether its attempts are told to an adaptive limit.
    let adapts = shared.control.adapts();
    let mut _running = None;
    let mut last_failure = None;
    let result = loop {
        // The rate counts starts, retries included, taken just before the start itself. A run
        // that stops meanwhile makes no new attempt: a retry hands its last failure back.
        if !shared.pacer.try_start_alone()
            && !shared.halt.unless_stopped(shared.pacer.start()).await
        {
            match last_failure.take() {
                Some(failure) => break Err(failure),
                None => return None,
            }
        }
        if !shared.shared.rate.is_empty() {
            if let Err(error) = take_rate(&shared.shared).await {
                shared.halt.stop_soon();
                break Err(Failure::Unavailable(error.to_string()));
            }
        }
        if attempts == 0 {
            if shared.halt.stopped() {
                return None;
            }
            started = Some(Instant::now());
            _running = shared.progress.as_ref().map(Progress::started);
            if let Some(hook) = &shared.hook {
                hook(&Event::Started { index });
            }
        } else if adapts {
            // A retry's start, timed only for an adaptive limit.
            retry_began = Some(Instant::now());
        }
        attempts += 1;
        // The attempt is made before awaiting, so no borrow of the input is held across an
        // await (which would make the input need `Sync` in spawn mode and in pools).
        let attempt = shared.spawn.start((shared.task)(input.get()), places);
        let failure = match attempt_once(shared.timeout, attempt, shared.progress.as_ref()).await {
            Ok(output) => break Ok(output),
            Err(failure) => failure,
        };
        // A halted run makes no new attempts: the failure is handed back as it is.
        let retry = match shared.retry {
            Some(retry)
                if attempts < retry.max_attempts()
                    && !shared.halt.stopped()
                    && shared.retry_if.should_retry(&failure) =>
            {
                retry
            }
            _ => break Err(failure),
        };
        let delay = shared
            .retry_if
            .retry_delay(&failure, attempts)
            .unwrap_or_else(|| retry.delay_after(attempts));
        if adapts {
            // This attempt's end, for an adaptive limit (the last one's is told below).
            shared.replied(retry_began.or(started), Some(&failure));
        }
        if let Some(progress) = &shared.progress {
            progress.retried();
        }
        if let Some(hook) = &shared.hook {
            hook(&Event::Retrying {
                index,
                attempt: attempts,
                delay,
            });
        }
        if !shared.halt.unless_stopped(tokio::time::sleep(delay)).await {
            break Err(failure);
        }
        last_failure = Some(failure);
    };
    if adapts {
        shared.replied(retry_began.or(started), result.as_ref().err());
    }
    let elapsed = started.map_or(Duration::ZERO, |at| at.elapsed());
    Some((input.into_inner(), result, attempts, elapsed))
}

/// The places an input holds under the shared limits for its whole life: its key's first, then
/// the concurrency limits, so a busy key never holds a place of the shared concurrency limit.
async fn take_shared_places(
    limits: &SharedLimits,
    key: Option<&super::throttle::keys::Key>,
) -> Result<Vec<SharedPermit>, SharedLimitError> {
    let mut held = Vec::new();
    if !limits.per_key.is_empty() {
        let key = key.map(ToString::to_string).unwrap_or_else(|| {
            panic!(
                "Inflight::shared_per_key: this run has no keys; give it some with .per_key(limit, key_of)"
            )
        });
        for limit in &limits.per_key {
            held.push(limit.acquire(Some(&key)).await?);
        }
    }
    for limit in &limits.concurrency {
        held.push(limit.acquire(None).await?);
    }
    Ok(held)
}

/// One start under each shared rate.
async fn take_rate(limits: &SharedLimits) -> Result<(), SharedLimitError> {
    for limit in &limits.rate {
        drop(limit.acquire(None).await?);
    }
    Ok(())
}

/// One attempt, under the timeout. A spawned attempt that times out is stopped and waited for,
/// so it never runs on beside the task that takes its slot.
async fn attempt_once<T, E, Fut>(
    timeout: Option<Duration>,
    attempt: super::attempt::Attempt<Fut>,
    progress: Option<&Progress>,
) -> Result<T, Failure<E>>
where
    Fut: Future<Output = Result<T, E>>,
{
    let mut attempt = std::pin::pin!(attempt);
    // With progress on, a panic of the attempt is counted on its way to the consumer.
    let watched = std::future::poll_fn(|cx| {
        let counting = progress.map(CountsPanic);
        let polled = attempt.as_mut().poll(cx);
        std::mem::forget(counting);
        polled
    });
    let finished = match timeout {
        Some(limit) => match tokio::time::timeout(limit, watched).await {
            Ok(finished) => finished,
            Err(_) => {
                attempt.as_mut().stop().await;
                return Err(Failure::TimedOut(limit));
            }
        },
        None => watched.await,
    };
    match finished {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(error)) => Err(Failure::Error(error)),
        Err(panic) => Err(Failure::Panicked(panic)),
    }
}
