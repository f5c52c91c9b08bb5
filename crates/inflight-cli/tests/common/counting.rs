//! An HTTP server for the shared-limit tests that counts what the limits promise: requests
//! at once (now and the most), hits per path, and when each request arrived. `GET /wait/MS/ID`
//! answers 200 after MS ms; anything else at once. One thread per connection, and each
//! connection closed after its response, so a request in flight is a request being served.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// A running server; it lives until the test process exits.
pub struct Counting {
    pub addr: SocketAddr,
    pub state: Arc<State>,
}

/// What a test can read.
pub struct State {
    pub now: AtomicUsize,
    pub max: AtomicUsize,
    pub hits: Mutex<HashMap<String, usize>>,
    pub arrivals: Mutex<Vec<Duration>>,
    pub started: Instant,
}

impl Counting {
    pub fn start() -> Counting {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State {
            now: AtomicUsize::new(0),
            max: AtomicUsize::new(0),
            hits: Mutex::default(),
            arrivals: Mutex::default(),
            started: Instant::now(),
        });
        let shared = state.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let state = shared.clone();
                thread::spawn(move || handle(conn, &state));
            }
        });
        Counting { addr, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// The most requests served at once so far.
    pub fn peak(&self) -> usize {
        self.state.max.load(SeqCst)
    }

    /// Requests being served now.
    pub fn running(&self) -> usize {
        self.state.now.load(SeqCst)
    }

    pub fn hits(&self) -> HashMap<String, usize> {
        self.state.hits.lock().unwrap().clone()
    }
}

fn handle(mut conn: TcpStream, state: &State) {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&head);
    let Some(path) = text.split_whitespace().nth(1).map(str::to_string) else {
        return;
    };
    let now = state.now.fetch_add(1, SeqCst) + 1;
    state.max.fetch_max(now, SeqCst);
    state.arrivals.lock().unwrap().push(state.started.elapsed());
    *state.hits.lock().unwrap().entry(path.clone()).or_default() += 1;
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    if let ["wait", ms, _] = parts.as_slice() {
        thread::sleep(Duration::from_millis(ms.parse().unwrap_or(0)));
    }
    // Counted out before the answer: once the client can see it, it no longer runs.
    state.now.fetch_sub(1, SeqCst);
    let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
}
