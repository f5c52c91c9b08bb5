//! [`Event`]: what a run reports to a hook set with [`Inflight::on_event`](crate::Inflight::on_event).

use std::time::Duration;

/// Something that happened to one input of a run, or to the limit of the builder's runs.
///
/// ```
/// let event = inflight::Event::Started { index: 0 };
/// assert_eq!(event, inflight::Event::Started { index: 0 });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// Input `index` started its first attempt.
    Started {
        /// The input's position in the source.
        index: u64,
    },
    /// Input `index` failed attempt `attempt` and will try again after `delay`.
    Retrying {
        /// The input's position in the source.
        index: u64,
        /// The attempt that failed, from 1.
        attempt: u32,
        /// The backoff before the next attempt.
        delay: Duration,
    },
    /// Input `index` finished.
    Finished {
        /// The input's position in the source.
        index: u64,
        /// Whether it succeeded.
        ok: bool,
        /// How many attempts it took.
        attempts: u32,
        /// From its start to its end.
        elapsed: Duration,
    },
    /// An [adaptive](crate::Limit::adaptive) limit moved (reported by the task whose end moved
    /// it). Changes made through [`RunHandle::set_limit`](crate::RunHandle::set_limit) are not
    /// reported: their caller knows.
    LimitChanged {
        /// The limit before.
        from: usize,
        /// The limit now.
        to: usize,
    },
}
