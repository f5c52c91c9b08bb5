//! A small HTTP/1.1 server for the fetch tests, on 127.0.0.1:0, one thread per connection.
//! Hand-written rather than hyper/axum because several routes misbehave on purpose at the
//! socket level (reset, hang, dribble, endless body), which a framework makes hard to do.
//!
//! Routes: `/404`; `/hang`; `/reset`; `/dribble` (a byte a second); `/endless` (chunked,
//! never ends); `/big` (10000 bytes with Content-Length); `/big-chunked` (10000 bytes without);
//! `/flaky/KEY/FAILS/RETRY_AFTER` (503 FAILS times per KEY, then 200); `/loop/N` (redirects to
//! N+1 forever); `/redirect` (to `/target`); `/slow/MS` (waits MS ms; concurrency is counted);
//! `/to-file` (redirects to file:///etc/passwd); `/fill/BYTE/LEN/MS` (LEN bytes of the
//! character BYTE, 64 KiB at a time, MS ms apart); `/capacity/C/MS[/ANY]` (a server with a hidden
//! capacity of C: up to C at once take MS ms; above C each takes MS × (n/C)³ (it thrashes);
//! above 2C it answers 503 at once); anything else: 200 with body `body of PATH`.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// A running test server; it lives until the test process exits.
pub struct Server {
    pub addr: SocketAddr,
    pub state: Arc<State>,
}

/// What the tests can observe.
#[derive(Default)]
pub struct State {
    flaky: Mutex<HashMap<String, usize>>,
    slow_now: AtomicUsize,
    pub slow_max: AtomicUsize,
    capacity_now: AtomicUsize,
    pub refused: AtomicUsize,
    pub requests: AtomicUsize,
}

impl Server {
    pub fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(State::default());
        let shared = state.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let state = shared.clone();
                thread::spawn(move || handle(conn, &state));
            }
        });
        Server { addr, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }
}

fn handle(mut conn: TcpStream, state: &State) {
    let Some(path) = read_request(&mut conn) else {
        return;
    };
    state.requests.fetch_add(1, SeqCst);
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match parts.as_slice() {
        ["404"] => respond(&mut conn, "404 Not Found", &[], b"no such thing"),
        ["hang"] => thread::sleep(Duration::from_secs(60)),
        ["reset"] => {
            let _ = socket2::SockRef::from(&conn).set_linger(Some(Duration::ZERO));
            drop(conn); // RST, not FIN
        }
        ["dribble"] => {
            let _ = conn
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n");
            for _ in 0..100 {
                if conn.write_all(b"x").is_err() {
                    return;
                }
                thread::sleep(Duration::from_secs(1));
            }
        }
        ["endless"] => {
            let _ = conn.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
            );
            let chunk = format!("2000\r\n{}\r\n", "y".repeat(0x2000));
            while conn.write_all(chunk.as_bytes()).is_ok() {}
        }
        ["big"] => respond(&mut conn, "200 OK", &[], &[b'z'; 10_000]),
        ["big-chunked"] => {
            // No Content-Length: the body ends when the connection closes.
            let _ = conn.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
            let _ = conn.write_all(&[b'z'; 10_000]);
        }
        ["flaky", key, fails, retry_after] => {
            let seen = {
                let mut map = state.flaky.lock().unwrap();
                let n = map.entry(key.to_string()).or_default();
                *n += 1;
                *n
            };
            if seen <= fails.parse().unwrap() {
                let header = format!("Retry-After: {retry_after}");
                respond(&mut conn, "503 Service Unavailable", &[&header], b"busy");
            } else {
                respond(
                    &mut conn,
                    "200 OK",
                    &[],
                    format!("ok after {seen}").as_bytes(),
                );
            }
        }
        ["loop", n] => {
            let next = format!("Location: /loop/{}", n.parse::<u64>().unwrap_or(0) + 1);
            respond(&mut conn, "302 Found", &[&next], b"");
        }
        ["redirect"] => respond(&mut conn, "302 Found", &["Location: /target"], b""),
        ["to-file"] => respond(
            &mut conn,
            "302 Found",
            &["Location: file:///etc/passwd"],
            b"",
        ),
        ["fill", byte, len, ms] => {
            let len: usize = len.parse().unwrap();
            let head =
                format!("HTTP/1.1 200 OK\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n");
            let _ = conn.write_all(head.as_bytes());
            let chunk = vec![byte.as_bytes()[0]; 64 * 1024];
            let mut left = len;
            while left > 0 {
                let n = left.min(chunk.len());
                if conn.write_all(&chunk[..n]).is_err() {
                    return;
                }
                left -= n;
                thread::sleep(Duration::from_millis(ms.parse().unwrap()));
            }
        }
        ["capacity", c, ms, ..] => {
            let (c, ms): (usize, f64) = (c.parse().unwrap(), ms.parse().unwrap());
            let n = state.capacity_now.fetch_add(1, SeqCst) + 1;
            if n > 2 * c {
                state.capacity_now.fetch_sub(1, SeqCst);
                state.refused.fetch_add(1, SeqCst);
                respond(&mut conn, "503 Service Unavailable", &[], b"busy");
                return;
            }
            let thrash = (n as f64 / c as f64).max(1.0).powi(3);
            thread::sleep(Duration::from_secs_f64(ms * thrash / 1000.0));
            state.capacity_now.fetch_sub(1, SeqCst);
            respond(&mut conn, "200 OK", &[], b"served");
        }
        ["slow", ms] => {
            let now = state.slow_now.fetch_add(1, SeqCst) + 1;
            state.slow_max.fetch_max(now, SeqCst);
            thread::sleep(Duration::from_millis(ms.parse().unwrap_or(100)));
            state.slow_now.fetch_sub(1, SeqCst);
            respond(&mut conn, "200 OK", &[], b"slow");
        }
        _ => respond(
            &mut conn,
            "200 OK",
            &[],
            format!("body of {path}").as_bytes(),
        ),
    }
}

/// Reads the request head and returns the path of its request line.
fn read_request(conn: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let line = text.lines().next()?;
    line.split(' ').nth(1).map(str::to_string)
}

fn respond(conn: &mut TcpStream, status: &str, headers: &[&str], body: &[u8]) {
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let _ = conn.write_all(head.as_bytes());
    let _ = conn.write_all(body);
}
