//! What a browser point measured, the same for every browser, and how each page's end state and
//! network events add up into it.

use std::time::Duration;

use sse_server::ListenerStats;

use crate::harness::{PageResult, CONNECTING, OPEN};
use crate::network::{Connections, PageNetwork, RequestKind};

/// What a browser point measured. Counters are summed over clients.
#[derive(Debug, Clone, Default)]
pub struct PointOutcome {
    pub streams_requested: u64,
    /// EventSources that fired `open` at least once.
    pub streams_opened: u64,
    /// EventSources whose `readyState` was OPEN at the end.
    pub streams_open_at_end: u64,
    /// EventSources whose `readyState` was CONNECTING at the end: over HTTP/1.1, waiting for a
    /// connection slot (or, after an error, reconnecting).
    pub streams_queued_at_end: u64,
    /// `tick` and `message` events dispatched.
    pub events_received: u64,
    /// EventSource `error` events.
    pub stream_errors: u64,
    /// POSTs whose instant came during the point.
    pub posts_scheduled: u64,
    /// POSTs answered with a 2xx, read to the end.
    pub posts_completed: u64,
    /// POSTs that failed (fetch rejected, or a non-2xx status).
    pub posts_failed: u64,
    /// Of those, POSTs answered with a non-2xx status.
    pub posts_bad_status: u64,
    /// POSTs scheduled that had neither completed nor failed at the end.
    pub posts_stalled_at_end: u64,
    /// EventSource (WebSocket) created -> its first `open`, one per stream that opened.
    pub time_to_open: Vec<Duration>,
    /// EventSource created -> first `tick`/`message` event (WebSocket: first message), one per
    /// stream that got one.
    pub time_to_first_event: Vec<Duration>,
    /// POST's scheduled instant -> its response read to the end.
    pub post_rtt: Vec<Duration>,
    /// The streamed answers, when the point asks any.
    pub answers: Option<crate::answers::AnswersOutcome>,
    /// From the browser's network events (see [`crate::network`]).
    pub connections: Connections,
    /// Requests the browser reported, by kind: (streams, posts, page).
    pub requests_sent: (u64, u64, u64),
    /// Requests that failed at the network level (CDP `Network.loadingFailed`, BiDi
    /// `network.fetchError`).
    pub requests_failed: u64,
    /// The protocol the browser reported for its responses (every response that names one is
    /// checked: all the arm's).
    pub negotiated: String,
    /// The server's counters for the arm's listener at the end of the point (`None` only for an
    /// outcome made by hand).
    pub server: Option<ListenerStats>,
    /// The server's `connections_carrying_requests` after the pages loaded, before the harness
    /// started.
    pub server_connections_after_page_load: u64,
    /// `document.visibilityState` of the pages at the end (timers are not throttled if
    /// `visible`): the first page's that is not `visible`, if any.
    pub visibility: String,
    /// From the harness start to the end of the point, as the pages measured it (longest).
    pub measured: Duration,
    /// The whole point, browser launch and teardown included.
    pub elapsed: Duration,
}

impl PointOutcome {
    /// Adds one page's end state (its connections come from its network events:
    /// [`PointOutcome::add_network`]). On the WebSocket arms a POST is done, without a status,
    /// when its echo came back.
    pub(crate) fn add_page(&mut self, page: &PageResult, websockets: bool) {
        if self.visibility.is_empty() || self.visibility == "visible" {
            self.visibility.clone_from(&page.visibility);
        }
        self.measured = self.measured.max(ms(page.ended_at));
        for s in &page.streams {
            self.streams_requested += 1;
            self.streams_opened += u64::from(s.opened.is_some());
            self.streams_open_at_end += u64::from(s.ready_state == OPEN);
            self.streams_queued_at_end += u64::from(s.ready_state == CONNECTING);
            self.events_received += s.events;
            self.stream_errors += s.errors;
            if let Some(opened) = s.opened {
                self.time_to_open.push(ms(opened - s.created));
            }
            if let Some(first) = s.first_event {
                self.time_to_first_event.push(ms(first - s.created));
            }
        }
        for p in page.posts.iter().filter(|p| p.fired.is_some()) {
            self.posts_scheduled += 1;
            match (p.done, p.status, &p.failed) {
                (Some(done), Some(status), _) if (200..300).contains(&status) => {
                    self.posts_completed += 1;
                    self.post_rtt.push(ms(done - p.at));
                }
                (Some(done), None, None) if websockets => {
                    self.posts_completed += 1;
                    self.post_rtt.push(ms(done - p.at));
                }
                (Some(_), Some(_), _) => {
                    self.posts_failed += 1;
                    self.posts_bad_status += 1;
                }
                (_, _, Some(_)) => self.posts_failed += 1,
                _ => self.posts_stalled_at_end += 1,
            }
        }
    }

    /// Adds one page's network events.
    pub(crate) fn add_network(&mut self, network: &PageNetwork) {
        self.connections += network.connections();
        let count = |k| network.requested.get(&k).copied().unwrap_or(0);
        self.requests_sent.0 += count(RequestKind::Stream);
        self.requests_sent.1 += count(RequestKind::Post);
        self.requests_sent.2 += count(RequestKind::Page);
        self.requests_failed += network.failed.len() as u64;
    }
}

/// Milliseconds of the page's clock as a duration (never negative).
fn ms(t: f64) -> Duration {
    Duration::from_secs_f64(t.max(0.0) / 1000.0)
}
