//! Replies gathered into windows, as Netflix's `WindowedLimit` does before it hands one
//! aggregate sample to Vegas or Gradient2: a window closes at the first reply after it has
//! lasted twice its quickest reply (at least `MIN_TIME`, at most `MAX_TIME`) and holds at
//! least `MIN_SAMPLES` replies.

use std::time::Duration;

use tokio::time::Instant;

use crate::sim::run::Sample;

pub const MIN_TIME: Duration = Duration::from_millis(100);
pub const MAX_TIME: Duration = Duration::from_secs(1);
pub const MIN_SAMPLES: usize = 10;

/// One closed window.
#[derive(Debug, Clone, Copy)]
pub struct Aggregate {
    pub mean: Duration,
    pub drops: usize,
    pub max_in_flight: usize,
}

#[derive(Debug, Default)]
pub struct Window {
    next_close: Option<Instant>,
    latencies: Vec<Duration>,
    drops: usize,
    max_in_flight: usize,
}

impl Window {
    /// Adds a reply; the aggregate of the window if this reply closed it.
    pub fn add(&mut self, sample: Sample) -> Option<Aggregate> {
        let next_close = *self.next_close.get_or_insert(sample.now + MIN_TIME);
        if sample.dropped {
            self.drops += 1;
        } else {
            self.latencies.push(sample.latency);
        }
        self.max_in_flight = self.max_in_flight.max(sample.in_flight + 1);
        let count = self.latencies.len() + self.drops;
        if sample.now < next_close || count < MIN_SAMPLES {
            return None;
        }
        let quickest = self.latencies.iter().min().copied().unwrap_or(MIN_TIME);
        self.next_close = Some(sample.now + (quickest * 2).clamp(MIN_TIME, MAX_TIME));
        let aggregate = Aggregate {
            mean: if self.latencies.is_empty() {
                Duration::ZERO
            } else {
                self.latencies.iter().sum::<Duration>() / self.latencies.len() as u32
            },
            drops: self.drops,
            max_in_flight: self.max_in_flight,
        };
        self.latencies.clear();
        self.drops = 0;
        self.max_in_flight = 0;
        Some(aggregate)
    }
}
