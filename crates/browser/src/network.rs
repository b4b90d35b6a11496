//! What the browser's network events say about a page's requests, the same for every browser:
//! each request's kind, and for each response the negotiated protocol and what is known about its
//! connection. Each driver reads its own events into a [`PageNetwork`]
//! ([`crate::chromium::events`], [`crate::firefox::events`]); the connections are counted here.
//!
//! * Chromium names each response's connection ([`ConnectionEvidence::Id`]): the connections are
//!   the distinct ids.
//! * Firefox does not, but its timings show whether a request set up the connection it was sent
//!   on ([`ConnectionEvidence::Opened`]; `crates/browser/FINDINGS.md`, "network.rs"). The connections
//!   that carried any response are the requests that opened one; those that carried the
//!   EventSources and POSTs are the ones the work requests opened, plus the page's connection if
//!   the first work request sent reused a connection (no work request had opened one yet, so it
//!   can only have been the page's). The server's own count is the cross-check (the agreement
//!   tests compare them).
//!
//! * A WebSocket's handshake, in Chromium, comes with no connection id
//!   ([`ConnectionEvidence::Handshake`]): each is a connection of its own. Chromium takes
//!   WebSockets' sockets from a pool of their own (`scripts/chromium-ws-probe/FINDINGS.md`), and
//!   after its `101` a connection carries nothing but that socket (RFC 6455, section 4), so no
//!   handshake shares a connection with anything. The server's count is the cross-check here too.
//!
//! Connections are counted from responses, so a socket the browser opened speculatively and never
//! used is not counted (the server's `connections_accepted` does count it).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

/// What a request was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RequestKind {
    /// An EventSource's request (on the WebSocket arms, a WebSocket's handshake).
    Stream,
    /// A `fetch` (the POSTs, and the streamed answers' questions).
    Post,
    /// The page's own requests: the document, the favicon, whatever else it loads.
    Page,
}

/// What is known about the connection a response came on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConnectionEvidence {
    /// Chromium's `response.connectionId`, and whether Chromium said it was reused.
    Id { id: u64, reused: bool },
    /// Firefox: whether the request set up the connection it was sent on, and when the request
    /// was sent (`timings.requestStart`, milliseconds since the epoch).
    Opened { opened: bool, request_start: f64 },
    /// Chromium's WebSocket handshakes (`Network.webSocketHandshakeResponseReceived`): no id, a
    /// connection of its own (see the module documentation).
    Handshake,
}

/// One response.
#[derive(Debug, Clone)]
pub struct Response {
    pub kind: RequestKind,
    pub url: String,
    pub status: u16,
    /// `response.protocol` as the browser reported it for this response: `http/1.1`, `h2`, ...;
    /// `None` where it reports none (Chromium's WebSocket handshakes).
    pub protocol: Option<String>,
    pub connection: ConnectionEvidence,
}

/// Connections that carried a page's requests, counted from its responses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Connections {
    /// Carried at least one EventSource or POST response: what the emulation counts.
    pub streams_and_posts: u64,
    /// Carried at least one response of any kind, the document included.
    pub any: u64,
    /// Connections whose only responses were the page's own (document): 0 when the document's
    /// connection was reused by the EventSources.
    pub page_only: u64,
}

impl std::ops::AddAssign for Connections {
    fn add_assign(&mut self, other: Connections) {
        self.streams_and_posts += other.streams_and_posts;
        self.any += other.any;
        self.page_only += other.page_only;
    }
}

/// Every request and response one page made.
#[derive(Debug, Clone, Default)]
pub struct PageNetwork {
    /// Requests issued, by kind.
    pub requested: BTreeMap<RequestKind, u64>,
    pub responses: Vec<Response>,
    /// Requests that failed at the network level, with the browser's error text.
    pub failed: Vec<(RequestKind, String)>,
}

impl PageNetwork {
    /// Distinct connections that carried a response of one of `kinds` (Chromium's ids).
    pub fn connection_ids(&self, kinds: &[RequestKind]) -> BTreeSet<u64> {
        self.responses
            .iter()
            .filter(|r| kinds.contains(&r.kind))
            .filter_map(|r| match r.connection {
                ConnectionEvidence::Id { id, .. } => Some(id),
                ConnectionEvidence::Opened { .. } | ConnectionEvidence::Handshake => None,
            })
            .collect()
    }

    /// The connections that carried this page's responses (see the module docs for how each
    /// browser's evidence is counted).
    pub fn connections(&self) -> Connections {
        let work = [RequestKind::Stream, RequestKind::Post];
        let all = [RequestKind::Stream, RequestKind::Post, RequestKind::Page];
        let carrying_work = self.connection_ids(&work);
        let carrying_any = self.connection_ids(&all);
        let by_id = Connections {
            streams_and_posts: carrying_work.len() as u64,
            any: carrying_any.len() as u64,
            page_only: carrying_any.difference(&carrying_work).count() as u64,
        };

        // Firefox: (is work, opened a connection, sent at).
        let opened: Vec<(bool, bool, f64)> = self
            .responses
            .iter()
            .filter_map(|r| match r.connection {
                ConnectionEvidence::Opened {
                    opened,
                    request_start,
                } => Some((r.kind != RequestKind::Page, opened, request_start)),
                ConnectionEvidence::Id { .. } | ConnectionEvidence::Handshake => None,
            })
            .collect();
        let page_opened = opened.iter().filter(|&&(w, o, _)| !w && o).count() as u64;
        let work_opened = opened.iter().filter(|&&(w, o, _)| w && o).count() as u64;
        let first_work = opened
            .iter()
            .filter(|&&(w, _, _)| w)
            .min_by(|a, b| a.2.total_cmp(&b.2));
        let page_reused = u64::from(page_opened > 0 && first_work.is_some_and(|&(_, o, _)| !o));
        let by_timings = Connections {
            streams_and_posts: work_opened + page_reused,
            any: page_opened + work_opened,
            page_only: page_opened - page_reused,
        };

        // Chromium's WebSocket handshakes: one connection each, carrying a WebSocket.
        let handshakes = self
            .responses
            .iter()
            .filter(|r| r.connection == ConnectionEvidence::Handshake)
            .count() as u64;
        let by_handshake = Connections {
            streams_and_posts: handshakes,
            any: handshakes,
            page_only: 0,
        };

        let mut out = by_id;
        out += by_timings;
        out += by_handshake;
        out
    }
}

/// The string at `pointer` in `v`, or "".
pub(crate) fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}
