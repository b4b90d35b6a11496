//! What Firefox's WebDriver BiDi `network` events say about a page's requests. They carry
//! `response.protocol` but no connection id and no resource type: a request's kind comes from its
//! method and path (the point's [`Paths`]), and its connection from its timings
//! ([`ConnectionEvidence::Opened`]: a connect phase means it opened the connection it was sent
//! on; how those are counted is in [`crate::network`]).

use std::collections::HashMap;

use vocab::Paths;

use crate::network::{str_at, ConnectionEvidence, PageNetwork, RequestKind, Response};
use crate::remote::Event;

/// The BiDi network events a Firefox point subscribes to and keeps.
pub const KEPT: &[&str] = &[
    "network.beforeRequestSent",
    "network.responseStarted",
    "network.fetchError",
];

/// Reads one browsing context's events.
pub fn page_network(events: &[Event], paths: &Paths) -> PageNetwork {
    let mut kinds: HashMap<String, RequestKind> = HashMap::new();
    let mut out = PageNetwork::default();
    for event in events {
        let p = &event.params;
        let id = str_at(p, "/request/request").to_owned();
        let kind = match kinds.get(&id) {
            Some(&kind) => kind,
            None => {
                let kind = kind(
                    paths,
                    str_at(p, "/request/method"),
                    str_at(p, "/request/url"),
                );
                kinds.insert(id, kind);
                // The first event of a request (normally beforeRequestSent; a redirect re-sends
                // under the same id) counts it.
                *out.requested.entry(kind).or_default() += 1;
                kind
            }
        };
        match event.method.as_str() {
            "network.responseStarted" => {
                let r = &p["response"];
                let timings = &p["request"]["timings"];
                let at = |key: &str| timings[key].as_f64().unwrap_or(0.0);
                out.responses.push(Response {
                    kind,
                    url: str_at(r, "/url").to_owned(),
                    status: r["status"].as_f64().unwrap_or(0.0) as u16,
                    protocol: r["protocol"].as_str().map(str::to_owned),
                    connection: ConnectionEvidence::Opened {
                        opened: at("connectStart") > 0.0,
                        request_start: at("requestStart"),
                    },
                });
            }
            "network.fetchError" => {
                out.failed.push((kind, str_at(p, "/errorText").to_owned()));
            }
            _ => {}
        }
    }
    out
}

