//! Global concurrency limits: one limit ([`GlobalLimit`]) or one per key ([`GlobalPerKey`]),
//! both made of the same [`family::Family`] of scripts, notification hub and lease renewer.
//!
//! `family` holds the shared state at the bottom; `permit`, `hub` (wake-ups) and `renew`
//! (leases) build on it, `acquire` on those, and the handles (`global`, `per_key`) on top.

pub(crate) mod acquire;
pub(crate) mod family;
pub(crate) mod global;
pub(crate) mod hub;
pub(crate) mod options;
pub(crate) mod per_key;
pub(crate) mod permit;
pub(crate) mod renew;
