//! `--rate`: a GCRA pacer with burst 1, shared by all jobs, so starts are evenly spaced: at most
//! `1 + rate * t` starts in any window of length `t`, never a burst at the top of each second.
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Spaces starts `interval` apart. Each `wait` books the next free slot at once (under a lock,
/// no await), then sleeps until it; so waiters are served in arrival order and a dropped waiter
/// merely leaves its slot unused.
pub struct Pacer {
    interval: Duration,
    /// Theoretical arrival time: the earliest instant the next start may happen.
    next: Mutex<Option<Instant>>,
}

impl Pacer {
    /// A pacer allowing one start per `interval`.
    pub fn new(interval: Duration) -> Pacer {
        Pacer {
            interval,
            next: Mutex::new(None),
        }
    }

    /// Waits for this caller's turn to start.
    pub async fn wait(&self) {
        let at = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let at = match *next {
                Some(t) if t > now => t,
                _ => now,
            };
            *next = Some(at + self.interval);
            at
        };
        tokio::time::sleep_until(at).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test(start_paused = true)]
    async fn starts_are_evenly_spaced() {
        let pacer = Arc::new(Pacer::new(Duration::from_millis(100)));
        let t0 = Instant::now();
        let mut handles = Vec::new();
        for _ in 0..5 {
            let p = pacer.clone();
            handles.push(tokio::spawn(async move {
                p.wait().await;
                Instant::now() - t0
            }));
        }
        let mut times = Vec::new();
        for h in handles {
            times.push(h.await.unwrap().as_millis());
        }
        times.sort();
        assert_eq!(times, vec![0, 100, 200, 300, 400]);
    }

    #[tokio::test(start_paused = true)]
    async fn idle_time_does_not_bank_a_burst() {
        let pacer = Pacer::new(Duration::from_millis(100));
        pacer.wait().await;
        tokio::time::sleep(Duration::from_secs(5)).await;
        let t0 = Instant::now();
        pacer.wait().await;
        pacer.wait().await;
        assert_eq!(
            (Instant::now() - t0).as_millis(),
            100,
            "burst is 1: the second waits"
        );
    }
}
