//! How an input is shown in messages: quoted, with bytes that are not UTF-8 as `\xNN` (so
//! `data\xe9` and `data\xff` never look alike) and control characters escaped, and cut after
//! [`SHOWN_MAX`] bytes so a 10 MB input makes a one-line message, not a 10 MB one.

/// Longest part of an input shown in a message, in bytes of the input.
pub const SHOWN_MAX: usize = 200;

/// `"data\xff"`, or `"aaaa…" (10485760 bytes)` for a long one. `len` is the input's full
/// length when only its head is at hand (a line over `--max-line`).
pub fn input(bytes: &[u8], len: Option<u64>) -> String {
    let full = len.unwrap_or(bytes.len() as u64);
    let head = &bytes[..bytes.len().min(SHOWN_MAX)];
    let mut out = String::with_capacity(head.len() + 2);
    out.push('"');
    for chunk in head.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if c.is_control() => out.extend(c.escape_default()),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    if full > head.len() as u64 {
        out.push_str(&format!("…\" ({full} bytes)"));
    } else {
        out.push('"');
    }
    out
}

/// Cuts a one-line message (which may quote an input, e.g. a program name) to a sane length.
pub fn cut(message: String) -> String {
    const MAX: usize = 2 * SHOWN_MAX;
    if message.len() <= MAX {
        return message;
    }
    let mut end = MAX;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes)", &message[..end], message.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_cuts() {
        assert_eq!(input(b"data\xe9", None), "\"data\\xe9\"");
        assert_eq!(input(b"data\xff", None), "\"data\\xff\"");
        assert_eq!(
            input("café \"q\"\n".as_bytes(), None),
            "\"café \\\"q\\\"\\n\""
        );
        let long = vec![b'a'; 1000];
        let shown = input(&long, None);
        assert!(
            shown.ends_with("…\" (1000 bytes)") && shown.len() < 250,
            "{shown}"
        );
        assert_eq!(input(b"ab", Some(5_000_000)), "\"ab…\" (5000000 bytes)");
        assert_eq!(cut("x".repeat(10)), "x".repeat(10));
        assert!(cut("é".repeat(1000)).ends_with("(2000 bytes)"));
    }
}
