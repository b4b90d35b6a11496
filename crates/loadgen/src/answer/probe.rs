//! The probe of a target's answers before the first point: one question, asked as the points
//! will ask it (path, body, framing) but for one token, on a connection of its own; the answer
//! must be a `200 text/event-stream` whose events the framing reads, up to a first token or the
//! end marker. Then the connection is dropped.

use std::sync::Arc;
use std::time::Duration;

use http::header::{HeaderValue, ACCEPT, CONTENT_TYPE};
use http::Method;
use tokio_util::sync::CancellationToken;
use vocab::AnswerRequest;

use super::reader::{AnswerReader, Arrival};
use crate::context::Ctx;
use crate::error::LoadError;
use crate::metrics::Metrics;
use crate::origin::{Origin, RequestSpec};
use crate::queue::Priority;
use crate::target::Target;

/// Asks `request` (for one token) of `target` and reads its answer until a token or the end
/// marker, all within `timeout`.
pub async fn probe_answers(
    target: &Target,
    request: &AnswerRequest,
    timeout: Duration,
) -> Result<(), LoadError> {
    let ctx = Arc::new(Ctx::new(
        Arc::new(Metrics::new()),
        CancellationToken::new(),
        timeout,
    ));
    let origin = Origin::new(Arc::new(target.clone()), ctx, 1);
    let asked = AnswerRequest {
        max_tokens: 1,
        ..request.clone()
    };
    let result = tokio::time::timeout(timeout, ask(&origin, target, &asked))
        .await
        .unwrap_or(Err(LoadError::Timeout {
            what: "the first token of an answer",
            addr: target.addr,
            after: timeout,
        }));
    origin.close();
    result
}

async fn ask(origin: &Origin, target: &Target, request: &AnswerRequest) -> Result<(), LoadError> {
    let spec = RequestSpec {
        method: Method::POST,
        path: request.path.clone(),
        headers: vec![
            (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            (ACCEPT, HeaderValue::from_static("text/event-stream")),
        ],
        body: super::request_body(request),
        priority: Priority::Default,
    };
    let mut body = origin
        .send(target, &spec, |_| {})
        .await?
        .into_event_stream("answer")?;
    let pointer = request.token_pointer.as_deref();
    let mut reader = AnswerReader::new(request.framing, pointer, sse_wire::Limits::default());
    let stamp = sse_wire::stamp::SendStamp::default();
    while let Some(chunk) = body.next_chunk().await {
        let mut token = false;
        reader.feed(&chunk?, Arrival::now(), &stamp, |_| token = true)?;
        if token || reader.ended().is_some() {
            return Ok(());
        }
    }
    Err(LoadError::AnswerTruncated)
}
