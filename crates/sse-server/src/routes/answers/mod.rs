//! `POST /v1/chat/completions` and `POST /v1/messages`: a streamed answer, as an OpenAI-compatible
//! server, or Anthropic's messages API, streams one. The body (read under the same limits as a
//! message's: 413, 408) is the question (`request`, the same fields in both); the answer is
//! `200 text/event-stream` (`stream`): its start, `max_tokens` tokens (the server's default when
//! the question names none) paced as the server's
//! [`AnswerDefaults`](crate::config::AnswerDefaults) or the query say, drawn per answer from the
//! seed (`pace`), its stop and its end (`data: [DONE]`, or `message_stop`). Each event carries
//! the send stamp (`"sent_ns"`). A question that cannot be honoured is a 400 that names why.

mod pace;
mod request;
mod stream;

use std::sync::atomic::Ordering;

use http::header::CONTENT_LENGTH;
use http::{Request, Response, StatusCode};

use crate::app::{App, Conn};
use crate::routes::body::{read_body, ReadBodyError, RequestBody};
use crate::routes::messages::body_error;
use crate::routes::response::{event_stream, text, Body};
use pace::Draws;

/// Answers a question POSTed to `framing`'s path.
pub(crate) async fn post(
    app: &App,
    conn: &Conn,
    framing: vocab::AnswerFraming,
    req: Request<RequestBody>,
) -> Response<Body> {
    let counters = &conn.counters;
    let limit = app.body.max_bytes;
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return body_error(&ReadBodyError::TooLarge(limit), req.version(), counters);
    }
    let (version, query) = (req.version(), req.uri().query().map(str::to_owned));
    let body = match read_body(req.into_body(), app.body, || conn.activity.progress()).await {
        Ok(body) => body,
        Err(e) => return body_error(&e, version, counters),
    };
    let spec = match request::read(&body, query.as_deref(), &app.answers) {
        Ok(spec) => spec,
        Err(reason) => return text(StatusCode::BAD_REQUEST, format!("{reason}\n")),
    };
    let number = app.answers_started.fetch_add(1, Ordering::Relaxed);
    // A query's seed draws this answer alone; the server's seed draws answer `number` of it.
    let draws = match spec.seed {
        Some(seed) => Draws::new(seed, 0),
        None => Draws::new(app.answers.seed, number),
    };
    event_stream(stream::open(
        framing,
        spec,
        draws,
        number,
        conn,
        &app.faults.config,
    ))
}
