//! A small HTTP/1.1 server for the fetch tests, on 127.0.0.1:0, one thread per connection.
//! Hand-written rather than hyper/axum because several routes misbehave on purpose at the
//! socket level (reset, hang, dribble, endless body), which a framework makes hard to do.
//!
//! Routes: `/404`; `/hang`; `/reset`; `/dribble` (a byte a second); `/endless` (chunked,
//! never ends); `/big` (10000 bytes with Content-Length); `/big-chunked` (10000 bytes without);
//! `/flaky/KEY/FAILS/RETRY_AFTER` (503 FAILS times per KEY, then 200); `/loop/N` (redirects to
//! N+1 forever); `/redirect` (to `/target`); `/slow/MS` (waits MS ms; concurrency is counted);
//! `/to-file` (redirects to file:///etc/passwd); `/fill/BYTE/LEN/MS` (LEN bytes of the
//! character BYTE, 64 KiB at a time, MS ms apart); `/gzip-bomb` (1 GiB of zeros, gzip-encoded in
//! 6.8 MB, whatever the request accepts); `/ranged/TAG/LEN/CUT` and
//! `/norange/TAG/LEN/CUT` (LEN bytes with ETag TAG plus the server's `generation`, cut after CUT
//! bytes the first time a path is asked for in full; `ranged` honours `Range` with `If-Range`,
//! `norange` ignores it; `ranged-short` sends ranges that stop 1000 bytes short of the end;
//! `ranged-liar` ignores If-Range; `ranged-hang` hangs after the cut instead of closing; `ranged-lm` has a Last-Modified date
//! and no ETag); `/redirect-to/URL` (302 to URL, percent-encoded); `/enc/KIND` ("compressed body\\n" 2000
//! times, encoded as KIND: gzip, x-gzip, br, zstd, deflate, deflate-raw, x-custom, or 256 KiB as
//! gzip-corrupt or deflate-corrupt: see `encode`); `/capacity/C/MS[/ANY]` (a server with a hidden capacity of C: up to C at once take MS ms;
//! above C each takes MS × (n/C)³ (it thrashes); above 2C it answers 503 at once); anything
//! else: 200 with body `body of PATH`. Every request's head is kept in `State::heads`. A
//! connection that does not start with an HTTP method (a TLS handshake) gets a 400.
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
    /// Every request's head (request line and headers), in arrival order.
    pub heads: Mutex<Vec<String>>,
    /// Added to the ETag and the content of `/ranged` and `/norange`: a new version of a file.
    pub generation: AtomicUsize,
    /// Paths of `/ranged` and `/norange` already asked for in full (the next is not cut).
    pub served_full: Mutex<HashMap<String, usize>>,
}

