//! Adaptive limits: the public [`AdaptiveLimit`](crate::AdaptiveLimit), the controller that
//! moves one, and the timing of the core streams' tasks that feeds it.

pub(crate) mod adaptive_limit;
pub(crate) mod controller;
pub(crate) mod timing;
pub(crate) mod window;

pub(crate) use controller::Controller;
pub(crate) use window::Reply;
