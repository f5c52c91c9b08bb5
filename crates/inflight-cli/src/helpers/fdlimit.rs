//! File descriptors: a run of many jobs (two pipes each) or many connections needs more than
//! the usual soft limit of 1024. At start the soft limit is raised to the hard limit (as Go's
//! runtime and systemd's advice do; jobs inherit the raised limit). When the hard limit is
//! reached anyway, a job that cannot start waits for descriptors to free up and starts later
//! instead of failing, and the run says so once.
use std::io;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use nix::sys::resource::{getrlimit, setrlimit, Resource};

use crate::helpers::say;

/// How long a job waits before trying again to get descriptors.
const RETRY_AFTER: Duration = Duration::from_millis(50);

static SAID: AtomicBool = AtomicBool::new(false);

/// Raises the soft limit on open files to the hard limit; failure leaves it as it was.
pub fn raise() {
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
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

/// Waits a little before the caller tries again; the first call of the run says why on stderr.
pub async fn wait() {
    if !SAID.swap(true, Relaxed) {
        let limit = getrlimit(Resource::RLIMIT_NOFILE).map_or(0, |(soft, _)| soft);
        say::line(&format!(
            "inflight: out of file descriptors (limit {limit}); jobs wait for some to free up (lower -j to avoid this)"
        ));
    }
    tokio::time::sleep(RETRY_AFTER).await;
}
