//! A bare HTTP/1.1 GET for the tests that read `inflight`'s own servers (`--metrics`, the
//! dashboard): `(status, headers, body)`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// `METHOD http://ADDR/PATH` with `Host: host`; the whole answer (`Connection: close`).
pub fn request(method: &str, addr: &str, path: &str, host: &str) -> (u16, String, String) {
    let mut conn = TcpStream::connect(addr).expect("connect");
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        conn,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).expect("read the answer");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("a head and a body");
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    (status, head.to_string(), body.to_string())
}

/// GET with the server's own address as Host.
pub fn get(addr: &str, path: &str) -> (u16, String, String) {
    request("GET", addr, path, addr)
}

/// Waits up to 20 s for a line of `file` (a process's stderr) that contains `needle`, and
/// returns the `HOST:PORT` that follows `http://` on it.
pub fn address_in(file: impl Fn() -> String, needle: &str) -> String {
    let start = std::time::Instant::now();
    loop {
        if let Some(line) = file().lines().find(|l| l.contains(needle)) {
            let after = line.split("http://").nth(1).expect("an http:// address");
            return after.split('/').next().unwrap().to_string();
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no line with {needle:?}: {}",
            file()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
