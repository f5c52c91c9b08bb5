//! How many tasks may run at once: the bottom of the crate, importing nothing of the streams or
//! the policies above it.
//!
//! [`Limit`](crate::Limit) (`limit`) is the limit the streams and the builder take, fixed or
//! [adaptive](crate::Limit::adaptive); `adaptive/` holds the controller that moves an adaptive
//! one and the timers that feed it. `limit_check` is the check every limit argument gets, below
//! both `limit` and `adaptive` so neither imports the other for it. `limit_handle` is the
//! cloneable [`LimitHandle`](crate::LimitHandle) that changes a plain stream's limit. The
//! [`Limiter`](crate::Limiter) (`limiter`) is the resizable semaphore that the pools and the
//! builder's runs count their places with; `block_on` runs its `acquire_blocking`.

pub(crate) mod adaptive;
pub(crate) mod block_on;
pub(crate) mod limit;
pub(crate) mod limit_check;
pub(crate) mod limit_handle;
pub(crate) mod limiter;
