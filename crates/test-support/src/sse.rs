//! Reading an event stream the way a client does: body frames into `sse_wire::Parser`.

use std::collections::VecDeque;

use http::Response;
use http_body_util::BodyExt;
use sse_wire::Parser;

use crate::client::{ClientError, ResponseBody};
use crate::server::error_chain;
use crate::{within, WAIT};

/// A dispatched event, owned (the parser's own owned copy).
pub use sse_wire::OwnedEvent as SseEvent;
/// Anything the parser reports, owned.
pub use sse_wire::OwnedItem as SseItem;

/// An open event stream.
#[derive(Debug)]
pub struct SseReader {
    body: ResponseBody,
    parser: Parser,
    ready: VecDeque<SseItem>,
    ended: bool,
}

impl SseReader {
    /// Checks the response is a 200 `text/event-stream` and wraps its body.
    pub fn new(resp: Response<ResponseBody>) -> SseReader {
        assert_eq!(resp.status(), http::StatusCode::OK, "event stream status");
        let content_type = resp.headers().get(http::header::CONTENT_TYPE);
        assert_eq!(
            content_type.and_then(|v| v.to_str().ok()),
            Some("text/event-stream"),
            "event stream content type"
        );
        SseReader {
            body: resp.into_body(),
            parser: Parser::new(),
            ready: VecDeque::new(),
            ended: false,
        }
    }

    /// The next item; `Ok(None)` once the body ended cleanly; `Err` if the body failed. Panics if
    /// nothing arrives within [`WAIT`].
    pub async fn next(&mut self) -> Result<Option<SseItem>, ClientError> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Ok(Some(item));
            }
            if self.ended {
                return Ok(None);
            }
            let frame = within(WAIT, "next event-stream frame", self.body.frame()).await;
            let Some(frame) = frame.transpose()? else {
                self.ended = true;
                self.parser.finish();
                continue;
            };
            let Ok(data) = frame.into_data() else {
                continue;
            };
            let ready = &mut self.ready;
            self.parser
                .feed(&data, |item| ready.push_back(SseItem::from(item)))
                .unwrap_or_else(|e| panic!("bad event stream: {e}"));
        }
    }

    /// The next item, panicking on end of stream or error.
    pub async fn item(&mut self) -> SseItem {
        match self.next().await {
            Ok(Some(item)) => item,
            Ok(None) => panic!("the event stream ended"),
            Err(e) => panic!("the event stream failed: {}", error_chain(&e)),
        }
    }

    /// The next event, skipping comments and `retry:` lines.
    pub async fn event(&mut self) -> SseEvent {
        loop {
            if let SseItem::Event(e) = self.item().await {
                return e;
            }
        }
    }

    /// The next event whose type is `event_type`, skipping others.
    pub async fn event_of(&mut self, event_type: &str) -> SseEvent {
        loop {
            let e = self.event().await;
            if e.event_type == event_type {
                return e;
            }
        }
    }

    /// Reads until the body ends: `Ok(())` if it ended cleanly.
    pub async fn until_end(&mut self) -> Result<(), ClientError> {
        while self.next().await?.is_some() {}
        Ok(())
    }
}
