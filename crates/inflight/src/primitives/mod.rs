//! The machinery every stream runs on, built on `limits/` (the limit in force and the timers
//! of an adaptive one) and nothing else of the crate.
//!
//! `wake` is the queue of woken slots, `slots` the arena of futures in flight over it, and
//! `budget` the caps on one call's work. `engine` is the pull loop on those: refill free slots
//! from the source, poll what was woken. `iter_source` makes an iterator a source, `indexed`
//! tags each future with its position, and `input_order` puts outputs back in that order with
//! the `reorder` buffer. The public streams in `streams/` and the builder's runs in `policy/`
//! are made of these.

pub(crate) mod budget;
pub(crate) mod engine;
pub(crate) mod indexed;
pub(crate) mod input_order;
pub(crate) mod iter_source;
pub(crate) mod reorder;
pub(crate) mod slots;
pub(crate) mod wake;