impl State {
    /// The heads of the requests whose request line has `path`.
    pub fn heads_for(&self, path: &str) -> Vec<String> {
        let needle = format!(" {path} ");
        let heads = self.heads.lock().unwrap();
        heads
            .iter()
            .filter(|h| h.contains(&needle))
            .cloned()
            .collect()
    }
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
    // What plain HTTP servers (nginx, Apache) do with a request that is not HTTP, such as the
    // TLS handshake of a client that took this port for an https one: 400, and close.
    let mut first = [0u8; 1];
    if conn.peek(&mut first).is_ok_and(|n| n == 1) && !first[0].is_ascii_uppercase() {
        respond(&mut conn, "400 Bad Request", &[], b"not an HTTP request");
        return;
    }
    let Some((path, head)) = read_request(&mut conn) else {
        return;
    };
    state.requests.fetch_add(1, SeqCst);
    state.heads.lock().unwrap().push(head.clone());
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
        ["gzip-bomb"] => respond(
            &mut conn,
            "200 OK",
            &["Content-Encoding: gzip"],
            gzip_bomb(),
        ),
        ["enc", kind] => {
            let body = encode(kind, &encoded_plain(kind));
            // `deflate-raw` is sent as `deflate`, as servers that skip the zlib wrapper do;
            // `...-corrupt` as what it claims to be.
            let coding = kind.trim_end_matches("-raw").trim_end_matches("-corrupt");
            respond(
                &mut conn,
                "200 OK",
                &[&format!("Content-Encoding: {coding}")],
                &body,
            );
        }
        ["redirect-to", url] => {
            let url = percent_encoding::percent_decode_str(url).decode_utf8_lossy();
            respond(&mut conn, "302 Found", &[&format!("Location: {url}")], b"");
        }
        [kind @ ("ranged" | "norange" | "ranged-hang" | "ranged-lm" | "ranged-short"
        | "ranged-liar"), tag, len, cut] => {
            let generation = state.generation.load(SeqCst);
            // The validator: an ETag, or for `ranged-lm` only a Last-Modified date.
            let (etag, validator) = if *kind == "ranged-lm" {
                let at = std::time::UNIX_EPOCH
                    + Duration::from_secs(1_700_000_000 + 60 * generation as u64);
                let date = httpdate::fmt_http_date(at);
                (date.clone(), format!("Last-Modified: {date}"))
            } else {
                let etag = format!("\"{tag}-{generation}\"");
                (etag.clone(), format!("ETag: {etag}"))
            };
            let len: usize = len.parse().unwrap();
            let body: Vec<u8> = (0..len).map(|i| content_byte(i, generation)).collect();
            let range = header(&head, "range").and_then(|r| {
                r.strip_prefix("bytes=")?
                    .strip_suffix('-')?
                    .parse::<usize>()
                    .ok()
            });
            let if_range = header(&head, "if-range");
            // `ranged-liar` ignores If-Range: it sends a range of whatever version it has.
            let honoured = *kind != "norange"
                && range.is_some()
                && (*kind == "ranged-liar" || if_range.as_deref().is_none_or(|v| v == etag));
            if let (true, Some(from)) = (honoured, range) {
                if from >= len {
                    let cr = format!("Content-Range: bytes */{len}");
                    return respond(&mut conn, "416 Range Not Satisfiable", &[&cr], b"");
                }
                // `ranged-short` sends a range that stops 1000 bytes before the end.
                let end = if *kind == "ranged-short" {
                    len - 1001
                } else {
                    len - 1
                };
                let cr = format!("Content-Range: bytes {from}-{end}/{len}");
                return respond(
                    &mut conn,
                    "206 Partial Content",
                    &[&cr, &validator, "Accept-Ranges: bytes"],
                    &body[from..=end],
                );
            }
            let first = {
                let mut map = state.served_full.lock().unwrap();
                let n = map.entry(path.clone()).or_default();
                *n += 1;
                *n == 1
            };
            let et = validator;
            let accept = if *kind != "norange" {
                "Accept-Ranges: bytes"
            } else {
                "Accept-Ranges: none"
            };
            if first {
                // Declares the whole length, sends CUT bytes, and hangs up.
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {len}\r\n{et}\r\n{accept}\r\nConnection: close\r\n\r\n"
                );
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(&body[..cut.parse::<usize>().unwrap().min(len)]);
                if *kind == "ranged-hang" {
                    thread::sleep(Duration::from_secs(30));
                }
                return;
            }
            respond(&mut conn, "200 OK", &[&et, accept], &body);
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

/// Byte `i` of the content of `/ranged` and `/norange` in a generation.
pub fn content_byte(i: usize, generation: usize) -> u8 {
    ((i * 7 + i / 251 + generation * 13) % 251) as u8
}

/// A gzip file of 1 GiB of zeros, about 6.8 MB: one deflate block with fixed Huffman codes
/// (RFC 1951 3.2.6), a literal 0 and then matches of length 258 at distance 1, 13 bits each.
/// Made by hand because compressing 1 GiB in a debug build would take minutes.
fn gzip_bomb() -> &'static [u8] {
    static BOMB: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    BOMB.get_or_init(|| {
        const SIZE: u64 = 1 << 30;
        /// CRC-32 of 1 GiB of zeros (Python: zlib.crc32 over 1024 zero MiBs).
        const CRC: u32 = 0x5b64_c2b0;
        let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
        let (mut acc, mut nbits) = (0u64, 0u32);
        let mut bits = |out: &mut Vec<u8>, value: u64, n: u32| {
            acc |= value << nbits;
            nbits += n;
            while nbits >= 8 {
                out.push(acc as u8);
                acc >>= 8;
                nbits -= 8;
            }
        };
        // Huffman codes go most significant bit first.
        let code = |c: u64, n: u32| (0..n).fold(0, |r, i| (r << 1) | ((c >> i) & 1));
        bits(&mut out, 1, 1); // BFINAL
        bits(&mut out, 1, 2); // BTYPE 01: fixed codes
        bits(&mut out, code(0x30, 8), 8); // literal 0
        let (matches, rest) = ((SIZE - 1) / 258, (SIZE - 1) % 258);
        let (length_258, distance_1, zero) = (code(0xc5, 8), code(0, 5), code(0x30, 8));
        for _ in 0..matches {
            bits(&mut out, length_258 | (distance_1 << 8), 13);
        }
        for _ in 0..rest {
            bits(&mut out, zero, 8);
        }
        bits(&mut out, 0, 7); // end of block
        bits(&mut out, 0, 7); // flush the last byte
        out.extend_from_slice(&CRC.to_le_bytes());
        out.extend_from_slice(&(SIZE as u32).to_le_bytes());
        out
    })
}

