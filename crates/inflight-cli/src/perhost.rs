//! `--per-host N`: one shared `inflight::Limiter` per `host:port`, made on first use.
use std::collections::HashMap;
use std::sync::Mutex;

use inflight::{Limiter, Permit};

/// Limiters keyed by host. Holds one entry per distinct host seen, which is small next to the
/// inputs themselves.
pub struct PerHost {
    limit: usize,
    hosts: Mutex<HashMap<String, Limiter>>,
}

impl PerHost {
    pub fn new(limit: usize) -> PerHost {
        PerHost {
            limit,
            hosts: Mutex::new(HashMap::new()),
        }
    }

    /// Waits for a slot on `url`'s host; the slot is held until the permit is dropped.
    pub async fn acquire(&self, url: &reqwest::Url) -> Permit {
        let key = format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        );
        let limiter = {
            let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
            hosts
                .entry(key)
                .or_insert_with(|| Limiter::new(self.limit))
                .clone()
        };
        limiter.acquire().await
    }
}
