//! A forward HTTP proxy for the tests, on 127.0.0.1:0: plain requests in absolute form
//! (`GET http://host:port/path`) are passed on to their server, `CONNECT host:port` opens a
//! tunnel (what clients use for https). It keeps each request line and whether proxy
//! credentials came with it, so a test can tell which requests went through it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

/// Request lines seen, each with its `Proxy-Authorization` value if any.
pub type Seen = Arc<Mutex<Vec<(String, Option<String>)>>>;

/// A running proxy; it lives until the test process exits.
pub struct Proxy {
    pub addr: SocketAddr,
    pub seen: Seen,
}

impl Proxy {
    pub fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { continue };
                let log = log.clone();
                thread::spawn(move || handle(conn, &log));
            }
        });
        Proxy { addr, seen }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The request lines seen so far.
    pub fn lines(&self) -> Vec<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .map(|(l, _)| l.clone())
            .collect()
    }
}

fn handle(mut client: TcpStream, seen: &Seen) {
    let Some(head) = read_head(&mut client) else {
        return;
    };
    let mut lines = head.split("\r\n");
    let request = lines.next().unwrap_or("").to_string();
    let headers: Vec<&str> = lines.filter(|l| !l.is_empty()).collect();
    let auth = headers.iter().find_map(|h| {
        let (name, value) = h.split_once(':')?;
        name.eq_ignore_ascii_case("proxy-authorization")
            .then(|| value.trim().to_string())
    });
    seen.lock().unwrap().push((request.clone(), auth));
    let parts: Vec<&str> = request.split(' ').collect();
    let [method, target, _version] = parts[..] else {
        return;
    };
    if method == "CONNECT" {
        let Ok(upstream) = TcpStream::connect(target) else {
            let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
            return;
        };
        let _ = client.write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n");
        tunnel(client, upstream);
        return;
    }
    // Absolute form: http://host:port/path.
    let Some(rest) = target.strip_prefix("http://") else {
        let _ = client.write_all(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    let (host, path) = match rest.find('/') {
        Some(at) => (&rest[..at], &rest[at..]),
        None => (rest, "/"),
    };
    let Ok(mut upstream) = TcpStream::connect(host) else {
        let _ = client.write_all(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
        return;
    };
    let mut forwarded = format!("{method} {path} HTTP/1.1\r\n");
    for h in headers {
        let name = h.split(':').next().unwrap_or("").to_ascii_lowercase();
        if !name.starts_with("proxy-") && name != "connection" {
            forwarded.push_str(h);
            forwarded.push_str("\r\n");
        }
    }
    forwarded.push_str("Connection: close\r\n\r\n");
    if upstream.write_all(forwarded.as_bytes()).is_ok() {
        let _ = std::io::copy(&mut upstream, &mut client);
    }
}

/// Copies bytes both ways until either side closes.
fn tunnel(client: TcpStream, upstream: TcpStream) {
    let (mut c_read, mut u_write) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
    let forward = thread::spawn(move || {
        let _ = std::io::copy(&mut c_read, &mut u_write);
        let _ = u_write.shutdown(Shutdown::Write);
    });
    let (mut u_read, mut c_write) = (upstream, client);
    let _ = std::io::copy(&mut u_read, &mut c_write);
    let _ = c_write.shutdown(Shutdown::Write);
    let _ = forward.join();
}

/// The request head, read a byte at a time so nothing after it is consumed.
fn read_head(conn: &mut TcpStream) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if conn.read(&mut byte).ok()? == 0 {
            return None;
        }
        head.push(byte[0]);
    }
    String::from_utf8(head).ok()
}
