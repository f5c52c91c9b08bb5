//! Inputs as a lazy stream of lines: only a small buffer is held, whatever the input's size.
use std::io;

use futures::stream::{self, Stream};
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};

/// Lines of `reader`, without their `\n` (or `\r\n`). Bytes that are not UTF-8 are replaced
/// with U+FFFD, because inputs become arguments, URLs and JSON strings, which all want text.
pub fn lines<R>(reader: R) -> impl Stream<Item = io::Result<String>> + Send + Unpin + 'static
where
    R: AsyncRead + Unpin + Send + 'static,
{
    let split = BufReader::with_capacity(64 * 1024, reader).split(b'\n');
    Box::pin(stream::unfold(Some(split), |split| async move {
        let mut split = split?;
        match split.next_segment().await {
            Ok(Some(mut bytes)) => {
                if bytes.last() == Some(&b'\r') {
                    bytes.pop();
                }
                let line = String::from_utf8(bytes)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                Some((Ok(line), Some(split)))
            }
            Ok(None) => None,
            // One error ends the input: a reader that failed once is not trusted again.
            Err(e) => Some((Err(e), None)),
        }
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[tokio::test]
    async fn splits_lines_lazily() {
        let data: &[u8] = b"a\r\nb\n\nc\xff\nlast";
        let got: Vec<String> = lines(data).map(|l| l.unwrap()).collect().await;
        assert_eq!(got, ["a", "b", "", "c\u{fffd}", "last"]);
    }
}
