//! `POST /messages?channel=NAME`: the chat pattern. The body (UTF-8, at most `max_body_bytes`) is
//! broadcast verbatim as a `message` event and answered with `202 {"id":N,"subscribers":K}`, where
//! K is the number of subscribers it was queued for. The body is read under the size limit and
//! the body timeouts (`body`): 413 over the size, 408 when it stalls or takes too long. A
//! message the hub's memory budget refuses gets 503 and is not broadcast. The `delay_posts` fault
//! waits between reading the body and publishing it.

use http::header::{HeaderValue, CONNECTION, CONTENT_LENGTH};
use http::{Request, Response, StatusCode, Version};

use crate::app::App;
use crate::app::Conn;
use crate::routes::body::{read_body, ReadBodyError, RequestBody};
use crate::routes::query;
use crate::routes::response::{refused, text, with_type, Body};
use crate::stats::{incr, ListenerCounters};

/// The `202`'s body.
#[derive(Debug, serde::Serialize)]
struct Accepted {
    id: u64,
    subscribers: usize,
}

impl Accepted {
    /// `{"id":N,"subscribers":K}`, written directly: through serde_json it cost about 640
    /// instructions of every POST (`scripts/profile-posts.sh`; a test checks the two agree).
    fn to_json(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.extend_from_slice(br#"{"id":"#);
        out.extend_from_slice(itoa::Buffer::new().format(self.id).as_bytes());
        out.extend_from_slice(br#","subscribers":"#);
        out.extend_from_slice(itoa::Buffer::new().format(self.subscribers).as_bytes());
        out.push(b'}');
        out
    }
}

pub(crate) async fn post(app: &App, conn: &Conn, req: Request<RequestBody>) -> Response<Body> {
    let counters = &conn.counters;
    let (head, body) = req.into_parts();
    let channel = match query::messages_query(head.uri.query()) {
        Ok(c) => c,
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("{e}\n")),
    };
    let limit = app.body.max_bytes;
    let declared = head
        .headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit as u64) {
        return body_error(&ReadBodyError::TooLarge(limit), head.version, counters);
    }
    let body = match read_body(body, app.body, || conn.activity.heard()).await {
        Ok(body) => body,
        Err(e) => return body_error(&e, head.version, counters),
    };
    let Ok(data) = std::str::from_utf8(&body) else {
        return text(StatusCode::BAD_REQUEST, "message body is not UTF-8\n");
    };
    if let Some(delay) = app.faults.config.delay_posts {
        // The `delay_posts` fault: a server slower to accept messages.
        incr(&counters.faults_delayed);
        tokio::time::sleep(delay).await;
    }
    match app.hub.publish(&channel, data, conn.peer) {
        Ok((id, subscribers)) => with_type(
            StatusCode::ACCEPTED,
            "application/json",
            Accepted { id, subscribers }.to_json().into(),
        ),
        Err(refusal) => refused(counters, refusal),
    }
}

/// The answer to a body that could not be read: 413 or 400, or 408 for a timeout (counted). On
/// HTTP/1.1 the connection is closed after a 408: the rest of the body is still on its way (HTTP/2
/// and HTTP/3 end the request stream only).
pub(crate) fn body_error(
    e: &ReadBodyError,
    version: Version,
    counters: &ListenerCounters,
) -> Response<Body> {
    let status = match e {
        ReadBodyError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        ReadBodyError::Failed(_) => StatusCode::BAD_REQUEST,
        ReadBodyError::ReadTimeout(_) => {
            incr(&counters.body_read_timeouts);
            StatusCode::REQUEST_TIMEOUT
        }
        ReadBodyError::TotalTimeout(_) => {
            incr(&counters.body_total_timeouts);
            StatusCode::REQUEST_TIMEOUT
        }
    };
    let mut resp = text(status, format!("{e}\n"));
    if status == StatusCode::REQUEST_TIMEOUT && version <= Version::HTTP_11 {
        resp.headers_mut()
            .insert(CONNECTION, HeaderValue::from_static("close"));
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::Accepted;

    #[test]
    fn the_accepted_json_is_what_serde_writes() {
        for (id, subscribers) in [(0, 0), (1, 7), (u64::MAX, usize::MAX), (1_000_000, 42)] {
            let accepted = Accepted { id, subscribers };
            assert_eq!(
                String::from_utf8(accepted.to_json()).unwrap(),
                serde_json::to_string(&accepted).unwrap()
            );
        }
    }
}
