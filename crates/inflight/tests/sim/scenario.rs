//! The phases a simulated run goes through, each a stretch of time under fixed conditions.

use std::time::Duration;

use super::server::Conditions;

/// One stretch of a run under fixed conditions. Its first `settle` is left out of its
/// measurements: the time a controller is given to find the new optimum.
#[derive(Debug, Clone)]
pub struct Segment {
    pub name: &'static str,
    pub duration: Duration,
    pub conditions: Conditions,
    pub settle: Duration,
}

/// Segments, one after the other.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: &'static str,
    pub segments: Vec<Segment>,
}

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn segment(name: &'static str, seconds: u64, conditions: Conditions, settle: u64) -> Segment {
    Segment {
        name,
        duration: secs(seconds),
        conditions,
        settle: secs(settle),
    }
}

impl Scenario {
    /// C = 40, long enough to measure 20 s after a 10 s start.
    pub fn steady() -> Scenario {
        Scenario {
            name: "steady",
            segments: vec![segment("steady C=40", 30, Conditions::capacity(40), 10)],
        }
    }

    /// C = 40, then 10, then 80: each step is measured from 10 s after it.
    pub fn steps() -> Scenario {
        Scenario {
            name: "steps",
            segments: vec![
                segment("C=40", 20, Conditions::capacity(40), 10),
                segment("step to C=10", 20, Conditions::capacity(10), 10),
                segment("step to C=80", 20, Conditions::capacity(80), 10),
            ],
        }
    }

    /// C = 40, then every request 3x slower for 10 s (capacity unchanged), then normal again.
    pub fn inflation() -> Scenario {
        let normal = Conditions::capacity(40);
        Scenario {
            name: "inflation",
            segments: vec![
                segment("C=40", 20, normal, 10),
                segment("3x slower", 10, normal.slowdown(3.0), 0),
                segment("normal again", 20, normal, 10),
            ],
        }
    }

    /// C = 40, 5% of requests reset at once whatever the load.
    pub fn fast_errors() -> Scenario {
        Scenario {
            name: "fast errors",
            segments: vec![segment(
                "5% fast errors",
                30,
                Conditions::capacity(40).fast_errors(0.05),
                10,
            )],
        }
    }

    /// C = 40, 70% fast requests (10 ms) and 30% slow ones (250 ms).
    pub fn mix() -> Scenario {
        Scenario {
            name: "mix",
            segments: vec![segment(
                "fast/slow mix",
                30,
                Conditions::capacity(40).mixed(),
                10,
            )],
        }
    }

    /// Every phase, one after the other, for the benchmark's table and plot.
    pub fn all() -> Scenario {
        let mut segments = Vec::new();
        for scenario in [
            Scenario::steps(),
            Scenario::inflation(),
            Scenario::fast_errors(),
            Scenario::mix(),
        ] {
            segments.extend(scenario.segments);
        }
        Scenario {
            name: "all phases",
            segments,
        }
    }

    pub fn duration(&self) -> Duration {
        self.segments.iter().map(|s| s.duration).sum()
    }

    /// Each segment with its start time.
    pub fn timed(&self) -> impl Iterator<Item = (Duration, &Segment)> {
        self.segments.iter().scan(Duration::ZERO, |at, segment| {
            let start = *at;
            *at += segment.duration;
            Some((start, segment))
        })
    }
}
