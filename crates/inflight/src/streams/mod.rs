//! The plain entry points: streams and futures over an iterator or a stream of futures, with a
//! limit and no other policy. They build on `primitives/` (the engine, the input order) and
//! `limits/` (the limit and its handle); `policy/` builds on them in turn.
//!
//! [`as_completed`](crate::as_completed) hands outputs back as they finish,
//! [`ordered`](crate::ordered) in input order; [`gather`](crate::gather) and
//! [`try_gather`](crate::try_gather) collect every output (or the first error) into one `Vec`;
//! `ext` gives any stream of futures [`in_flight`](crate::InflightExt), and `try_in_flight` the
//! stream that ends at the first error. [`drive`](crate::drive) runs any stream on a task of
//! its own, so its futures go on while the consumer is busy.

pub(crate) mod as_completed;
pub(crate) mod drive;
pub(crate) mod ext;
pub(crate) mod gather;
pub(crate) mod ordered;
pub(crate) mod try_gather;
pub(crate) mod try_in_flight;
