//! Telling HTTP/2 prior knowledge from HTTP/1.1 on a cleartext socket, and refusing politely.
//!
//! Every HTTP/2 cleartext connection starts with the 24-byte preface `PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n`;
//! no HTTP/1.1 request can. The first bytes are peeked (left in the socket for hyper) under the
//! header timeout. A refusal answers in the client's own protocol, so its error says what went wrong:
//! - `h1` given the preface: an empty SETTINGS frame and a GOAWAY with `HTTP_1_1_REQUIRED`;
//! - `h2c` given anything else: `505 HTTP Version Not Supported`.
//!
//! Then the socket is closed after a short linger that reads and discards what the client sent, so
//! the close is a FIN and not a reset that could destroy the answer before the client reads it.

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// The HTTP/2 connection preface (RFC 9113 §3.4).
pub(crate) const PREFACE: &[u8; 24] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// How long a refused connection is read from before it is closed.
const LINGER: Duration = Duration::from_secs(1);
/// While the bytes so far are a proper prefix of the preface, how long to wait before peeking again.
const PARTIAL_PREFACE_POLL: Duration = Duration::from_millis(5);

/// What a cleartext connection opened with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Opening {
    /// The HTTP/2 preface.
    Http2,
    /// Something else (an HTTP/1.1 request, or garbage for hyper to reject).
    Other,
    /// The client closed the connection before sending anything.
    Closed,
    /// Nothing decisive arrived within the timeout.
    TimedOut,
}

/// Peeks at the first bytes without consuming them.
pub(crate) async fn opening(stream: &TcpStream, timeout: Duration) -> std::io::Result<Opening> {
    let mut buf = [0u8; PREFACE.len()];
    let peek = async {
        loop {
            let n = stream.peek(&mut buf).await?;
            if n == 0 {
                return Ok(Opening::Closed);
            }
            if buf[..n] != PREFACE[..n] {
                return Ok(Opening::Other);
            }
            if n == PREFACE.len() {
                return Ok(Opening::Http2);
            }
            tokio::time::sleep(PARTIAL_PREFACE_POLL).await;
        }
    };
    tokio::time::timeout(timeout, peek)
        .await
        .unwrap_or(Ok(Opening::TimedOut))
}

/// HTTP/2 frames telling an HTTP/2 client that this listener speaks HTTP/1.1 only.
pub(crate) fn http1_required_goaway() -> Vec<u8> {
    const DEBUG: &[u8] = b"this listener serves HTTP/1.1 only";
    let mut out = Vec::with_capacity(9 + 9 + 8 + DEBUG.len());
    // SETTINGS, empty: a server's preface must start with it.
    out.extend_from_slice(&[0, 0, 0, 0x4, 0, 0, 0, 0, 0]);
    // GOAWAY: length, type 0x7, flags 0, stream 0; last stream id 0; error HTTP_1_1_REQUIRED (0xd).
    let len = (8 + DEBUG.len()) as u32;
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.extend_from_slice(&[0x7, 0, 0, 0, 0, 0]);
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&0xdu32.to_be_bytes());
    out.extend_from_slice(DEBUG);
    out
}

/// An HTTP/1.1 response telling the client this listener speaks HTTP/2 with prior knowledge only.
pub(crate) fn http2_required_response() -> Vec<u8> {
    const BODY: &str =
        "this listener serves HTTP/2 with prior knowledge only (h2c); use the h1 listener\n";
    format!(
        "HTTP/1.1 505 HTTP Version Not Supported\r\ncontent-type: text/plain\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{BODY}",
        BODY.len()
    )
    .into_bytes()
}

/// Writes `answer`, half-closes, then reads and discards for a short while before closing.
pub(crate) async fn refuse<S>(mut stream: S, answer: &[u8])
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let linger = async {
        stream.write_all(answer).await?;
        stream.shutdown().await?;
        // On the heap: on the stack it would be part of every connection's task (4 KB more for
        // each, for the life of the connection), though few connections are ever refused.
        let mut sink = vec![0u8; 4096];
        while stream.read(&mut sink).await? > 0 {}
        Ok::<_, std::io::Error>(())
    };
    let _ = tokio::time::timeout(LINGER, linger).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn goaway_frame_layout() {
        let f = http1_required_goaway();
        assert_eq!(&f[..9], &[0, 0, 0, 4, 0, 0, 0, 0, 0]);
        let len = u32::from_be_bytes([0, f[9], f[10], f[11]]) as usize;
        assert_eq!(f.len(), 18 + len);
        assert_eq!(f[12], 0x7);
        assert_eq!(&f[22..26], &[0, 0, 0, 0xd]);
    }
}
