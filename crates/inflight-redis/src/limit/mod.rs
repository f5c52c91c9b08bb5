//! Global concurrency limits: one limit ([`GlobalLimit`]) or one per key ([`GlobalPerKey`]),
//! both made of the same [`family::Family`] of scripts, notification hub and lease renewer.

pub(crate) mod family;
pub(crate) mod global;
pub(crate) mod hub;
pub(crate) mod options;
pub(crate) mod overview;
pub(crate) mod per_key;
pub(crate) mod permit;
pub(crate) mod renew;
