//! What Chromium's CDP `Network` events say about a page's requests: each request's kind from its
//! resource type (`EventSource`, `Fetch`/`XHR`, anything else the page's own), and for each
//! response its `protocol` and `connectionId`, so connections are counted exactly, as distinct
//! ids. WebSockets have events of their own (`Network.webSocketCreated`, then
//! `Network.webSocketHandshakeResponseReceived`), without a protocol or a connection id: each
//! handshake is a connection of its own ([`ConnectionEvidence::Handshake`]).

use std::collections::HashMap;

use crate::network::{str_at, ConnectionEvidence, PageNetwork, RequestKind, Response};
use crate::remote::Event;

/// The CDP Network and Page events a Chromium point keeps.
pub const KEPT: &[&str] = &[
    "Network.requestWillBeSent",
    "Network.responseReceived",
    "Network.loadingFailed",
    "Network.webSocketCreated",
    "Network.webSocketHandshakeResponseReceived",
    "Page.loadEventFired",
];

/// Reads one CDP session's events.
pub fn page_network(events: &[Event]) -> PageNetwork {
    let mut kinds: HashMap<String, RequestKind> = HashMap::new();
    let mut websockets: HashMap<String, String> = HashMap::new();
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
                    protocol: r["protocol"].as_str().map(str::to_owned),
                    connection: ConnectionEvidence::Id {
                        id: r["connectionId"].as_f64().unwrap_or(0.0) as u64,
                        reused: r["connectionReused"].as_bool().unwrap_or(false),
                    },
                });
            }
            "Network.loadingFailed" => {
                let kind = kinds.get(&id).copied().unwrap_or(RequestKind::Page);
                out.failed.push((kind, str_at(p, "/errorText").to_owned()));
            }
            "Network.webSocketCreated" => {
                *out.requested.entry(RequestKind::Stream).or_default() += 1;
                websockets.insert(id, str_at(p, "/url").to_owned());
            }
            "Network.webSocketHandshakeResponseReceived" => {
                out.responses.push(Response {
                    kind: RequestKind::Stream,
                    url: websockets.get(&id).cloned().unwrap_or_default(),
                    status: p["response"]["status"].as_f64().unwrap_or(0.0) as u16,
                    protocol: None,
                    connection: ConnectionEvidence::Handshake,
                });
            }
            _ => {}
        }
    }
    out
}

fn kind_of(resource_type: &str) -> RequestKind {
    match resource_type {
        "EventSource" => RequestKind::Stream,
        "Fetch" | "XHR" => RequestKind::Post,
        _ => RequestKind::Page,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;
    use crate::network::Connections;

    fn event(method: &str, params: Value) -> Event {
        Event {
            method: method.into(),
            params,
            scope: Some("s".into()),
        }
    }

    #[test]
    fn counts_connections_by_id_and_kind() {
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
        let n = page_network(&events);
        assert_eq!(n.requested[&RequestKind::Stream], 3);
        assert_eq!(n.requested[&RequestKind::Post], 1);
        assert_eq!(n.requested[&RequestKind::Page], 1);
        let streams = n.connection_ids(&[RequestKind::Stream, RequestKind::Post]);
        assert_eq!(streams.into_iter().collect::<Vec<_>>(), vec![7, 9]);
        assert_eq!(n.connection_ids(&[RequestKind::Page]).len(), 1);
        assert_eq!(n.responses[1].kind, RequestKind::Stream);
        assert_eq!(
            n.responses[1].connection,
            ConnectionEvidence::Id {
                id: 7,
                reused: true
            }
        );
        assert_eq!(
            n.connections(),
            Connections {
                streams_and_posts: 2,
                any: 2,
                page_only: 0
            }
        );
        assert_eq!(
            n.failed,
            vec![(RequestKind::Post, "net::ERR_FAILED".into())]
        );
    }

    /// WebSockets show in their own events, without a connection id or a protocol: one
    /// connection per handshake, beside the document's.
    #[test]
    fn websocket_handshakes_are_connections_of_their_own() {
        let created = |id: &str| {
            event(
                "Network.webSocketCreated",
                json!({"requestId": id, "url": "ws://127.0.0.1:1/ws?channel=t"}),
            )
        };
        let answered = |id: &str| {
            event(
                "Network.webSocketHandshakeResponseReceived",
                json!({"requestId": id, "response": {"status": 101, "statusText": "Switching Protocols"}}),
            )
        };
        let events = vec![
            event(
                "Network.requestWillBeSent",
                json!({"requestId": "doc", "type": "Document"}),
            ),
            event(
                "Network.responseReceived",
                json!({"requestId": "doc", "type": "Document", "response": {
                    "url": "http://127.0.0.1:1/health", "status": 200, "protocol": "http/1.1",
                    "connectionId": 4, "connectionReused": false}}),
            ),
            created("w1"),
            created("w2"),
            answered("w1"),
            answered("w2"),
        ];
        let n = page_network(&events);
        assert_eq!(n.requested[&RequestKind::Stream], 2);
        assert_eq!(n.responses[1].url, "ws://127.0.0.1:1/ws?channel=t");
        assert_eq!(n.responses[1].protocol, None, "CDP names none");
        assert_eq!(n.responses[0].protocol.as_deref(), Some("http/1.1"));
        assert_eq!(
            n.connections(),
            Connections {
                streams_and_posts: 2,
                any: 3,
                page_only: 1
            }
        );
    }
}
