//! Reading a request body under limits: at most `max_body_bytes`, no gap between two pieces longer
//! than `body_read_timeout`, the whole body within `body_total_timeout`, so that a body that stops
//! arriving cannot hold its connection's slot
//! (crates/sse-server/FINDINGS.md, "Admission under the connection limit").
//!
//! A timed-out request gets 408: on HTTP/1.1 with `connection: close` (the rest of the body would
//! have to be read to reuse the connection), on HTTP/2 h2 then resets the stream with `NO_ERROR`
//! (RFC 9113 §8.1: a response may complete before the request does); on HTTP/3 the server stops
//! reading the request stream (STOP_SENDING) and completes its response (RFC 9114 §4.1).
//!
//! Every route reads a [`RequestBody`]: hyper's body on HTTP/1.1 and HTTP/2, the HTTP/3 listener's
//! adapter of an h3 request stream (`listen::quic`), boxed, so the routes are written once.

use std::future::Future;
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::BodyExt;
use tokio::time::{timeout_at, Instant};

use crate::app::BodyLimits;

/// Why the transport could not deliver a request body (hyper's error, or h3's).
pub(crate) type TransportError = Box<dyn std::error::Error + Send + Sync>;

/// Every request body, whichever listener received it.
pub(crate) type RequestBody = UnsyncBoxBody<Bytes, TransportError>;

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadBodyError {
    #[error("message body larger than {0} bytes")]
    TooLarge(usize),
    #[error("no byte of the request body for {0:?}")]
    ReadTimeout(Duration),
    #[error("request body not complete within {0:?}")]
    TotalTimeout(Duration),
    #[error("cannot read message body: {0}")]
    Failed(#[source] TransportError),
}

/// Reads the whole body; `on_data` is called for each piece that arrives (progress).
///
/// A body that comes in one piece (most do: a small POST arrives with its head) is returned as
/// that piece, not copied; one that comes in several is gathered into one buffer.
pub(crate) async fn read_body(
    mut body: RequestBody,
    limits: BodyLimits,
    mut on_data: impl FnMut(),
) -> Result<Bytes, ReadBodyError> {
    let started = Instant::now();
    let total_deadline = started + limits.total_timeout;
    let mut read_deadline = started + limits.read_timeout;
    let mut first: Option<Bytes> = None;
    let mut out = BytesMut::new();
    loop {
        // A piece that is already here is taken without a timer: a small POST's body comes with
        // its head, and its end right after, and each made a timer entry (about 150 to 250
        // instructions per POST in all, `scripts/profile-posts.sh`, whose count moves by about 120
        // from run to run). The deadlines hold as before: a piece that is not here yet is awaited
        // under them.
        let mut next = body.frame();
        let ready = std::future::poll_fn(|cx| Poll::Ready(Pin::new(&mut next).poll(cx))).await;
        let frame = match ready {
            Poll::Ready(frame) => frame,
            Poll::Pending => match timeout_at(read_deadline.min(total_deadline), next).await {
                Ok(frame) => frame,
                Err(_) if read_deadline < total_deadline => {
                    return Err(ReadBodyError::ReadTimeout(limits.read_timeout))
                }
                Err(_) => return Err(ReadBodyError::TotalTimeout(limits.total_timeout)),
            },
        };
        let Some(frame) = frame else {
            return Ok(match first {
                Some(only) if out.is_empty() => only,
                _ => out.freeze(),
            });
        };
        let frame = frame.map_err(ReadBodyError::Failed)?;
        read_deadline = Instant::now() + limits.read_timeout;
        let Ok(data) = frame.into_data() else {
            continue; // trailers
        };
        on_data();
        let so_far = first.as_ref().map_or(0, Bytes::len) + out.len();
        if so_far + data.len() > limits.max_bytes {
            return Err(ReadBodyError::TooLarge(limits.max_bytes));
        }
        match first.take() {
            None if out.is_empty() => first = Some(data),
            earlier => {
                if let Some(earlier) = earlier {
                    out.extend_from_slice(&earlier);
                }
                out.extend_from_slice(&data);
            }
        }
    }
}
