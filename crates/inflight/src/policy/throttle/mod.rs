//! What else holds a start back in a run under policies, besides the builder's own limit: a
//! start [`Rate`](crate::Rate) (`rate`), per-key limits (`keys`, the builder's `per_key`), and
//! limits shared with other processes ([`SharedLimit`](crate::SharedLimit), `shared`).
//!
//! The bottom of `policy/`: these files import nothing of it (`shared` takes the
//! [`Limiter`](crate::Limiter) from `limits/`); the builder, the gate and each input's task
//! build on them.

pub(crate) mod keys;
pub(crate) mod rate;
pub(crate) mod shared;
