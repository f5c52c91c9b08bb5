//! Adaptive limits: the public [`AdaptiveLimit`](crate::AdaptiveLimit), the controller that
//! moves one, and the timing of the core streams' tasks that feeds it.
//!
//! `window` is at the bottom, `controller` on it, `timing` and `adaptive_limit` on those.
//! Nothing here imports `limit.rs`, which builds [`Limit`](crate::Limit) on them: what a timer
//! needs of a limit (its controller) is passed in, and the check of a limit's bounds is
//! `limit_check`'s.

pub(crate) mod adaptive_limit;
pub(crate) mod controller;
pub(crate) mod timing;
pub(crate) mod window;

pub(crate) use controller::Controller;
pub(crate) use window::Reply;
