//! [`Limit`]: how many tasks may run at once, fixed or adaptive; and the checks every entry
//! point makes of it.

use crate::adaptive::adaptive_limit::AdaptiveLimit;
use crate::adaptive::timing::{Timer, Timing, Untimed};
use crate::adaptive::Controller;
use crate::limit_check::check_limit;

/// How many tasks may run at once: a fixed number, or an [adaptive](Limit::adaptive) limit
/// that follows the latency (and, under [`Inflight`](crate::Inflight), the drops) of the tasks
/// themselves.
///
/// Every entry point takes `impl Into<Limit>`, so a plain number still works (`as_completed(f,
/// 10)`), and so does `Limit::adaptive()` with its bounds:
///
/// ```
/// use futures::StreamExt;
/// use inflight::Limit;
///
/// # futures::executor::block_on(async {
/// let fixed = inflight::as_completed((0..10).map(|i| async move { i }), 4);
/// assert_eq!(fixed.limit(), 4);
///
/// let adaptive = inflight::as_completed((0..10).map(|i| async move { i }), Limit::adaptive().max(64));
/// assert_eq!(adaptive.limit(), 10); // it starts at 10 and moves between 1 and 64
/// assert_eq!(adaptive.collect::<Vec<_>>().await.len(), 10);
/// # });
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit(Kind);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Fixed(usize),
    Adaptive(AdaptiveLimit),
}

impl Limit {
    /// At most `limit` at once, always (what a plain number means). 0 is a valid value only
    /// for a limit changed at run time, where it pauses; see the crate docs on
    /// [limits](crate#limits).
    ///
    /// ```
    /// assert_eq!(inflight::Limit::fixed(8), inflight::Limit::from(8));
    /// ```
    pub fn fixed(limit: usize) -> Limit {
        Limit(Kind::Fixed(limit))
    }

    /// A limit that adapts to the tasks' latency, between 1 and 1000 and starting at 10 unless
    /// told otherwise; see [`AdaptiveLimit`] for when to use it, how it works and what it
    /// cannot know.
    ///
    /// ```
    /// let limit = inflight::Limit::adaptive().min(2).max(500).initial(20);
    /// assert_eq!(limit.range(), 2..=500);
    /// ```
    pub fn adaptive() -> AdaptiveLimit {
        AdaptiveLimit::default()
    }

    /// The fixed number, if this is a fixed limit.
    ///
    /// ```
    /// assert_eq!(inflight::Limit::from(3).as_fixed(), Some(3));
    /// assert_eq!(inflight::Limit::from(inflight::Limit::adaptive()).as_fixed(), None);
    /// ```
    pub fn as_fixed(&self) -> Option<usize> {
        match self.0 {
            Kind::Fixed(limit) => Some(limit),
            Kind::Adaptive(_) => None,
        }
    }

    /// The adaptive limit's settings, if this is one.
    ///
    /// ```
    /// let limit = inflight::Limit::from(inflight::Limit::adaptive().max(50));
    /// assert_eq!(limit.as_adaptive().map(|a| a.range()), Some(1..=50));
    /// ```
    pub fn as_adaptive(&self) -> Option<AdaptiveLimit> {
        match self.0 {
            Kind::Fixed(_) => None,
            Kind::Adaptive(adaptive) => Some(adaptive),
        }
    }

    /// Whether this limit adapts.
    ///
    /// ```
    /// assert!(!inflight::Limit::from(3).is_adaptive());
    /// ```
    pub fn is_adaptive(&self) -> bool {
        matches!(self.0, Kind::Adaptive(_))
    }

    /// The limit to start at, and the controller that moves it if it adapts. `current` is the
    /// limit in force when this one replaces it at run time: an adaptive limit without an
    /// initial value starts from there.
    pub(crate) fn start(&self, current: Option<usize>) -> (usize, Option<Controller>) {
        match self.0 {
            Kind::Fixed(limit) => (limit, None),
            Kind::Adaptive(adaptive) => {
                let controller = adaptive.controller(current);
                (controller.limit(), Some(controller))
            }
        }
    }

    /// The most this limit can ever be: a default for the buffers sized by it.
    pub(crate) fn most(&self) -> usize {
        match self.0 {
            Kind::Fixed(limit) => limit,
            Kind::Adaptive(adaptive) => *adaptive.range().end(),
        }
    }
}

impl From<usize> for Limit {
    fn from(limit: usize) -> Limit {
        Limit::fixed(limit)
    }
}

impl From<AdaptiveLimit> for Limit {
    fn from(adaptive: AdaptiveLimit) -> Limit {
        Limit(Kind::Adaptive(adaptive))
    }
}

/// What an entry point takes as its limit: a number, a [`Limit`], or an [`AdaptiveLimit`].
///
/// With a number, the stream keeps a fixed limit, exactly as it would without adaptive limits
/// and at the same cost: its type's last parameter is `usize` (the default), and its
/// `set_limit` takes numbers. With a `Limit` or an `AdaptiveLimit`, it keeps a `Limit`: fixed
/// or adaptive, and `set_limit` can switch it from one to the other while it runs.
///
/// ```
/// use inflight::{AsCompleted, Limit};
/// use inflight::source::IterSource;
///
/// type Fixed = AsCompleted<IterSource<std::vec::IntoIter<std::future::Ready<u8>>>>;
/// type Adaptive = AsCompleted<IterSource<std::vec::IntoIter<std::future::Ready<u8>>>, Limit>;
///
/// let fixed: Fixed = inflight::as_completed(vec![std::future::ready(1)], 8);
/// let mut adaptive: Adaptive = inflight::as_completed(vec![std::future::ready(1)], Limit::adaptive());
/// adaptive.set_limit(4); // now fixed at 4; it could adapt again later
/// # drop(fixed);
/// ```
pub trait IntoLimit: Into<Limit> + sealed::Kept {
    /// The limit the stream keeps: `usize` for a number, `Limit` for the others.
    type Kept: IntoLimit;
}

impl IntoLimit for usize {
    type Kept = usize;
}

impl IntoLimit for Limit {
    type Kept = Limit;
}

impl IntoLimit for AdaptiveLimit {
    type Kept = Limit;
}

/// What only this crate implements: the timer that goes with each kind of limit.
pub(crate) mod sealed {
    use super::*;

    pub trait Kept {
        type Timer: Timer;
    }

    impl Kept for usize {
        type Timer = Untimed;
    }

    impl Kept for Limit {
        type Timer = Option<Box<Timing>>;
    }

    impl Kept for AdaptiveLimit {
        type Timer = Option<Box<Timing>>;
    }
}

/// The timer of the streams that keep `L`.
pub(crate) type TimerOf<L> = <<L as IntoLimit>::Kept as sealed::Kept>::Timer;

/// The same check for a limit given when something is made: a fixed one must be at least 1,
/// an adaptive one must have its minimum at most its maximum.
#[track_caller]
pub(crate) fn check(limit: Limit, what: &str) -> Limit {
    match limit.0 {
        Kind::Fixed(limit) => check_limit(limit, what),
        Kind::Adaptive(adaptive) => adaptive.check(what),
    }
    limit
}
