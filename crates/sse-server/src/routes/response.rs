//! Responses: the body type every route answers with, and the small helpers that build plain,
//! JSON and refusal responses.

use std::convert::Infallible;

use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderMap, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};

use crate::hub::Refusal;
use crate::stats::{incr, ListenerCounters};

/// Every response body: a complete buffer or an event stream.
pub(crate) type Body = UnsyncBoxBody<Bytes, BodyError>;

/// Why a response body failed. hyper answers a body error with RST_STREAM(INTERNAL_ERROR) on
/// HTTP/2 and by dropping the connection on HTTP/1.1.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    /// `close_streams_every` with `CloseMode::Reset`.
    #[error("event stream reset by fault injection")]
    FaultReset,
}

/// The 503 of the memory budget, counted.
pub(crate) fn refused(counters: &ListenerCounters, refusal: Refusal) -> Response<Body> {
    count_refusal(counters, refusal);
    text(StatusCode::SERVICE_UNAVAILABLE, format!("{refusal}\n"))
}

/// Counts a refusal of the memory budget (a 503, or a WebSocket message not published).
pub(crate) fn count_refusal(counters: &ListenerCounters, refusal: Refusal) {
    match refusal {
        Refusal::ChannelLimit { .. } => incr(&counters.channel_limit_refusals),
        Refusal::ChannelShare { .. } => incr(&counters.channel_share_refusals),
        Refusal::ReplayBudget { .. } => incr(&counters.replay_budget_refusals),
        Refusal::IdsExhausted => {}
    }
}

/// An event stream's `200` (`GET /events`, a streamed answer): `body` with its two headers.
///
/// The headers are in a map made for two. hyper's HTTP/1.1 connection keeps a response's map,
/// emptied, for the next request's headers, for as long as the connection lives; a map grown by
/// its first insert has room for six (about 600 bytes of every open HTTP/1.1 stream, heaptrack:
/// `scripts/profile-memory.sh h1 1000 1`), one made for two about 200.
pub(crate) fn event_stream(body: Body) -> Response<Body> {
    let mut headers = HeaderMap::with_capacity(2);
    put_headers(&mut headers, "text/event-stream");
    let mut resp = Response::new(body);
    *resp.headers_mut() = headers;
    resp
}

/// A plain-text response.
pub(crate) fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    with_type(status, "text/plain; charset=utf-8", body.into())
}

/// A JSON response.
pub(crate) fn json(status: StatusCode, value: &impl serde::Serialize) -> Response<Body> {
    match serde_json::to_vec(value) {
        Ok(body) => with_type(status, "application/json", body.into()),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n")),
    }
}

/// A response of `content_type` whose body is `body`.
///
/// Its header map grows on its first insert, to room for six, unlike an event stream's: hyper's
/// HTTP/1.1 connection reuses a response's map for the next request's headers, and one of six
/// takes a POST's headers without growing again (a map made for two cost about 400 instructions
/// per POST, `scripts/profile-posts.sh`, 20,542 against 20,136).
pub(crate) fn with_type(
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
) -> Response<Body> {
    let body = Full::new(body).map_err(|never: Infallible| match never {});
    let mut resp = Response::new(body.boxed_unsync());
    *resp.status_mut() = status;
    put_headers(resp.headers_mut(), content_type);
    resp
}

/// Every response's two headers, `content-type` and `cache-control: no-store`, into `headers`.
fn put_headers(headers: &mut HeaderMap, content_type: &'static str) {
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
}
