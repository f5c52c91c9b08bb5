//! Inputs as a lazy stream of lines: only a small buffer is held, whatever the input's size.
//!
//! Lines are bytes, never decoded: a file name that is not UTF-8 (`data\xff`) must reach the
//! command exactly, not as U+FFFD, or `rm` would get the wrong file. A line longer than the
//! cap is not kept: its head is kept for the message and the rest is read and dropped, so a
//! 300 MB line without a newline costs the cap, not 300 MB.
use std::io;

use futures::stream::{self, Stream};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// How many bytes of a line past the cap are kept, for the error message and the log.
pub const CUT_HEAD: usize = 256;

/// One input: its bytes, or, for a line longer than the cap, its head and its full length.
#[derive(Debug, PartialEq)]
pub struct RawLine {
    pub bytes: Vec<u8>,
    /// `Some(length)` when the line was longer than the cap and `bytes` holds only its head.
    pub cut: Option<u64>,
    /// The input's 1-based position when its source knows it (a queue's inputs are numbered
    /// by their push); `None`: numbered in the order read.
    pub seq: Option<u64>,
}

/// Lines of `reader` separated by `delim` (`\n`, or NUL for `-0`), without the delimiter (and
/// for `\n`, without a `\r` before it). Lines longer than `max` bytes come back cut.
pub fn lines<R>(
    reader: R,
    delim: u8,
    max: usize,
) -> impl Stream<Item = io::Result<RawLine>> + Send + Unpin + 'static
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let reader = BufReader::with_capacity(64 * 1024, reader);
    Box::pin(stream::unfold(Some(reader), move |reader| async move {
        let mut reader = reader?;
        match next_line(&mut reader, delim, max).await {
            Ok(Some(line)) => Some((Ok(line), Some(reader))),
            Ok(None) => None,
            // One error ends the input: a reader that failed once is not trusted again.
            Err(e) => Some((Err(e), None)),
        }
    }))
}

async fn next_line<R: AsyncRead + Unpin>(
    reader: &mut BufReader<R>,
    delim: u8,
    max: usize,
) -> io::Result<Option<RawLine>> {
    let mut line = Vec::new();
    let mut len = 0u64;
    let mut any = false;
    loop {
        let buf = reader.fill_buf().await?;
        if buf.is_empty() {
            if !any {
                return Ok(None);
            }
            break;
        }
        any = true;
        let (end, found) = match memchr::memchr(delim, buf) {
            Some(at) => (at, true),
            None => (buf.len(), false),
        };
        // Keep one byte past the cap, so "exactly max" and "longer" can be told apart.
        let room = (max + 1).saturating_sub(line.len());
        line.extend_from_slice(&buf[..end.min(room)]);
        len += end as u64;
        reader.consume(end + usize::from(found));
        if found {
            break;
        }
    }
    if len > max as u64 {
        line.truncate(CUT_HEAD);
        return Ok(Some(RawLine {
            bytes: line,
            cut: Some(len),
            seq: None,
        }));
    }
    if delim == b'\n' && line.last() == Some(&b'\r') {
        line.pop();
    }
    Ok(Some(RawLine {
        bytes: line,
        cut: None,
        seq: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    async fn all(data: &'static [u8], delim: u8, max: usize) -> Vec<RawLine> {
        lines(data, delim, max).map(|l| l.unwrap()).collect().await
    }

    fn whole(b: &[u8]) -> RawLine {
        RawLine {
            bytes: b.to_vec(),
            cut: None,
            seq: None,
        }
    }

    #[tokio::test]
    async fn splits_lines_lazily_and_keeps_bytes() {
        let got = all(b"a\r\nb\n\nc\xff\nlast", b'\n', 100).await;
        assert_eq!(
            got,
            [
                whole(b"a"),
                whole(b"b"),
                whole(b""),
                whole(b"c\xff"),
                whole(b"last")
            ]
        );
    }

    #[tokio::test]
    async fn nul_separated() {
        let got = all(b"a b\nc\0d\r\0", 0, 100).await;
        assert_eq!(got, [whole(b"a b\nc"), whole(b"d\r")]);
    }

    #[tokio::test]
    async fn long_lines_are_cut() {
        let got = all(b"12345\n123456\n1234567", b'\n', 6).await;
        assert_eq!(got[0], whole(b"12345"));
        assert_eq!(got[1], whole(b"123456"));
        assert_eq!(got[2].cut, Some(7));
        assert_eq!(got[2].bytes, b"1234567");
    }
}
