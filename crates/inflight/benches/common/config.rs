//! The criterion settings every benchmark of this crate uses.

use std::time::Duration;

use criterion::Criterion;

/// Ten flat samples after a short warm-up: one run is tens to hundreds of milliseconds, and the
/// whole suite must fit in minutes on a 2-core machine.
pub fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}
