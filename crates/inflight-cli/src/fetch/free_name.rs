//! Finding a free name in a directory for a body: `name`, else `stem-1.ext`, `stem-2.ext`...
//! in a number of tries that does not grow with how many bodies already share the name.
//!
//! Trying the suffixes from 1 every time made a crawl of URLs that all end in `/` (every one
//! `index.html`) quadratic: the 10 000th file cost 10 000 `linkat` calls. So each open directory
//! remembers, per name, the suffix after the last one it gave (a bounded cache), and a probe
//! that still meets many taken names (a directory filled by an earlier run) jumps ahead by
//! doubling steps. Any free name is correct, since the claim itself is atomic (`linkat`,
//! `O_EXCL` or `RENAME_NOREPLACE` fail on any existing entry); the lowest free one is only
//! preferred.
use std::collections::HashMap;
use std::io;
use std::sync::Mutex;

use rustix::io::Errno;

use crate::fetch::names;

/// Names remembered; the cache is emptied when full (the hints only save work).
const HINTS: usize = 4096;
/// Taken names tried one by one before the probe starts to jump.
const LINEAR: u64 = 16;
/// Candidates tried at most for one body.
const MAX_TRIES: u32 = 64;

/// One directory's hints: per name, the suffix to try first.
#[derive(Debug, Default)]
pub struct Hints(Mutex<HashMap<String, u64>>);

impl Hints {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, u64>> {
        // A poisoned map only means a job panicked while holding it; the hints still hold.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Calls `claim` on candidate names for `name` in the directory of `hints` until one succeeds
/// (returns it) or fails with another error than `EEXIST`.
pub fn claim_free_name(
    hints: &Hints,
    name: &str,
    mut claim: impl FnMut(&str) -> Result<(), Errno>,
) -> io::Result<String> {
    let start = hints.lock().get(name).copied().unwrap_or(0);
    let mut suffix = start;
    for _ in 0..MAX_TRIES {
        let candidate = names::with_suffix(name, suffix);
        match claim(&candidate) {
            Ok(()) => {
                if suffix > 0 {
                    let mut hints = hints.lock();
                    if hints.len() >= HINTS {
                        hints.clear();
                    }
                    hints.insert(name.to_string(), suffix + 1);
                }
                return Ok(candidate);
            }
            Err(Errno::EXIST) => {}
            Err(e) => return Err(e.into()),
        }
        let step = match suffix - start {
            taken if taken < LINEAR => 1,
            taken => taken,
        };
        suffix = match suffix.checked_add(step) {
            Some(next) => next,
            None => break,
        };
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("no free name for {name:?} after {MAX_TRIES} tries"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// A directory as a set of names, claimed as the real calls do.
    fn claimer(taken: &mut HashSet<String>) -> impl FnMut(&str) -> Result<(), Errno> + '_ {
        |name| {
            if taken.insert(name.to_string()) {
                Ok(())
            } else {
                Err(Errno::EXIST)
            }
        }
    }

    #[test]
    fn names_in_order_at_a_constant_cost() {
        let mut taken = HashSet::new();
        let mut calls = 0;
        let mut names = Vec::new();
        let hints = Hints::default();
        for _ in 0..10_000 {
            let mut claim = claimer(&mut taken);
            let name = claim_free_name(&hints, "index.html", |n| {
                calls += 1;
                claim(n)
            })
            .unwrap();
            names.push(name);
        }
        assert_eq!(names[0], "index.html");
        assert_eq!(names[1], "index-1.html");
        assert_eq!(names[9_999], "index-9999.html");
        // Quadratic probing made 5 * 10^7 calls here.
        assert!(calls < 20_100, "{calls} claims for 10 000 names");
    }

    #[test]
    fn a_full_directory_is_jumped_over_and_other_directories_start_at_the_bottom() {
        let mut taken: HashSet<String> = (0..100_000)
            .map(|n| names::with_suffix("page.html", n))
            .collect();
        let mut calls = 0;
        let mut claim = claimer(&mut taken);
        let hints = Hints::default();
        let name = claim_free_name(&hints, "page.html", |n| {
            calls += 1;
            claim(n)
        })
        .unwrap();
        assert!(calls <= 32, "{calls} claims");
        let n: u64 = name["page-".len()..name.len() - ".html".len()]
            .parse()
            .unwrap();
        assert!(n >= 100_000, "{name}");
        let mut fresh = HashSet::new();
        let name = claim_free_name(&Hints::default(), "page.html", claimer(&mut fresh)).unwrap();
        assert_eq!(name, "page.html");
    }

    #[test]
    fn other_errors_end_the_probe() {
        let err = claim_free_name(&Hints::default(), "a", |_| Err(Errno::ACCESS)).unwrap_err();
        assert_eq!(err.raw_os_error(), Some(Errno::ACCESS.raw_os_error()));
    }
}
