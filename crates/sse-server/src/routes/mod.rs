//! The routes, the same on every listener:
//!
//! | route | reply |
//! |---|---|
//! | `GET /events?channel=&interval_ms=&size=&count=&heartbeat_ms=&retry_ms=` | the event stream (`events`); each value within its range (`query`), else 400 |
//! | `POST /messages?channel=` | broadcast the body (`messages`) |
//! | `POST /v1/chat/completions?ttft_ms=&ttft_p99_ms=&gap_ms=&gap_p99_ms=&seed=` | a streamed answer in OpenAI's chunk format (`answers/`) |
//! | `POST /v1/messages?` (the same keys) | a streamed answer in Anthropic's typed events (`answers/`) |
//! | `GET /ws?channel=&interval_ms=&size=&count=&heartbeat_ms=` | on the WebSocket listeners: a WebSocket (`ws`); elsewhere 404 |
//! | `GET /stats` | [`crate::Stats`] as JSON |
//! | `GET /health` | `ok` |
//! | `GET /` | a chat demo page using `EventSource` |
//!
//! Anything else is 404; a known path with another method is 405 with `Allow`. The every-Nth
//! faults ([`crate::faults`]) answer 503 before the route runs. The hub's memory budget answers
//! 503 to a request that would create a channel beyond `max_channels` and to a message that does
//! not fit in the replay budget, counted ([`response::refused`]); the body says which.

mod answers;
mod body;
mod events;
mod messages;
mod query;
mod response;
mod schedule;
mod ws;

use std::sync::Arc;

use bytes::Bytes;
use http::header::{HeaderValue, ALLOW};
use http::{Method, Request, Response, StatusCode};

use vocab::AnswerFraming;

use crate::app::App;
use crate::app::Conn;
use crate::stats::incr;
use body::{read_body, ReadBodyError};
pub(crate) use body::{RequestBody, TransportError};
use events::Resume;
pub(crate) use response::Body;
use response::{json, refused, text, with_type};

const DEMO_PAGE: &str = include_str!("demo.html");
/// Where each framing's questions are asked.
const OPENAI: &str = sse_wire::answer::openai::PATH;
const ANTHROPIC: &str = sse_wire::answer::anthropic::PATH;

/// Answers one request.
pub(crate) async fn handle(app: Arc<App>, conn: Conn, req: Request<RequestBody>) -> Response<Body> {
    let counters = &conn.counters;
    let path = req.uri().path();
    let (allowed, allowed_name) = match path {
        "/events" | "/ws" | "/stats" | "/health" | "/" => (Method::GET, "GET"),
        "/messages" | OPENAI | ANTHROPIC => (Method::POST, "POST"),
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
        "/ws" => ws::upgrade(&app, &conn, req),
        "/messages" if app.faults.post_fails() => {
            incr(&counters.faults_errors);
            // Read the body anyway (within the limits), so an HTTP/1.1 connection stays usable.
            let version = req.version();
            match read_body(req.into_body(), app.body, || conn.activity.heard()).await {
                Err(e @ (ReadBodyError::ReadTimeout(_) | ReadBodyError::TotalTimeout(_))) => {
                    messages::body_error(&e, version, counters)
                }
                _ => fault_error("every Nth POST /messages fails"),
            }
        }
        "/messages" => messages::post(&app, &conn, req).await,
        OPENAI => answers::post(&app, &conn, AnswerFraming::OpenAi, req).await,
        ANTHROPIC => answers::post(&app, &conn, AnswerFraming::Anthropic, req).await,
        "/stats" => json(StatusCode::OK, &app.stats()),
        "/health" => text(StatusCode::OK, "ok\n"),
        _ => with_type(
            StatusCode::OK,
            "text/html; charset=utf-8",
            Bytes::from_static(DEMO_PAGE.as_bytes()),
        ),
    }
}

fn events(app: &Arc<App>, conn: &Conn, req: &Request<RequestBody>) -> Response<Body> {
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
    response::event_stream(body)
}

/// The 503 of an injected fault.
fn fault_error(what: &str) -> Response<Body> {
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        format!("fault injected: {what}\n"),
    )
}
