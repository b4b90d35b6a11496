//! Responses: the body type every route answers with, and the small helpers that build plain,
//! JSON and refusal responses.

use std::convert::Infallible;

use bytes::Bytes;
use http::header::{HeaderValue, CACHE_CONTROL, CONTENT_TYPE};
use http::{Response, StatusCode};
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

pub(crate) fn with_type(
    status: StatusCode,
    content_type: &'static str,
    body: Bytes,
) -> Response<Body> {
    let body = Full::new(body).map_err(|never: Infallible| match never {});
    let mut resp = Response::new(body.boxed_unsync());
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
