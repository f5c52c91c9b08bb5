//! One input's whole life under the policies: attempts, timeouts, backoff, counting.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use super::event::Event;
use super::gate::Admitted;
use super::halt::Halt;
use super::outcome::{Failure, Outcome};
use super::progress::Progress;
use super::rate::Pacer;
use super::retry::{Retry, RetryIf};
use super::run_mode::RunMode;

/// A hook that sees every event of a run.
pub(crate) type Hook = Arc<dyn Fn(&Event) + Send + Sync>;

/// What every task of one run shares.
pub(crate) struct RunShared<F, R, M> {
    pub(crate) task: F,
    pub(crate) timeout: Option<Duration>,
    pub(crate) retry: Option<Retry>,
    pub(crate) retry_if: R,
    pub(crate) mode: M,
    pub(crate) pacer: Pacer,
    pub(crate) progress: Option<Progress>,
    pub(crate) hook: Option<Hook>,
    pub(crate) halt: Arc<Halt>,
}

/// Runs one admitted input to its outcome. The key guard lives as long as this future, so the
/// input's key slot frees when it ends or is cancelled.
pub(crate) async fn run_input<I, K, T, E, F, Fut, R, M>(
    admitted: Admitted<I, K>,
    shared: Arc<RunShared<F, R, M>>,
) -> Outcome<I, T, E>
where
    K: std::hash::Hash + Eq + Clone,
    F: Fn(&I) -> Fut,
    Fut: Future<Output = Result<T, E>>,
    R: RetryIf<E>,
    M: RunMode<Fut>,
{
    let Admitted {
        input,
        index,
        guard: _key_slot,
    } = admitted;
    if let Some(hook) = &shared.hook {
        hook(&Event::Started { index });
    }
    let started = Instant::now();
    let max_attempts = shared.retry.map_or(1, |r| r.max_attempts());
    let mut attempts = 0;
    let result = loop {
        attempts += 1;
        if attempts > 1 {
            shared.pacer.start().await; // a retry is a start too
        }
        // The attempt is made before awaiting, so no borrow of the input is held across an
        // await (which would make the input need `Sync` in spawn mode and in pools).
        let running = shared.mode.start((shared.task)(&input));
        let failure = match attempt(shared.timeout, running).await {
            Ok(output) => break Ok(output),
            Err(failure) => failure,
        };
        // A halted run makes no new attempts: the failure is handed back as it is.
        let retry = match shared.retry {
            Some(retry)
                if attempts < max_attempts
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
        tokio::time::sleep(delay).await;
    };
    let elapsed = started.elapsed();
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
    Outcome {
        input,
        index,
        result,
        attempts,
        elapsed,
    }
}

/// One attempt, under the timeout.
async fn attempt<T, E, A>(timeout: Option<Duration>, running: A) -> Result<T, Failure<E>>
where
    A: Future<Output = Result<Result<T, E>, String>>,
{
    let finished = match timeout {
        Some(limit) => match tokio::time::timeout(limit, running).await {
            Ok(finished) => finished,
            Err(_) => return Err(Failure::TimedOut(limit)),
        },
        None => running.await,
    };
    match finished {
        Ok(Ok(output)) => Ok(output),
        Ok(Err(error)) => Err(Failure::Error(error)),
        Err(panic) => Err(Failure::Panicked(panic)),
    }
}
