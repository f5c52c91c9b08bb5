//! The check every entry point makes of its limit.

/// Panics unless `limit` is at least 1, naming the argument like `slice::chunks(0)` does: a
/// limit of zero would never start anything and wait forever.
#[track_caller]
pub(crate) fn check_limit(limit: usize, what: &str) {
    assert!(limit > 0, "{what} must be at least 1, got {limit}");
}