/// A request's kind from its method and same-origin absolute URL: the point's event stream (or
/// WebSocket), its POSTs (every POST is a `fetch` of the harness: a chat message or a streamed
/// answer's question, as Chromium's `Fetch` type says), or the page's own.
fn kind(paths: &Paths, method: &str, url: &str) -> RequestKind {
    // The path and query start at the first `/` after `//`.
    let path = url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
        .unwrap_or(url);
    match method {
        "GET" if path == paths.events || path == paths.websocket => RequestKind::Stream,
        "POST" => RequestKind::Post,
        _ => RequestKind::Page,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::network::Connections;

    fn paths() -> Paths {
        Paths::for_channel("t")
    }

    fn bidi(method: &str, id: u32, http: &str, path: &str, connect_at: f64, sent_at: f64) -> Event {
        Event {
            method: method.into(),
            params: json!({"context": "s", "request": {
                "request": id.to_string(), "method": http, "url": format!("https://127.0.0.1:1{path}"),
                "timings": {"connectStart": connect_at, "requestStart": sent_at}},
              "response": {"url": format!("https://127.0.0.1:1{path}"), "protocol": "h2", "status": 200}}),
            scope: Some("s".into()),
        }
    }

    /// A request as Firefox reported it: (id, method, path, (connectStart, requestStart)), the
    /// timings `None` for a request that got no response.
    type Request<'a> = (u32, &'a str, &'a str, Option<(f64, f64)>);

    fn page(requests: &[Request<'_>]) -> PageNetwork {
        let mut events = Vec::new();
        for &(id, http, path, timings) in requests {
            events.push(bidi("network.beforeRequestSent", id, http, path, 0.0, 0.0));
            if let Some((connect, sent)) = timings {
                events.push(bidi(
                    "network.responseStarted",
                    id,
                    http,
                    path,
                    connect,
                    sent,
                ));
            }
        }
        page_network(&events, &paths())
    }

    #[test]
    fn http1_page_connection_reused_by_the_first_stream() {
        // The document opens a connection, the favicon and the first EventSource reuse it, the
        // next two open their own, the fourth is queued, the POST opens one.
        let n = page(&[
            (1, "GET", "/health", Some((5.0, 10.0))),
            (2, "GET", "/favicon.ico", Some((0.0, 20.0))),
            (3, "GET", "/events?channel=t", Some((0.0, 30.0))),
            (4, "GET", "/events?channel=t", Some((31.0, 32.0))),
            (5, "GET", "/events?channel=t", Some((31.0, 33.0))),
            (6, "GET", "/events?channel=t", None),
            (7, "POST", "/messages?channel=t", Some((40.0, 41.0))),
        ]);
        assert_eq!(n.requested[&RequestKind::Page], 2);
        assert_eq!(n.requested[&RequestKind::Stream], 4);
        assert_eq!(n.requested[&RequestKind::Post], 1);
        assert_eq!(
            n.connections(),
            Connections {
                streams_and_posts: 4,
                any: 4,
                page_only: 0
            }
        );
    }

    #[test]
    fn http2_one_connection_for_everything() {
        let mut requests = vec![(1, "GET", "/health", Some((5.0, 10.0)))];
        for id in 2..12 {
            requests.push((
                id,
                "GET",
                "/events?channel=t",
                Some((0.0, 20.0 + f64::from(id))),
            ));
        }
        requests.push((12, "POST", "/messages?channel=t", Some((0.0, 50.0))));
        assert_eq!(
            page(&requests).connections(),
            Connections {
                streams_and_posts: 1,
                any: 1,
                page_only: 0
            }
        );
    }

    #[test]
    fn page_connection_left_alone_is_page_only() {
        // The first EventSource (by requestStart, not by event order) opened its own connection,
        // the second reused that one: the document's connection carried no work.
        let n = page(&[
            (1, "GET", "/health", Some((5.0, 10.0))),
            (3, "GET", "/events?channel=t", Some((0.0, 40.0))),
            (2, "GET", "/events?channel=t", Some((25.0, 30.0))),
            (4, "GET", "/other", None),
        ]);
        assert_eq!(
            n.connections(),
            Connections {
                streams_and_posts: 1,
                any: 2,
                page_only: 1
            }
        );
        assert_eq!(
            n.requested[&RequestKind::Page],
            2,
            "an unknown path is the page's"
        );
    }

    #[test]
    fn kinds_come_from_method_and_path() {
        let p = paths();
        let k = |m, u| kind(&p, m, u);
        assert_eq!(
            k("GET", "http://127.0.0.1:9/events?channel=t"),
            RequestKind::Stream
        );
        assert_eq!(
            k("POST", "http://127.0.0.1:9/messages?channel=t"),
            RequestKind::Post
        );
        assert_eq!(
            k("POST", "http://127.0.0.1:9/v1/chat/completions"),
            RequestKind::Post,
            "a streamed answer's question"
        );
        assert_eq!(
            k("GET", "http://127.0.0.1:9/messages?channel=t"),
            RequestKind::Page
        );
        assert_eq!(
            k("GET", "http://127.0.0.1:9/events?channel=u"),
            RequestKind::Page
        );
        assert_eq!(k("GET", "http://127.0.0.1:9/health"), RequestKind::Page);
        assert_eq!(
            k("GET", "ws://127.0.0.1:9/ws?channel=t"),
            RequestKind::Stream,
            "a WebSocket's handshake is the stream's request"
        );
    }

    #[test]
    fn websocket_handshakes_open_their_own_connections() {
        // The document on its connection, then two WebSockets, each handshake with a connect.
        let n = page(&[
            (1, "GET", "/health", Some((5.0, 10.0))),
            (2, "GET", "/ws?channel=t", Some((20.0, 21.0))),
            (3, "GET", "/ws?channel=t", Some((30.0, 31.0))),
        ]);
        assert_eq!(n.requested[&RequestKind::Stream], 2);
        assert_eq!(
            n.connections(),
            Connections {
                streams_and_posts: 2,
                any: 3,
                page_only: 1
            }
        );
    }

    #[test]
    fn fetch_errors_are_counted_by_kind() {
        let events = vec![
            bidi(
                "network.beforeRequestSent",
                1,
                "POST",
                "/messages?channel=t",
                0.0,
                0.0,
            ),
            Event {
                method: "network.fetchError".into(),
                params: json!({"context": "s", "errorText": "NS_ERROR_NET_RESET",
                       "request": {"request": "1", "method": "POST",
                                   "url": "https://127.0.0.1:1/messages?channel=t"}}),
                scope: Some("s".into()),
            },
        ];
        let n = page_network(&events, &paths());
        assert_eq!(n.requested[&RequestKind::Post], 1);
        assert_eq!(
            n.failed,
            vec![(RequestKind::Post, "NS_ERROR_NET_RESET".into())]
        );
    }
}
