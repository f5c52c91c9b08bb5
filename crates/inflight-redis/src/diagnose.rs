//! Naming what is at the other end when the first connection fails in a way that says
//! nothing by itself (a reset, a parse error): a plain `PING` on a fresh TCP connection tells
//! a plain Redis (a RESP reply), a TLS port (a TLS alert, or a close without a word) and
//! something else entirely (an HTTP or SSH server's first bytes) apart.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What answered a plain `PING`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Peer {
    /// A RESP reply: a Redis (or a protocol-compatible server) on a plain port.
    PlainRedis,
    /// A TLS record, or a close without a reply: a TLS port.
    Tls,
    /// Something else; its first bytes, escaped.
    Other(String),
    /// Nothing could be learnt (unreachable, silent).
    Unknown,
}

/// Sends `PING` to `host:port` in plain text and sorts the reply.
pub(crate) async fn probe(host: &str, port: u16) -> Peer {
    let within = Duration::from_secs(2);
    let Ok(Ok(mut stream)) = tokio::time::timeout(within, TcpStream::connect((host, port))).await
    else {
        return Peer::Unknown;
    };
    if stream.write_all(b"PING\r\n").await.is_err() {
        return Peer::Unknown;
    }
    let mut buf = [0u8; 64];
    match tokio::time::timeout(within, stream.read(&mut buf)).await {
        Ok(Ok(0)) => Peer::Tls,
        Ok(Ok(n)) => sort(&buf[..n]),
        // A reset right after our bytes: what a TLS server does with a plain request.
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => Peer::Tls,
        _ => Peer::Unknown,
    }
}

/// Sorts a reply's first bytes.
pub(crate) fn sort(reply: &[u8]) -> Peer {
    match reply.first() {
        // A TLS record: alert (21) or handshake (22), then a 3.x version.
        Some(21 | 22) if reply.get(1) == Some(&3) => Peer::Tls,
        Some(
            b'+' | b'-' | b':' | b'$' | b'*' | b'%' | b'_' | b'#' | b',' | b'!' | b'=' | b'('
            | b'~' | b'>' | b'|',
        ) if reply.windows(2).any(|w| w == b"\r\n") => Peer::PlainRedis,
        _ => Peer::Other(
            reply
                .iter()
                .take(24)
                .flat_map(|&b| std::ascii::escape_default(b))
                .map(char::from)
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorts_replies() {
        assert_eq!(sort(b"+PONG\r\n"), Peer::PlainRedis);
        assert_eq!(
            sort(b"-NOAUTH Authentication required.\r\n"),
            Peer::PlainRedis
        );
        assert_eq!(sort(&[21, 3, 3, 0, 2, 2, 70]), Peer::Tls);
        assert_eq!(
            sort(b"HTTP/1.1 400 Bad Request\r\n"),
            Peer::Other("HTTP/1.1 400 Bad Request".into())
        );
        assert_eq!(
            sort(b"SSH-2.0-OpenSSH\r\n"),
            Peer::Other("SSH-2.0-OpenSSH\\r\\n".into())
        );
    }
}
