//! The routes, the same on every listener:
//!
//! | route | reply |
//! |---|---|
//! | `GET /events?channel=&interval_ms=&size=&count=&heartbeat_ms=&retry_ms=` | the event stream (`events.rs`); each value within the range of [`crate::bounds`], else 400 |
//! | `POST /messages?channel=` | broadcast the body (`messages.rs`) |
//! | `GET /ws?channel=&interval_ms=&size=&count=&heartbeat_ms=` | on the `ws` and `wss` listeners: a WebSocket (`ws_upgrade.rs`, `ws_session.rs`); elsewhere 404 |
//! | `GET /stats` | [`crate::Stats`] as JSON |
//! | `GET /health` | `ok` |
//! | `GET /` | a chat demo page using `EventSource` |
//!
//! Anything else is 404; a known path with another method is 405 with `Allow`. The every-Nth
//! faults (`crate::faults`) answer 503 before the route runs. The memory budget (`budget.rs`)
//! answers 503 to a request that would create a channel beyond `max_channels`
//! (`channel_limit_refusals`) and to a message that does not fit in the replay budget
//! (`replay_budget_refusals`); the body says which.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, ALLOW, CACHE_CONTROL, CONTENT_TYPE};
use http::{Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use tokio_util::sync::CancellationToken;

use crate::activity::Activity;
use crate::app::App;
use crate::body::{read_body, ReadBodyError};
use crate::budget::Refusal;
use crate::events::{self, Resume};
use crate::messages;
use crate::query;
use crate::stats::{incr, ListenerCounters};
use crate::ws_upgrade::{self, UpgradeSlot};

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

const DEMO_PAGE: &str = include_str!("demo.html");

/// What a request knows of its connection.
#[derive(Debug)]
pub(crate) struct Conn {
    /// The listener's counters.
    pub(crate) counters: Arc<ListenerCounters>,
    /// Cancelled at server shutdown and at the connection's GOAWAY fault: it ends the
    /// connection's event streams.
    pub(crate) streams: CancellationToken,
    /// What the connection is doing (`activity.rs`).
    pub(crate) activity: Arc<Activity>,
    /// On the WebSocket listeners: where `GET /ws` parks its session (`ws_upgrade.rs`).
    pub(crate) upgrade: Option<Arc<UpgradeSlot>>,
}

/// Answers one request.
pub(crate) async fn handle(app: Arc<App>, conn: Conn, req: Request<Incoming>) -> Response<Body> {
    let counters = &conn.counters;
    let path = req.uri().path();
    let (allowed, allowed_name) = match path {
        "/events" | "/ws" | "/stats" | "/health" | "/" => (Method::GET, "GET"),
        "/messages" => (Method::POST, "POST"),
        _ => return text(StatusCode::NOT_FOUND, "not found\n"),
    };
    if req.method() != allowed {
        let mut resp = text(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("{path} allows {allowed_name} only\n"),
        );
        resp.headers_mut()
            .insert(ALLOW, HeaderValue::from_static(allowed_name));
        return resp;
    }
    match path {
        "/events" if app.faults.stream_fails() => {
            incr(&counters.faults_errors);
            fault_error("every Nth GET /events fails")
        }
        "/events" => events(&app, &conn, &req),
        "/ws" => ws_upgrade::upgrade(&app, &conn, req),
        "/messages" if app.faults.post_fails() => {
            incr(&counters.faults_errors);
            // Read the body anyway (within the limits), so an HTTP/1.1 connection stays usable.
            let version = req.version();
            match read_body(req.into_body(), app.body, || conn.activity.progress()).await {
                Err(e @ (ReadBodyError::ReadTimeout(_) | ReadBodyError::TotalTimeout(_))) => {
                    messages::body_error(&e, version, counters)
                }
                _ => fault_error("every Nth POST /messages fails"),
            }
        }
        "/messages" => messages::post(&app, &conn, req).await,
        "/stats" => json(StatusCode::OK, &app.stats()),
        "/health" => text(StatusCode::OK, "ok\n"),
        _ => with_type(
            StatusCode::OK,
            "text/html; charset=utf-8",
            Bytes::from_static(DEMO_PAGE.as_bytes()),
        ),
    }
}

fn events(app: &Arc<App>, conn: &Conn, req: &Request<Incoming>) -> Response<Body> {
    let query = match query::events_query(req.uri().query(), &app.events) {
        Ok(q) => q,
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("{e}\n")),
    };
    let resume = req
        .headers()
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .and_then(Resume::parse);
    let body = match events::open(&app.hub, query, resume, conn, &app.faults.config) {
        Ok(body) => body,
        Err(refusal) => return refused(&conn.counters, refusal),
    };
    let mut resp = Response::new(body);
    let headers = resp.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

/// The 503 of the memory budget, counted.
pub(crate) fn refused(counters: &ListenerCounters, refusal: Refusal) -> Response<Body> {
    count_refusal(counters, refusal);
    text(StatusCode::SERVICE_UNAVAILABLE, format!("{refusal}\n"))
}

/// Counts a refusal of the memory budget.
pub(crate) fn count_refusal(counters: &ListenerCounters, refusal: Refusal) {
    match refusal {
        Refusal::ChannelLimit { .. } => incr(&counters.channel_limit_refusals),
        Refusal::ReplayBudget { .. } => incr(&counters.replay_budget_refusals),
        Refusal::IdsExhausted => {}
    }
}

/// The 503 of an injected fault.
fn fault_error(what: &str) -> Response<Body> {
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("fault injected: {what}\n"),
    )
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

fn with_type(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Body> {
    let body = Full::new(body).map_err(|never: Infallible| match never {});
    let mut resp = Response::new(body.boxed_unsync());
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}
