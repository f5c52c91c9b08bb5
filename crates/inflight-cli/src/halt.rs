//! `--halt`: stop early on failures, with GNU parallel's meanings. `soon` stops starting new
//! jobs and waits for the running ones; `now` also kills the running ones.

/// What to do once the condition holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// Stop starting jobs; let the running ones finish.
    Soon,
    /// Stop starting jobs and kill the running ones.
    Now,
}

/// Which finished jobs count towards the threshold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counting {
    Fail,
    Success,
    Done,
}

/// A count, or a percentage of the jobs finished so far.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Threshold {
    Count(u64),
    Percent(f64),
}

/// A parsed `--halt` rule, e.g. `now,fail=1` or `soon,fail=10%`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Halt {
    pub when: When,
    pub counting: Counting,
    pub threshold: Threshold,
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
        match s {
            "never" | "0" => return Ok(None),
            "1" => return Ok(Some(Halt::soon_fail_1(When::Soon))),
            "2" => return Ok(Some(Halt::soon_fail_1(When::Now))),
            _ => {}
        }
        let usage = "expected e.g. now,fail=1 or soon,fail=10% (or never)";
        let (when, rest) = s.split_once(',').ok_or_else(|| usage.to_string())?;
        let when = match when.trim() {
            "now" => When::Now,
            "soon" => When::Soon,
            other => return Err(format!("'{other}' is not now or soon; {usage}")),
        };
        let (counting, value) = rest.split_once('=').ok_or_else(|| usage.to_string())?;
        let counting = match counting.trim() {
            "fail" => Counting::Fail,
            "success" => Counting::Success,
            "done" => Counting::Done,
            other => return Err(format!("'{other}' is not fail, success or done; {usage}")),
        };
        let value = value.trim();
        let threshold = if let Some(p) = value.strip_suffix('%') {
            match p.trim().parse::<f64>() {
                Ok(p) if p > 0.0 && p <= 100.0 => Threshold::Percent(p),
                _ => return Err(format!("'{value}' is not a percentage in (0, 100]")),
            }
        } else {
            match value.parse::<u64>() {
                Ok(n) if n > 0 => Threshold::Count(n),
                _ => return Err(format!("'{value}' is not a count of at least 1")),
            }
        };
        Ok(Some(Halt {
            when,
            counting,
            threshold,
        }))
    }

    fn soon_fail_1(when: When) -> Halt {
        Halt {
            when,
            counting: Counting::Fail,
            threshold: Threshold::Count(1),
        }
    }

    /// Whether the rule holds after `ok` successes and `failed` failures.
    pub fn holds(&self, ok: u64, failed: u64) -> bool {
        let done = ok + failed;
        let counted = match self.counting {
            Counting::Fail => failed,
            Counting::Success => ok,
            Counting::Done => done,
        };
        match self.threshold {
            Threshold::Count(n) => counted >= n,
            Threshold::Percent(p) => {
                done >= PERCENT_MIN_DONE && counted as f64 * 100.0 >= p * done as f64
            }
        }
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
        assert_eq!(
            (h.when, h.counting, h.threshold),
            (When::Now, Counting::Fail, Threshold::Count(1))
        );
        let h = Halt::parse("soon,fail=10%").unwrap().unwrap();
        assert_eq!(h.when, When::Soon);
        assert_eq!(h.threshold, Threshold::Percent(10.0));
        let h = Halt::parse("soon,success=3").unwrap().unwrap();
        assert_eq!(h.counting, Counting::Success);
        assert_eq!(Halt::parse("2").unwrap().unwrap().when, When::Now);
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

    #[test]
    fn thresholds() {
        let count = Halt::parse("now,fail=2").unwrap().unwrap();
        assert!(!count.holds(10, 1));
        assert!(count.holds(0, 2));
        let pct = Halt::parse("soon,fail=50%").unwrap().unwrap();
        assert!(!pct.holds(0, 1), "too few finished to judge a percentage");
        assert!(!pct.holds(3, 2));
        assert!(pct.holds(2, 2));
        let ok = Halt::parse("now,success=1").unwrap().unwrap();
        assert!(ok.holds(1, 0));
        assert!(!ok.holds(0, 5));
    }
}
