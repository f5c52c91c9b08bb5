//! The algorithms from the literature that the library's choice was tested against, written
//! here outside the library: each takes every reply and returns the limit to use.
//!
//! They follow Netflix's concurrency-limits (AIMDLimit, VegasLimit and Gradient2Limit, the
//! last two behind its WindowedLimit) and Envoy's adaptive concurrency filter (gradient
//! controller), with their published defaults except where noted: every one here runs
//! between the same bounds (1 to 500), and drops are left out of the latencies a window
//! averages (a 503 comes back fast and would read as a fast server).

use std::time::Duration;

use tokio::time::Instant;

use super::window::{Aggregate, Window};
use crate::sim::run::{Controller, Sample};

pub const MIN: f64 = 1.0;
pub const MAX: f64 = 500.0;

/// `max(1, floor(log10(limit)))`, Netflix's `Log10RootFunction`.
fn log10(limit: f64) -> f64 {
    limit.log10().floor().max(1.0)
}

/// Netflix `AIMDLimit`: +1 per reply while at least half the limit is in flight, x0.9 on a drop.
pub struct Aimd {
    limit: f64,
}

impl Aimd {
    pub fn new() -> Aimd {
        Aimd { limit: 10.0 }
    }
}

impl Controller for Aimd {
    fn initial(&self) -> usize {
        self.limit as usize
    }

    fn sample(&mut self, s: Sample) -> usize {
        if s.dropped {
            self.limit = (self.limit - 1.0).min((self.limit * 0.9).floor()).max(MIN);
        } else if (s.in_flight + 1) as f64 * 2.0 >= self.limit {
            self.limit = (self.limit + 1.0).min(MAX);
        }
        self.limit as usize
    }
}

/// Netflix `VegasLimit` (alpha 3, beta 6, threshold 1 and steps of 1 below a limit of 100; a
/// probe of the no-load latency every 15 to 30 x limit windows) behind `WindowedLimit`.
pub struct Vegas {
    limit: f64,
    window: Window,
    no_load: Option<Duration>,
    probe_count: usize,
    probe_jitter: f64,
}

impl Vegas {
    pub fn new() -> Vegas {
        Vegas {
            limit: 20.0,
            window: Window::default(),
            no_load: None,
            probe_count: 0,
            probe_jitter: 0.75,
        }
    }

    fn update(&mut self, w: Aggregate) {
        if w.mean.is_zero() {
            return;
        }
        let rtt = w.mean;
        self.probe_count += 1;
        if self.probe_jitter * 30.0 * self.limit <= self.probe_count as f64 {
            // Netflix draws the jitter from [0.5, 1); here it cycles, to stay deterministic.
            self.probe_jitter = if self.probe_jitter > 0.7 { 0.55 } else { 0.85 };
            self.probe_count = 0;
            self.no_load = Some(rtt);
            return;
        }
        let no_load = match self.no_load {
            Some(no_load) if rtt >= no_load => no_load,
            _ => {
                self.no_load = Some(rtt);
                return;
            }
        };
        let queue = (self.limit * (1.0 - no_load.as_secs_f64() / rtt.as_secs_f64())).ceil();
        let log = log10(self.limit);
        let (alpha, beta, threshold) = (3.0 * log, 6.0 * log, log);
        self.limit = if w.drops > 0 {
            self.limit - log
        } else if (w.max_in_flight as f64) * 2.0 < self.limit {
            return;
        } else if queue <= threshold {
            self.limit + beta
        } else if queue < alpha {
            self.limit + log
        } else if queue > beta {
            self.limit - log
        } else {
            return;
        }
        .clamp(MIN, MAX);
    }
}

impl Controller for Vegas {
    fn initial(&self) -> usize {
        self.limit as usize
    }

    fn sample(&mut self, s: Sample) -> usize {
        if let Some(w) = self.window.add(s) {
            self.update(w);
        }
        self.limit as usize
    }
}

/// Netflix `Gradient2Limit` (long-term latency an exponential average over 600 windows,
/// gradient in [0.5, 1], a queue allowance of 4, smoothing 0.2) behind `WindowedLimit`. Its
/// default minimum of 20 is lowered to the common 1.
pub struct Gradient2 {
    limit: f64,
    window: Window,
    long: Option<f64>,
    long_count: usize,
}

impl Gradient2 {
    pub fn new() -> Gradient2 {
        Gradient2 {
            limit: 20.0,
            window: Window::default(),
            long: None,
            long_count: 0,
        }
    }

