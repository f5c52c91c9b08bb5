//! `-j N`, `-j auto` and `-j auto:MAX`: a fixed number of jobs at once, or a limit the
//! library adapts to what the jobs' latencies and refusals say about the other side.

use inflight::{Limit, RunHandle};

use crate::helpers::parse;

/// How many jobs run at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Jobs {
    /// This many.
    Fixed(usize),
    /// Adapted while the run goes on (`inflight::Limit::adaptive`), up to `max` if given.
    Auto { max: Option<usize> },
}

/// The most `-j auto` runs at once unless told (`auto:MAX`): the library's default.
const AUTO_MAX: usize = 1000;

impl Jobs {
    /// Parses `N`, `+N`, `-N`, `N%`, `auto` or `auto:MAX` (each from 1 to
    /// [`parse::MOST`]). `+N`, `-N` and `N%` count from the CPUs this process may use, as GNU
    /// parallel's `-j` does from the CPU threads: that many more, fewer, or that share of them,
    /// rounded up; one that leaves no job at all is an error, as in parallel.
    pub fn parse(s: &str) -> Result<Jobs, String> {
        Jobs::parse_with(s, cpus())
    }

    fn parse_with(s: &str, cpus: usize) -> Result<Jobs, String> {
        let s = s.trim();
        let number = |n: &str| match parse::count(n, 1, parse::MOST) {
            Err(e) if e.contains("not a whole number") => Err(format!(
                "'{n}' is not a whole number, +N, -N, N%, auto or auto:MAX"
            )),
            other => other,
        };
        if let Some(relative) = relative(s, cpus) {
            let n = relative?;
            if n < 1.0 {
                return Err(format!(
                    "leaves no job to run ({cpus} CPUs here); GNU parallel refuses it too"
                ));
            }
            if n > parse::MOST as f64 {
                return Err(format!("must be at most {}", parse::MOST));
            }
            return Ok(Jobs::Fixed(n as usize));
        }
        match s.strip_prefix("auto") {
            Some("") => Ok(Jobs::Auto { max: None }),
            Some(rest) => match rest.strip_prefix(':') {
                Some(max) => Ok(Jobs::Auto {
                    max: Some(number(max)?),
                }),
                None => Err(format!("'{s}' is not a whole number, auto or auto:MAX")),
            },
            None => Ok(Jobs::Fixed(number(s)?)),
        }
    }

    /// The library's limit for this setting.
    pub fn limit(self) -> Limit {
        match self {
            Jobs::Fixed(n) => Limit::fixed(n),
            Jobs::Auto { max } => {
                let most = max.unwrap_or(AUTO_MAX);
                // Start where a fixed default would, but never above the cap.
                Limit::adaptive().max(most).initial(10.min(most)).into()
            }
        }
    }

    /// The most that may ever run at once.
    pub fn most(self) -> usize {
        match self {
            Jobs::Fixed(n) => n,
            Jobs::Auto { max } => max.unwrap_or(AUTO_MAX),
        }
    }

    /// These jobs, at most `most` at once; whether they had to be lowered.
    pub fn capped(self, most: usize) -> (Jobs, bool) {
        match self {
            Jobs::Fixed(n) if n > most => (Jobs::Fixed(most), true),
            Jobs::Auto { max } if max.unwrap_or(AUTO_MAX) > most => {
                (Jobs::Auto { max: Some(most) }, true)
            }
            jobs => (jobs, false),
        }
    }

    /// Whether the limit adapts.
    pub fn is_auto(self) -> bool {
        matches!(self, Jobs::Auto { .. })
    }
}

/// The CPUs this process may use (affinity and cgroup quota included): the default of exec's
/// `-j`, and what `-j +N|-N|N%` count from.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `+N`, `-N` or `N%` of `cpus`, rounded up as GNU parallel does; `None` for another form.
fn relative(s: &str, cpus: usize) -> Option<Result<f64, String>> {
    let bad = || format!("'{s}' is not a whole number, +N, -N, N%, auto or auto:MAX");
    let whole = |n: &str| {
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        // Digits past f64's precision only matter far above the cap.
        n.parse::<f64>().map_err(|_| bad())
    };
    let cpus = cpus as f64;
    let n = if let Some(n) = s.strip_prefix('+') {
        whole(n).map(|n| cpus + n)
    } else if let Some(n) = s.strip_prefix('-') {
        whole(n).map(|n| cpus - n)
    } else if let Some(p) = s.strip_suffix('%') {
        // A percentage may have a fraction (`12.5%`), as in parallel.
        let (w, f) = p.split_once('.').unwrap_or((p, "0"));
        match (whole(w), whole(f), p.parse::<f64>()) {
            (Ok(_), Ok(_), Ok(p)) => Ok(cpus * p / 100.0),
            _ => Err(bad()),
        }
    } else {
        return None;
    };
    Some(n.map(f64::ceil))
}

/// What the progress line and the summary say about an adaptive limit.
#[derive(Clone)]
pub struct AutoLimit {
    pub handle: RunHandle,
    pub max: usize,
}

impl AutoLimit {
    /// `j=37`, for the progress line.
    pub fn now(&self) -> String {
        format!("j={}", self.handle.limit())
    }

    /// `, -j auto settled at 37 (max 1000)`, for the summary.
    pub fn settled(&self) -> String {
        format!(
            ", -j auto settled at {} (max {})",
            self.handle.limit(),
            self.max
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert_eq!(Jobs::parse("8"), Ok(Jobs::Fixed(8)));
        assert_eq!(Jobs::parse("auto"), Ok(Jobs::Auto { max: None }));
        assert_eq!(Jobs::parse("auto:64"), Ok(Jobs::Auto { max: Some(64) }));
        assert!(Jobs::parse("0").unwrap_err().contains("at least 1"));
        assert!(Jobs::parse("auto:0").unwrap_err().contains("at least 1"));
        assert!(Jobs::parse("autox").is_err());
        assert!(Jobs::parse("many").unwrap_err().contains("auto:MAX"));
        assert_eq!(Jobs::Auto { max: Some(4) }.most(), 4);
        assert!(Jobs::Auto { max: None }.limit().is_adaptive());
        assert!(Jobs::parse("1000001").unwrap_err().contains("at most"));
        assert!(Jobs::parse("2305843009213693952")
            .unwrap_err()
            .contains("at most"));
        assert!(Jobs::parse("auto:1000001").unwrap_err().contains("at most"));
    }

    #[test]
    fn relative_to_the_cpus_as_gnu_parallel() {
        for (form, cpus, want) in [
            ("+1", 2, Some(3)),
            ("+0", 4, Some(4)),
            ("-1", 2, Some(1)),
            ("-2", 2, None),
            ("-1", 1, None),
            ("50%", 2, Some(1)),
            ("50%", 3, Some(2)),
            ("10%", 2, Some(1)),
            ("150%", 2, Some(3)),
            ("12.5%", 8, Some(1)),
            ("0%", 8, None),
        ] {
            let got = Jobs::parse_with(form, cpus).ok();
            assert_eq!(got, want.map(Jobs::Fixed), "-j {form} on {cpus} CPUs");
        }
        for bad in [
            "+",
            "-",
            "%",
            "+x",
            "1e3%",
            "NaN%",
            "inf%",
            "+-1",
            "-+1",
            "1.%",
            "+18446744073709551616000",
        ] {
            assert!(Jobs::parse_with(bad, 2).is_err(), "{bad}");
        }
    }
}
