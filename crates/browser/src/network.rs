//! What the browser's network events say about a page's requests: for each request its kind,
//! and for each response the negotiated protocol and what is known about its connection.
//!
//! * Chromium (CDP `Network` domain): `response.protocol` and `response.connectionId`, so
//!   connections are counted exactly, as distinct ids.
//! * Firefox (WebDriver BiDi `network` module): `response.protocol`, but no connection id. Each
//!   response carries the request's timings; a request that set up the connection it was sent on
//!   has a connect phase (`timings.connectStart` > 0), one sent on a connection already open has
//!   `connectStart` = 0 (measured: Firefox 153 ESR, h1, h1-tls and h2). So the connections that
//!   carried any response are the requests that opened one, and the connections that carried the
//!   EventSources and POSTs are those the work requests opened, plus the page's connection if the
//!   first work request sent reused a connection (no work request had opened one yet, so it can
//!   only have been the page's). The embedded server's own count is the cross-check
//!   (`connections_carrying_requests`; the agreement tests compare them).
//!
//! Connections are counted from responses, so a socket the browser opened speculatively and never
//! used is not counted (the server's `connections_accepted` does count it). Kinds: EventSource
//! requests, the POSTs, and everything else, which is the page's own load (the document and its
//! favicon). Chromium's events name the resource type (`EventSource`, `Fetch`/`XHR`); BiDi's do
//! not name EventSource, so there the kind comes from the method and the URL (the point's events
//! and messages paths).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;

use crate::remote::Event;

/// The CDP Network and Page events a Chromium point keeps.
pub const CDP_EVENTS: &[&str] = &[
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

/// The BiDi network events a Firefox point subscribes to and keeps.
pub const BIDI_EVENTS: &[&str] = &[
    "network.beforeRequestSent",
    "network.responseStarted",
    "network.fetchError",
];

/// What is known about the connection a response came on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ConnectionEvidence {
    /// Chromium's `response.connectionId`, and whether Chromium said it was reused.
    Id { id: u64, reused: bool },
    /// Firefox: whether the request set up the connection it was sent on, and when the request
    /// was sent (`timings.requestStart`, milliseconds since the epoch).
    Opened { opened: bool, request_start: f64 },
}

/// One response.
#[derive(Debug, Clone)]
pub struct Response {
    pub kind: RequestKind,
    pub url: String,
    pub status: u16,
    /// `response.protocol`: `http/1.1`, `h2`, ...
    pub protocol: String,
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

/// The paths (with query) a point's EventSources and POSTs use, to tell its requests apart
/// where the events do not name their kind (BiDi).
#[derive(Debug, Clone, Copy)]
pub struct RequestPaths<'a> {
    pub events: &'a str,
    pub messages: &'a str,
}

impl RequestPaths<'_> {
    fn kind(&self, method: &str, url: &str) -> RequestKind {
        // Same-origin absolute URLs: the path and query start at the first `/` after `//`.
        let path = url
            .split_once("://")
            .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
            .unwrap_or(url);
        match method {
            "GET" if path == self.events => RequestKind::Stream,
            "POST" if path == self.messages => RequestKind::Post,
            _ => RequestKind::Page,
        }
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
    /// Reads one CDP session's events (Chromium).
    pub fn from_cdp_events(events: &[Event]) -> PageNetwork {
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
                _ => {}
            }
        }
        out
    }

    /// Reads one BiDi browsing context's events (Firefox).
    pub fn from_bidi_events(events: &[Event], paths: RequestPaths<'_>) -> PageNetwork {
        let mut kinds: HashMap<String, RequestKind> = HashMap::new();
        let mut out = PageNetwork::default();
        for event in events {
            let p = &event.params;
            let id = str_at(p, "/request/request").to_owned();
            let kind = match kinds.get(&id) {
                Some(&kind) => kind,
                None => {
                    let kind = paths.kind(str_at(p, "/request/method"), str_at(p, "/request/url"));
                    kinds.insert(id, kind);
                    // The first event of a request (normally beforeRequestSent; a redirect
                    // re-sends under the same id) counts it.
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
                        protocol: str_at(r, "/protocol").to_owned(),
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

    /// Distinct connections that carried a response of one of `kinds` (Chromium's ids).
    pub fn connection_ids(&self, kinds: &[RequestKind]) -> BTreeSet<u64> {
        self.responses
            .iter()
            .filter(|r| kinds.contains(&r.kind))
            .filter_map(|r| match r.connection {
                ConnectionEvidence::Id { id, .. } => Some(id),
                ConnectionEvidence::Opened { .. } => None,
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
                ConnectionEvidence::Id { .. } => None,
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

        let mut out = by_id;
        out += by_timings;
        out
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
            scope: Some("s".into()),
        }
    }

    #[test]
    fn cdp_counts_connections_by_id_and_kind() {
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
        let n = PageNetwork::from_cdp_events(&events);
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

    const PATHS: RequestPaths<'static> = RequestPaths {
        events: "/events?channel=t",
        messages: "/messages?channel=t",
    };

    fn bidi(method: &str, id: u32, http: &str, path: &str, connect_at: f64, sent_at: f64) -> Event {
        event(
            method,
            json!({"context": "s", "request": {
                "request": id.to_string(), "method": http, "url": format!("https://127.0.0.1:1{path}"),
                "timings": {"connectStart": connect_at, "requestStart": sent_at}},
              "response": {"url": format!("https://127.0.0.1:1{path}"), "protocol": "h2", "status": 200}}),
        )
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
        PageNetwork::from_bidi_events(&events, PATHS)
    }

    #[test]
    fn bidi_http1_page_connection_reused_by_the_first_stream() {
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
    fn bidi_http2_one_connection_for_everything() {
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
    fn bidi_page_connection_left_alone_is_page_only() {
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
    fn bidi_kinds_come_from_method_and_path() {
        let k = |m, u| PATHS.kind(m, u);
        assert_eq!(
            k("GET", "http://127.0.0.1:9/events?channel=t"),
            RequestKind::Stream
        );
        assert_eq!(
            k("POST", "http://127.0.0.1:9/messages?channel=t"),
            RequestKind::Post
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
    }

    #[test]
    fn bidi_fetch_errors_are_counted_by_kind() {
        let events = vec![
            bidi(
                "network.beforeRequestSent",
                1,
                "POST",
                "/messages?channel=t",
                0.0,
                0.0,
            ),
            event(
                "network.fetchError",
                json!({"context": "s", "errorText": "NS_ERROR_NET_RESET",
                       "request": {"request": "1", "method": "POST",
                                   "url": "https://127.0.0.1:1/messages?channel=t"}}),
            ),
        ];
        let n = PageNetwork::from_bidi_events(&events, PATHS);
        assert_eq!(n.requested[&RequestKind::Post], 1);
        assert_eq!(
            n.failed,
            vec![(RequestKind::Post, "NS_ERROR_NET_RESET".into())]
        );
    }
}