    fn update(&mut self, w: Aggregate) {
        if w.mean.is_zero() {
            return;
        }
        let short = w.mean.as_secs_f64();
        // ExpAvgMeasurement(600, warm-up 10): a plain mean for 10 windows, then exponential.
        self.long_count += 1;
        let long = match self.long {
            None => short,
            Some(long) if self.long_count <= 10 => long + (short - long) / self.long_count as f64,
            Some(long) => {
                let factor = 2.0 / (600.0 + 1.0);
                long * (1.0 - factor) + short * factor
            }
        };
        self.long = Some(if long / short > 2.0 { long * 0.9 } else { long });
        if (w.max_in_flight as f64) < self.limit / 2.0 {
            return;
        }
        let gradient = (long / short).clamp(0.5, 1.0);
        let target = self.limit * gradient + 4.0;
        self.limit = (self.limit * 0.8 + target * 0.2).clamp(MIN, MAX);
    }
}

impl Controller for Gradient2 {
    fn initial(&self) -> usize {
        self.limit as usize
    }

    fn sample(&mut self, s: Sample) -> usize {
        if let Some(w) = self.window.add(s) {
            self.update(w);
        }
        self.limit as usize
    }
}

/// Envoy's gradient controller: the ideal latency (minRTT, the median of 50 replies at a
/// concurrency of 3) measured at the start and every 60 s, and whenever the limit has sat at
/// its minimum for 5 windows; every 100 ms, `limit = gradient * limit + sqrt(gradient * limit)`
/// with `gradient = 1.25 * minRTT / median latency of the window`, in [0.5, 2].
pub struct Envoy {
    limit: f64,
    min_rtt: Option<Duration>,
    /// Replies gathered for a minRTT measurement, while one is going on, and its start: only
    /// requests sent after it count (Envoy pins the concurrency first).
    measuring: Option<(Instant, Vec<Duration>)>,
    next_measure: Option<Instant>,
    window_end: Option<Instant>,
    window: Vec<Duration>,
    at_min: usize,
    started: bool,
}

const ENVOY_MIN_CONCURRENCY: f64 = 3.0;

impl Envoy {
    pub fn new() -> Envoy {
        Envoy {
            limit: ENVOY_MIN_CONCURRENCY,
            min_rtt: None,
            measuring: None,
            started: false,
            next_measure: None,
            window_end: None,
            window: Vec::new(),
            at_min: 0,
        }
    }

    fn median(latencies: &mut [Duration]) -> Duration {
        latencies.sort_unstable();
        latencies[latencies.len() / 2]
    }
}

impl Controller for Envoy {
    fn initial(&self) -> usize {
        ENVOY_MIN_CONCURRENCY as usize
    }

    fn sample(&mut self, s: Sample) -> usize {
        if !self.started {
            self.started = true;
            self.measuring = Some((s.now - s.latency, Vec::new()));
        }
        if let Some((since, measured)) = &mut self.measuring {
            if !s.dropped && s.now - s.latency >= *since {
                measured.push(s.latency);
            }
            if measured.len() >= 50 {
                self.min_rtt = Some(Envoy::median(measured));
                self.measuring = None;
                self.next_measure = Some(s.now + Duration::from_secs(60));
                self.window_end = Some(s.now + Duration::from_millis(100));
                self.window.clear();
            }
            // While measuring, the concurrency is held at the minimum.
            return ENVOY_MIN_CONCURRENCY as usize;
        }
        if self.next_measure.is_some_and(|at| s.now >= at) {
            self.measuring = Some((s.now, Vec::new()));
            return ENVOY_MIN_CONCURRENCY as usize;
        }
        if !s.dropped {
            self.window.push(s.latency);
        }
        if self.window_end.is_some_and(|end| s.now >= end) && !self.window.is_empty() {
            let sample_rtt = Envoy::median(&mut self.window).as_secs_f64();
            let ideal = self.min_rtt.expect("measured").as_secs_f64() * 1.25;
            let gradient = (ideal / sample_rtt).clamp(0.5, 2.0);
            let limit = gradient * self.limit;
            self.limit = (limit + limit.sqrt()).clamp(ENVOY_MIN_CONCURRENCY, MAX);
            self.window.clear();
            self.window_end = Some(s.now + Duration::from_millis(100));
            self.at_min = if self.limit <= ENVOY_MIN_CONCURRENCY {
                self.at_min + 1
            } else {
                0
            };
            if self.at_min >= 5 {
                self.at_min = 0;
                self.measuring = Some((s.now, Vec::new()));
                return ENVOY_MIN_CONCURRENCY as usize;
            }
        }
        self.limit as usize
    }
}
