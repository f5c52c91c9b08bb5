//! Following a master that moved (a Sentinel failover, a Cluster shard's promoted replica).

use std::time::{Duration, Instant};

use super::events::RedisEvent;
use super::redis::Redis;
use crate::endpoint::Mode;
use crate::follow::{look, Moved, Seen};

impl Redis {
    /// On a Cluster, after an outage not yet looked at: looks whether a shard's master moved,
    /// so that a grant is not the first thing a promoted replica sees.
    pub(super) async fn look_after_outage(&self) {
        use std::sync::atomic::Ordering;
        if self.inner.link.endpoint.mode != Mode::Cluster {
            return;
        }
        let outages = self.inner.outages.load(Ordering::Acquire);
        if self.inner.looked.load(Ordering::Acquire) != outages {
            self.look_for_master(true).await;
            self.inner.looked.store(outages, Ordering::Release);
        }
    }

    /// How many failovers this connection has followed.
    pub(crate) fn failovers(&self) -> u64 {
        self.inner
            .failovers
            .load(std::sync::atomic::Ordering::Acquire)
    }

    pub(super) fn lock_seen(&self) -> std::sync::MutexGuard<'_, Seen> {
        self.inner.seen.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// After a failure behind Sentinel or a Cluster: looks whether the master moved, and if
    /// so follows it (Sentinel: a connection to the new master replaces the old one) and
    /// says so once. Looks at most every 200 ms unless `now` (after Redis came back).
    pub(super) async fn look_for_master(&self, now: bool) {
        if !self.inner.link.follows_failover() {
            return;
        }
        let mut last = self.inner.looking.lock().await;
        if !now && last.is_some_and(|at| at.elapsed() < Duration::from_millis(200)) {
            return;
        }
        *last = Some(Instant::now());
        let seen = self.lock_seen().clone();
        let conn = self.conn();
        match look(&self.inner.link, &seen, &conn, self.inner.response_timeout).await {
            Moved::No => {}
            Moved::To(conn, seen, master) => {
                *self.lock_seen() = seen;
                {
                    // The count and the connection change together (see `Inner::conn`).
                    let mut shared = self.inner.conn.lock().unwrap_or_else(|e| e.into_inner());
                    let generation = self
                        .inner
                        .failovers
                        .fetch_add(1, std::sync::atomic::Ordering::AcqRel)
                        + 1;
                    if let Some((old, _)) = shared.take() {
                        *shared = Some((conn.unwrap_or(old), generation));
                    }
                }
                self.emit(RedisEvent::FailedOver { master });
            }
        }
    }
}
