//! The check every limit argument gets, in a file of its own below both [`Limit`] and
//! [`AdaptiveLimit`] (which use it on their bounds), so neither imports the other for it.
//!
//! [`Limit`]: crate::Limit
//! [`AdaptiveLimit`]: crate::AdaptiveLimit

/// Panics unless `limit` is at least 1, naming the argument like `slice::chunks(0)` does: a
/// limit of zero would never start anything and wait forever.
#[track_caller]
pub(crate) fn check_limit(limit: usize, what: &str) {
    assert!(limit > 0, "{what} must be at least 1, got {limit}");
}
