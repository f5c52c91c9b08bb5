//! File descriptors: a run of many jobs (two pipes each) or many connections needs more than
//! the usual soft limit of 1024. At start the soft limit is raised to the hard limit (as Go's
//! runtime and systemd's advice do; jobs inherit the raised limit). When the hard limit is
//! reached anyway, a job that cannot start waits for descriptors to free up and starts later
//! instead of failing, and the run says so once. When nothing running can free one (every job
//! in flight waits for descriptors too, or none runs: a limit too low for even one job), the
//! wait would be for ever: the run stops with status 255 and says why.
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::time::Duration;

use nix::sys::resource::{getrlimit, setrlimit, Resource};

use crate::helpers::say;

/// How long a job waits before trying again to get descriptors.
const RETRY_AFTER: Duration = Duration::from_millis(50);

static SAID: AtomicBool = AtomicBool::new(false);

/// Attempts in flight (see [`attempt`]), and how many of them wait for descriptors now.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
static STARVED: AtomicUsize = AtomicUsize::new(0);

/// How many times in a row a waiting attempt may find no other attempt that could free a
/// descriptor before the run gives up: a few rounds, so that attempts that failed together
/// at the same instant (and freed what they had) do not give up for each other.
const ROUNDS_ALONE: u32 = 6;

/// Counts one attempt as in flight while it lives (held by the run loop around each
/// attempt): an attempt holds descriptors (a process's pipes, a connection), or will.
pub struct Attempt(());

/// An attempt begins.
pub fn attempt() -> Attempt {
    ACTIVE.fetch_add(1, Relaxed);
    Attempt(())
}

impl Drop for Attempt {
    fn drop(&mut self) {
        ACTIVE.fetch_sub(1, Relaxed);
    }
}

/// Raises the soft limit on open files to the hard limit; failure leaves it as it was.
pub fn raise() {
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

/// Below this many descriptors the runtime itself cannot start (its poller, its wake-up and
/// signal pipes, stdio): refused at once rather than failing somewhere inside it.
pub const FEWEST: usize = 10;

/// An error if the limit on open files is below [`FEWEST`].
pub fn enough_to_start() -> Result<(), String> {
    let limit = soft_limit();
    if limit < FEWEST {
        return Err(format!(
            "the limit on open files (ulimit -n) is {limit}: inflight needs at least {FEWEST} to start"
        ));
    }
    Ok(())
}

/// The message of a run stopped because no job can get descriptors.
pub fn too_few() -> String {
    format!(
        "too few file descriptors for even one job (limit {}: ulimit -n); nothing running can free one, so stopping",
        soft_limit()
    )
}

/// The soft limit on open files (after [`raise`]).
pub fn soft_limit() -> usize {
    getrlimit(Resource::RLIMIT_NOFILE).map_or(usize::MAX, |(soft, _)| {
        usize::try_from(soft).unwrap_or(usize::MAX)
    })
}

/// Descriptors that are not a job's: stdio, the log, the runtime's, the resolver's.
const RESERVED: usize = 32;

/// The most requests `fetch` may have at once so that each has its two descriptors (the
/// connection and the file it saves to) besides `held` others (open directories). Past it, a
/// request that got a connection would wait for a file that only other requests' connections
/// could free, as they wait too.
pub fn most_requests(held: usize) -> usize {
    (soft_limit().saturating_sub(RESERVED + held) / 2).max(1)
}

/// Whether `e` means "no descriptor left" (for this process or for the whole system).
pub fn exhausted(e: &io::Error) -> bool {
    matches!(e.raw_os_error(), Some(code) if code == nix::libc::EMFILE || code == nix::libc::ENFILE)
}

/// Whether any error in the chain of `e` means "no descriptor left" (reqwest wraps the
/// connect error several times).
pub fn exhausted_in(e: &(dyn std::error::Error + 'static)) -> bool {
    crate::helpers::errchain::chain(e)
        .filter_map(|e| e.downcast_ref::<io::Error>())
        .any(exhausted)
}

/// Waits for descriptors to free up before the caller tries again; the first call of the run
/// says why on stderr. `alone` counts the caller's rounds in a row in which no other attempt
/// could free one (start it at 0 for each attempt): after a few, the run stops with status 255.
pub async fn wait(alone: &mut u32) {
    let others = ACTIVE
        .load(Relaxed)
        .saturating_sub(STARVED.load(Relaxed) + 1);
    let limit = getrlimit(Resource::RLIMIT_NOFILE).map_or(0, |(soft, _)| soft);
    if others == 0 {
        *alone += 1;
        if *alone > ROUNDS_ALONE {
            say::line(&format!("inflight: {}", too_few()));
            // 255: the status of usage and I/O errors (`run::tally::EXIT_USAGE`).
            std::process::exit(255);
        }
    } else {
        *alone = 0;
        if !SAID.swap(true, Relaxed) {
            say::line(&format!(
                "inflight: out of file descriptors (limit {limit}); jobs wait for some to free up (lower -j to avoid this)"
            ));
        }
    }
    let _starved = Starved::new();
    // Apart a little at random, so that attempts that failed together do not retry together.
    let jitter = Duration::from_millis(fastrand::u64(0..RETRY_AFTER.as_millis() as u64));
    tokio::time::sleep(RETRY_AFTER + jitter).await;
}

/// Counts an attempt as waiting for descriptors while it lives (even if the wait is dropped).
struct Starved(());

impl Starved {
    fn new() -> Starved {
        STARVED.fetch_add(1, Relaxed);
        Starved(())
    }
}

impl Drop for Starved {
    fn drop(&mut self) {
        STARVED.fetch_sub(1, Relaxed);
    }
}
