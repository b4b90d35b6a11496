//! `POST /messages?channel=NAME`: the chat pattern. The body (UTF-8, at most `max_body_bytes`) is
//! broadcast verbatim as a `message` event and answered with `202 {"id":N,"subscribers":K}`, where
//! K is the number of subscribers it was queued for. A message the memory budget refuses gets 503
//! and is not broadcast (`budget.rs`).

use bytes::Bytes;
use http::header::CONTENT_LENGTH;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;

use crate::app::App;
use crate::query;
use crate::routes::{json, refused, text, Body};
use crate::stats::ListenerCounters;

#[derive(Debug, serde::Serialize)]
struct Accepted {
    id: u64,
    subscribers: usize,
}

pub(crate) async fn post(
    app: &App,
    counters: &ListenerCounters,
    req: Request<Incoming>,
) -> Response<Body> {
    let channel = match query::messages_query(req.uri().query()) {
        Ok(c) => c,
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("{e}\n")),
    };
    let limit = app.max_body_bytes;
    let too_large = || {
        text(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("message body larger than {limit} bytes\n"),
        )
    };
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return too_large();
    }
    let body: Bytes = match Limited::new(req.into_body(), limit).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return too_large(),
        Err(e) => {
            return text(
                StatusCode::BAD_REQUEST,
                format!("cannot read message body: {e}\n"),
            )
        }
    };
    let Ok(data) = std::str::from_utf8(&body) else {
        return text(StatusCode::BAD_REQUEST, "message body is not UTF-8\n");
    };
    match app.hub.publish(&channel, data) {
        Ok((id, subscribers)) => json(StatusCode::ACCEPTED, &Accepted { id, subscribers }),
        Err(refusal) => refused(counters, refusal),
    }
}
