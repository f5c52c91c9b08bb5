//! What a simulated run records, and the measures taken from it.

use std::time::Duration;

/// Resolution of the time series (the plot's x step).
pub const BUCKET: Duration = Duration::from_millis(100);

/// One bucket of the time series.
#[derive(Debug, Clone, Copy, Default)]
pub struct Bucket {
    pub ok: u32,
    pub dropped: u32,
    /// The limit at the end of the bucket, and its lowest value during it.
    pub limit: usize,
    pub min_limit: usize,
    in_flight_sum: u64,
    readings: u32,
}

impl Bucket {
    /// Mean number in flight, read at each reply.
    pub fn in_flight(&self) -> f64 {
        if self.readings == 0 {
            0.0
        } else {
            self.in_flight_sum as f64 / self.readings as f64
        }
    }
}

/// The record of one run.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub buckets: Vec<Bucket>,
    /// Each success: when it came back and how long it took.
    successes: Vec<(Duration, Duration)>,
}

/// The measures of one stretch of a run.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// Successes per second.
    pub goodput: f64,
    pub p50: Duration,
    pub p99: Duration,
    pub mean_limit: f64,
    pub min_limit: usize,
    pub max_limit: usize,
    pub mean_in_flight: f64,
    /// Drops per second.
    pub drops: f64,
}

impl Trace {
    /// Records one reply at `at` (from the start of the run).
    pub fn record(
        &mut self,
        at: Duration,
        latency: Duration,
        ok: bool,
        limit: usize,
        in_flight: usize,
    ) {
        let index = (at.as_nanos() / BUCKET.as_nanos()) as usize;
        while self.buckets.len() <= index {
            // A bucket without replies keeps the limit it started with.
            let carried = self.buckets.last().map_or(limit, |b| b.limit);
            self.buckets.push(Bucket {
                limit: carried,
                min_limit: carried,
                ..Bucket::default()
            });
        }
        let bucket = &mut self.buckets[index];
        if ok {
            bucket.ok += 1;
            self.successes.push((at, latency));
        } else {
            bucket.dropped += 1;
        }
        bucket.limit = limit;
        bucket.min_limit = bucket.min_limit.min(limit);
        bucket.in_flight_sum += in_flight as u64;
        bucket.readings += 1;
    }

    /// The measures of the replies that came back in [from, to).
    pub fn summary(&self, from: Duration, to: Duration) -> Summary {
        let mut latencies: Vec<Duration> = self
            .successes
            .iter()
            .filter(|(at, _)| *at >= from && *at < to)
            .map(|&(_, latency)| latency)
            .collect();
        latencies.sort_unstable();
        let quantile = |q: f64| {
            if latencies.is_empty() {
                return Duration::ZERO;
            }
            let rank = ((q * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
            latencies[rank - 1]
        };
        let first = (from.as_nanos() / BUCKET.as_nanos()) as usize;
        let last = ((to.as_nanos() / BUCKET.as_nanos()) as usize).min(self.buckets.len());
        let buckets = &self.buckets[first.min(last)..last];
        let n = buckets.len().max(1) as f64;
        let seconds = to.saturating_sub(from).as_secs_f64();
        Summary {
            goodput: latencies.len() as f64 / seconds,
            p50: quantile(0.50),
            p99: quantile(0.99),
            mean_limit: buckets.iter().map(|b| b.limit as f64).sum::<f64>() / n,
            min_limit: buckets.iter().map(|b| b.min_limit).min().unwrap_or(0),
            max_limit: buckets.iter().map(|b| b.limit).max().unwrap_or(0),
            mean_in_flight: buckets.iter().map(Bucket::in_flight).sum::<f64>() / n,
            drops: buckets.iter().map(|b| b.dropped as f64).sum::<f64>() / seconds,
        }
    }

    /// Goodput (successes per second) over each second of [from, to).
    pub fn goodput_per_second(&self, from: Duration, to: Duration) -> Vec<f64> {
        let per_second = (Duration::from_secs(1).as_nanos() / BUCKET.as_nanos()) as usize;
        let first = (from.as_nanos() / BUCKET.as_nanos()) as usize;
        let last = ((to.as_nanos() / BUCKET.as_nanos()) as usize).min(self.buckets.len());
        self.buckets[first.min(last)..last]
            .chunks(per_second)
            .map(|chunk| chunk.iter().map(|b| b.ok as f64).sum::<f64>())
            .collect()
    }
}
