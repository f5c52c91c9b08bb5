//! Writing our own messages to stderr. `eprintln!` panics when stderr is a closed pipe
//! (`inflight ... 2>&1 | head -1`); a tool must never die of its own diagnostics, so every
//! message goes through here and a failed write is ignored.
use std::io::{self, Write};

/// Writes `line` and a newline to stderr in one call; errors (EPIPE above all) are ignored.
pub fn line(line: &str) {
    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    bytes(&buf);
}

/// Writes raw bytes to stderr; errors are ignored.
pub fn bytes(data: &[u8]) {
    let mut err = io::stderr().lock();
    let _ = err.write_all(data).and_then(|()| err.flush());
}
