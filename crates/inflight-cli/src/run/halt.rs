//! `--halt`: stop early on failures, with GNU parallel's meanings. `soon` stops starting new
//! jobs and waits for the running ones; `now` also kills the running ones. Only the parsing is
//! here: the counting and the stopping are the library's ([`inflight::ErrorPolicy`] and
//! [`inflight::HaltMode`]).
use inflight::{Counted, ErrorPolicy, HaltMode};

/// A parsed `--halt` rule, e.g. `now,fail=1` or `soon,fail=10%`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Halt {
    pub mode: HaltMode,
    pub policy: ErrorPolicy,
}

/// A percentage is judged only after this many jobs finished, so that one early failure out
/// of one job does not count as "100% failed" (GNU parallel waits for a few jobs too).
const PERCENT_MIN_DONE: u64 = 3;

impl Halt {
    /// Parses `never`, `soon,fail=N`, `now,fail=N%`, `success=` and `done=` forms, and GNU
    /// parallel's shorthands `0` (never), `1` (soon,fail=1) and `2` (now,fail=1).
    /// `Ok(None)` means never halt.
    pub fn parse(s: &str) -> Result<Option<Halt>, String> {
        let s = s.trim();
        let first_failure = |mode| Halt {
            mode,
            policy: ErrorPolicy::fail_fast(),
        };
        match s {
            "never" | "0" => return Ok(None),
            "1" => return Ok(Some(first_failure(HaltMode::Soon))),
            "2" => return Ok(Some(first_failure(HaltMode::Now))),
            _ => {}
        }
        let usage = "expected e.g. now,fail=1 or soon,fail=10% (or never)";
        let (when, rest) = s.split_once(',').ok_or_else(|| usage.to_string())?;
        let mode = match when.trim() {
            "now" => HaltMode::Now,
            "soon" => HaltMode::Soon,
            other => return Err(format!("'{other}' is not now or soon; {usage}")),
        };
        let (counting, value) = rest.split_once('=').ok_or_else(|| usage.to_string())?;
        let counted = match counting.trim() {
            "fail" => Counted::Failed,
            "success" => Counted::Succeeded,
            "done" => Counted::Done,
            other => return Err(format!("'{other}' is not fail, success or done; {usage}")),
        };
        let value = value.trim();
        let policy = if let Some(p) = value.strip_suffix('%') {
            match p.trim().parse::<f64>() {
                Ok(percent) if percent > 0.0 && percent <= 100.0 => ErrorPolicy::HaltAtShare {
                    counted,
                    percent,
                    min_done: PERCENT_MIN_DONE,
                },
                _ => return Err(format!("'{value}' is not a percentage in (0, 100]")),
            }
        } else {
            match value.parse::<u64>() {
                Ok(n) if n > 0 => ErrorPolicy::HaltAfter { counted, n },
                _ => return Err(format!("'{value}' is not a count of at least 1")),
            }
        };
        Ok(Some(Halt { mode, policy }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_forms() {
        assert_eq!(Halt::parse("never"), Ok(None));
        assert_eq!(Halt::parse("0"), Ok(None));
        let h = Halt::parse("now,fail=1").unwrap().unwrap();
        assert_eq!(h.mode, HaltMode::Now);
        assert_eq!(
            h.policy,
            ErrorPolicy::HaltAfter {
                counted: Counted::Failed,
                n: 1
            }
        );
        let h = Halt::parse("soon,fail=10%").unwrap().unwrap();
        assert_eq!(h.mode, HaltMode::Soon);
        assert_eq!(
            h.policy,
            ErrorPolicy::HaltAtShare {
                counted: Counted::Failed,
                percent: 10.0,
                min_done: 3
            }
        );
        let h = Halt::parse("soon,success=3").unwrap().unwrap();
        assert_eq!(
            h.policy,
            ErrorPolicy::HaltAfter {
                counted: Counted::Succeeded,
                n: 3
            }
        );
        let h = Halt::parse("now,done=50%").unwrap().unwrap();
        assert!(matches!(
            h.policy,
            ErrorPolicy::HaltAtShare {
                counted: Counted::Done,
                ..
            }
        ));
        assert_eq!(
            Halt::parse("2").unwrap().unwrap(),
            Halt {
                mode: HaltMode::Now,
                policy: ErrorPolicy::fail_fast()
            }
        );
        assert_eq!(Halt::parse("1").unwrap().unwrap().mode, HaltMode::Soon);
    }

    #[test]
    fn rejects_bad_forms() {
        for bad in [
            "",
            "now",
            "later,fail=1",
            "now,oops=1",
            "now,fail=0",
            "now,fail=x",
            "soon,fail=0%",
            "soon,fail=101%",
        ] {
            assert!(Halt::parse(bad).is_err(), "{bad}");
        }
    }
}