/// What `/enc/KIND` encodes: [`ENCODED_TEXT`], or for the corrupt kinds 256 KiB that do not
/// compress, so that much is decoded (and would be written) before the corruption is met.
pub fn encoded_plain(kind: &str) -> Vec<u8> {
    if kind.ends_with("-corrupt") {
        let mut x: u32 = 12345;
        (0..256 * 1024)
            .map(|_| {
                x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                (x >> 16) as u8
            })
            .collect()
    } else {
        ENCODED_TEXT.repeat(2000).into_bytes()
    }
}

/// The text that `/enc/KIND` repeats 2000 times.
pub const ENCODED_TEXT: &str = "compressed body\n";

/// `plain` encoded as `gzip` (also as `x-gzip`), `br`, `zstd`, `deflate` (zlib-wrapped, as RFC 9110 says),
/// `deflate-raw` (raw deflate, as some servers send for `deflate`), `x-custom` (not encoded:
/// an encoding nobody can decode), or `gzip-corrupt` / `deflate-corrupt` (bytes flipped three
/// quarters of the way in).
fn encode(kind: &str, plain: &[u8]) -> Vec<u8> {
    match kind {
        "gzip" | "x-gzip" => {
            let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(plain).unwrap();
            enc.finish().unwrap()
        }
        "deflate" => {
            let mut enc =
                flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(plain).unwrap();
            enc.finish().unwrap()
        }
        "deflate-raw" => {
            let mut enc =
                flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
            enc.write_all(plain).unwrap();
            enc.finish().unwrap()
        }
        "x-custom" => plain.to_vec(),
        "gzip-corrupt" | "deflate-corrupt" => {
            let mut body = encode(kind.trim_end_matches("-corrupt"), plain);
            let at = body.len() * 3 / 4;
            for b in &mut body[at..at + 64] {
                *b ^= 0x55;
            }
            body
        }
        "br" => {
            let mut out = Vec::new();
            let mut enc = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
            enc.write_all(plain).unwrap();
            drop(enc);
            out
        }
        "zstd" => zstd::encode_all(plain, 3).unwrap(),
        other => panic!("no encoding {other}"),
    }
}

/// The value of header `name` (lowercase) in a request head.
pub fn header(head: &str, name: &str) -> Option<String> {
    head.lines().skip(1).find_map(|line| {
        let (n, v) = line.split_once(':')?;
        n.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_string())
    })
}

/// Reads the request head and returns the path of its request line, and the head.
fn read_request(conn: &mut TcpStream) -> Option<(String, String)> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = conn.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head).into_owned();
    let line = text.lines().next()?;
    let path = line.split(' ').nth(1)?.to_string();
    Some((path, text))
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
