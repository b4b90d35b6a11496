//! One HTTP/3 request stream: its head (within the header timeout), its body as the routes read
//! every body ([`H3Body`], boxed into a [`RequestBody`]), the route's response written back as
//! hyper writes one: the head, each body frame once QUIC has taken the previous one (so an event
//! stream is produced as the client's windows allow, as on HTTP/2), then the stream's FIN; a
//! body that fails (the `close_streams` fault's `Reset`) resets the stream with
//! `H3_INTERNAL_ERROR`, as hyper's RST_STREAM(INTERNAL_ERROR) on HTTP/2.
//!
//! The routes stop reading a request body when they are done with it; the rest of the request
//! stream is then refused with STOP_SENDING (RFC 9114 §4.1; [`H3Body`] says with which code),
//! what a 408 needs.

use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use bytes::{Buf, Bytes};
use h3::error::Code;
use h3::server::{RequestResolver, RequestStream};
use http::header::{HeaderValue, CONTENT_LENGTH};
use http::Response;
use http_body_util::BodyExt;
use hyper::body::{Body as _, Frame, SizeHint};
use tokio_util::sync::CancellationToken;

use crate::app::{App, Conn};
use crate::routes::{self, Body, RequestBody, TransportError};
use crate::stats::incr;

type SendHalf = RequestStream<h3_quinn::SendStream<Bytes>, Bytes>;
type RecvHalf = RequestStream<h3_quinn::RecvStream, Bytes>;

/// What a request stream is served with.
#[derive(Debug)]
pub(super) struct Stream {
    pub(super) app: Arc<App>,
    pub(super) conn: Conn,
    /// Set by the connection's first request.
    pub(super) carried: Arc<AtomicBool>,
    /// Cancelled by the connection's first request.
    pub(super) first_request: CancellationToken,
    pub(super) header_read_timeout: Duration,
    /// Cancelled when the connection ends: the request ends with it.
    pub(super) gone: CancellationToken,
}

/// Serves one request stream to its end.
pub(super) async fn serve(stream: Stream, resolver: RequestResolver<h3_quinn::Connection, Bytes>) {
    let Stream {
        app,
        conn,
        carried,
        first_request,
        header_read_timeout,
        gone,
    } = stream;
    let protocol = conn.counters.protocol;
    let head = tokio::select! {
        head = tokio::time::timeout(header_read_timeout, resolver.resolve_request()) => head,
        () = gone.cancelled() => return,
    };
    let (req, request_stream) = match head {
        Ok(Ok(resolved)) => resolved,
        Ok(Err(e)) => return tracing::debug!(%protocol, "bad request stream: {e}"),
        Err(_elapsed) => {
            return tracing::debug!(%protocol, "no request head within the header timeout")
        }
    };
    let in_flight = conn.activity.request();
    incr(&conn.counters.requests);
    if !carried.swap(true, Ordering::Relaxed) {
        incr(&conn.counters.connections_carrying_requests);
        first_request.cancel();
    }
    let (mut send, recv) = request_stream.split();
    let req = req.map(|()| -> RequestBody { H3Body::new(recv).boxed_unsync() });
    let resp = tokio::select! {
        resp = routes::handle(app, conn, req) => resp,
        () = gone.cancelled() => return,
    };
    drop(in_flight);
    respond(&mut send, resp, &gone).await;
}

/// Writes `resp` on the stream: see the module documentation.
async fn respond(send: &mut SendHalf, resp: Response<Body>, gone: &CancellationToken) {
    let (mut parts, mut body) = resp.into_parts();
    if let Some(length) = body.size_hint().exact() {
        parts
            .headers
            .entry(CONTENT_LENGTH)
            .or_insert_with(|| HeaderValue::from(length));
    }
    let head = Response::from_parts(parts, ());
    let sent = tokio::select! {
        sent = send.send_response(head) => sent,
        () = gone.cancelled() => return,
    };
    if sent.is_err() {
        return;
    }
    loop {
        let frame = tokio::select! {
            frame = body.frame() => frame,
            () = gone.cancelled() => return,
        };
        let data = match frame {
            None => break,
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) => data,
                Err(_trailers) => continue,
            },
            Some(Err(_)) => return send.stop_stream(Code::H3_INTERNAL_ERROR),
        };
        let sent = tokio::select! {
            sent = send.send_data(data) => sent,
            () = gone.cancelled() => return,
        };
        // The client reset or stopped the stream, or the connection went.
        if sent.is_err() {
            return;
        }
    }
    tokio::select! {
        _ = send.finish() => {}
        () = gone.cancelled() => {}
    }
}

/// The body of an HTTP/3 request, as an [`http_body::Body`](hyper::body::Body): the DATA frames
/// of its stream until the stream's end. Dropped before that, it refuses the rest with
/// STOP_SENDING: `H3_NO_ERROR`, or, when dropped in the middle of a read (a body that timed out),
/// code 0, which quinn sends for a stream dropped unread. (h3-quinn holds the stream inside a read
/// in flight, and panics if asked to stop it then.) Code 0 is no HTTP/3 code, and a client
/// treats an unknown code as `H3_NO_ERROR` (RFC 9114 §8.1).
pub(super) struct H3Body {
    stream: RecvHalf,
    ended: bool,
    /// A read was left pending: h3-quinn holds the stream inside it.
    reading: bool,
}

impl std::fmt::Debug for H3Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H3Body")
            .field("ended", &self.ended)
            .field("reading", &self.reading)
            .finish_non_exhaustive()
    }
}

impl H3Body {
    fn new(stream: RecvHalf) -> H3Body {
        H3Body {
            stream,
            ended: false,
            reading: false,
        }
    }
}

impl hyper::body::Body for H3Body {
    type Data = Bytes;
    type Error = TransportError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, TransportError>>> {
        if self.ended {
            return Poll::Ready(None);
        }
        self.reading = true;
        let polled = ready!(self.stream.poll_recv_data(cx));
        self.reading = false;
        Poll::Ready(match polled {
            Ok(Some(mut data)) => Some(Ok(Frame::data(data.copy_to_bytes(data.remaining())))),
            Ok(None) => {
                self.ended = true;
                None
            }
            Err(e) => {
                self.ended = true;
                Some(Err(Box::new(e)))
            }
        })
    }

    fn is_end_stream(&self) -> bool {
        self.ended
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

impl Drop for H3Body {
    fn drop(&mut self) {
        if !self.ended && !self.reading {
            self.stream.stop_sending(Code::H3_NO_ERROR);
        }
    }
}
