//! What Chromium's Network domain says about a page's requests: for each request its kind, and
//! for each response the connection that carried it (`response.connectionId`) and the negotiated
//! protocol (`response.protocol`).
//!
//! Connections are counted from responses, so a socket the browser opened speculatively and never
//! used is not counted (the server's `connections_accepted` does count it). Requests are sorted by
//! CDP resource type: `EventSource`, `Fetch`/`XHR` (the POSTs), and everything else, which is the
//! page's own load (the document and its favicon).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use crate::cdp::Event;

/// The Network and Page events a point keeps.
pub const KEPT_EVENTS: &[&str] = &[
    "Network.requestWillBeSent",
    "Network.responseReceived",
    "Network.loadingFailed",
    "Page.loadEventFired",
];

/// What a request was for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RequestKind {
    /// An EventSource's request.
    Stream,
    /// A `fetch` (the POSTs).
    Post,
    /// The page's own requests: the document, the favicon, whatever else it loads.
    Page,
}

/// One response as reported by `Network.responseReceived`.
#[derive(Debug, Clone)]
pub struct Response {
    pub kind: RequestKind,
    pub url: String,
    pub status: u16,
    /// `response.protocol`: `http/1.1`, `h2`, ...
    pub protocol: String,
    pub connection_id: u64,
    pub connection_reused: bool,
}

/// Every request and response one page made.
#[derive(Debug, Clone, Default)]
pub struct PageNetwork {
    /// Requests issued, by kind.
    pub requested: BTreeMap<RequestKind, u64>,
    pub responses: Vec<Response>,
    /// Requests that failed (`Network.loadingFailed`), with Chromium's error text.
    pub failed: Vec<(RequestKind, String)>,
}

impl PageNetwork {
    /// Reads one session's events.
    pub fn from_events(events: &[Event]) -> PageNetwork {
        let mut kinds: HashMap<String, RequestKind> = HashMap::new();
        let mut out = PageNetwork::default();
        for event in events {
            let p = &event.params;
            let id = str_at(p, "/requestId").to_owned();
            match event.method.as_str() {
                "Network.requestWillBeSent" => {
                    // A redirect re-sends under the same id: count the request once.
                    if kinds.contains_key(&id) {
                        continue;
                    }
                    let kind = kind_of(str_at(p, "/type"));
                    kinds.insert(id, kind);
                    *out.requested.entry(kind).or_default() += 1;
                }
                "Network.responseReceived" => {
                    let kind = kinds
                        .get(&id)
                        .copied()
                        .unwrap_or_else(|| kind_of(str_at(p, "/type")));
                    let r = &p["response"];
                    out.responses.push(Response {
                        kind,
                        url: str_at(r, "/url").to_owned(),
                        status: r["status"].as_f64().unwrap_or(0.0) as u16,
                        protocol: str_at(r, "/protocol").to_owned(),
                        connection_id: r["connectionId"].as_f64().unwrap_or(0.0) as u64,
                        connection_reused: r["connectionReused"].as_bool().unwrap_or(false),
                    });
                }
                "Network.loadingFailed" => {
                    let kind = kinds.get(&id).copied().unwrap_or(RequestKind::Page);
                    out.failed.push((kind, str_at(p, "/errorText").to_owned()));
                }
                _ => {}
            }
        }
        out
    }

    /// Distinct connections that carried a response of one of `kinds`.
    pub fn connections(&self, kinds: &[RequestKind]) -> BTreeSet<u64> {
        self.responses
            .iter()
            .filter(|r| kinds.contains(&r.kind))
            .map(|r| r.connection_id)
            .collect()
    }
}

fn kind_of(resource_type: &str) -> RequestKind {
    match resource_type {
        "EventSource" => RequestKind::Stream,
        "Fetch" | "XHR" => RequestKind::Post,
        _ => RequestKind::Page,
    }
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> &'a str {
    v.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(method: &str, params: Value) -> Event {
        Event {
            method: method.into(),
            params,
            session_id: Some("s".into()),
        }
    }

    #[test]
    fn counts_connections_by_kind() {
        let sent = |id: &str, ty: &str| {
            event(
                "Network.requestWillBeSent",
                json!({"requestId": id, "type": ty}),
            )
        };
        let got = |id: &str, conn: u64, reused: bool| {
            event(
                "Network.responseReceived",
                json!({"requestId": id, "type": "Other", "response": {
                    "url": "https://127.0.0.1:1/x", "status": 200, "protocol": "http/1.1",
                    "connectionId": conn, "connectionReused": reused}}),
            )
        };
        let events = vec![
            sent("doc", "Document"),
            got("doc", 7, false),
            sent("e1", "EventSource"),
            sent("e2", "EventSource"),
            sent("e3", "EventSource"),
            got("e1", 7, true),
            got("e2", 9, false),
            sent("p1", "Fetch"),
            event(
                "Network.loadingFailed",
                json!({"requestId": "p1", "errorText": "net::ERR_FAILED"}),
            ),
        ];
        let n = PageNetwork::from_events(&events);
        assert_eq!(n.requested[&RequestKind::Stream], 3);
        assert_eq!(n.requested[&RequestKind::Post], 1);
        assert_eq!(n.requested[&RequestKind::Page], 1);
        let streams = n.connections(&[RequestKind::Stream, RequestKind::Post]);
        assert_eq!(streams.into_iter().collect::<Vec<_>>(), vec![7, 9]);
        assert_eq!(n.connections(&[RequestKind::Page]).len(), 1);
        assert_eq!(n.responses[1].kind, RequestKind::Stream);
        assert!(n.responses[1].connection_reused);
        assert_eq!(
            n.failed,
            vec![(RequestKind::Post, "net::ERR_FAILED".into())]
        );
    }
}
