//! `-j N`, `-j auto` and `-j auto:MAX`: a fixed number of jobs at once, or a limit the
//! library adapts to what the jobs' latencies and refusals say about the other side.

use inflight::{Limit, RunHandle};

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
    /// Parses `N`, `auto` or `auto:MAX` (N and MAX at least 1).
    pub fn parse(s: &str) -> Result<Jobs, String> {
        let s = s.trim();
        let number = |n: &str| match n.trim().parse::<usize>() {
            Ok(0) => Err("must be at least 1".to_string()),
            Ok(n) => Ok(n),
            Err(_) => Err(format!("'{n}' is not a whole number, auto or auto:MAX")),
        };
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
    }
}
