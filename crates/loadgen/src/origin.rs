//! One origin as a virtual client sees it: an HTTP/1.1 pool, an HTTP/2 connection or an HTTP/3
//! connection, behind one interface that sends a request once a slot is granted and yields the
//! response body in chunks; and the [`probe`] that checks a run can start.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::connect::connect;
use crate::context::Ctx;
use crate::error::LoadError;
use crate::http1::{H1Pool, Lease};
use crate::http2::{self, H2Origin, Permit};
use crate::http3::{self, H3Body, H3Origin};
use crate::queue::{Priority, SlotEvent};
use crate::target::Target;
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue, HOST};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use vocab::{BrowserProfile, Transport};

/// A request to send: method, path (with query), headers, body.
#[derive(Debug, Clone)]
pub struct RequestSpec {
    pub method: Method,
    pub path: String,
    pub headers: Vec<(HeaderName, HeaderValue)>,
    pub body: Bytes,
    pub priority: Priority,
}

/// A response head and its streaming body.
#[derive(Debug)]
pub struct Response {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Body,
}

impl Response {
    /// The body of an event stream (`what`: "event stream", "answer"), its head checked (status
    /// 200, `Content-Type: text/event-stream`) and dropped, so that a stream keeps only its body.
    pub(crate) fn into_event_stream(self, what: &'static str) -> Result<Body, LoadError> {
        if self.status != StatusCode::OK {
            return Err(LoadError::Status {
                what,
                status: self.status.as_u16(),
            });
        }
        let content_type = self
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if !is_event_stream(content_type) {
            return Err(LoadError::ContentType {
                got: content_type.to_owned(),
            });
        }
        Ok(self.body)
    }
}

/// Whether a `Content-Type` is `text/event-stream` (its essence, any parameters).
fn is_event_stream(content_type: &str) -> bool {
    content_type
        .split(';')
        .next()
        .is_some_and(|essence| essence.trim().eq_ignore_ascii_case("text/event-stream"))
}

/// A response body; holds its connection slot (h1), stream permit (h2) or stream (h3) until
/// dropped.
pub struct Body(BodyInner);

enum BodyInner {
    H1 {
        body: hyper::body::Incoming,
        lease: Lease,
    },
    H2 {
        body: h2::RecvStream,
        _permit: Permit,
    },
    /// Boxed: h3's request stream is several times the size of the others.
    H3(Box<H3Body>),
}

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self.0 {
            BodyInner::H1 { .. } => "Body(h1)",
            BodyInner::H2 { .. } => "Body(h2)",
            BodyInner::H3(_) => "Body(h3)",
        })
    }
}

impl Body {
    /// The next chunk of data; `None` at a clean end of the body.
    pub async fn next_chunk(&mut self) -> Option<Result<Bytes, LoadError>> {
        match &mut self.0 {
            BodyInner::H1 { body, .. } => loop {
                match body.frame().await? {
                    Ok(frame) => match frame.into_data() {
                        Ok(data) => return Some(Ok(data)),
                        Err(_trailers) => continue,
                    },
                    Err(e) => return Some(Err(LoadError::Http1(e))),
                }
            },
            BodyInner::H2 { body, .. } => match body.data().await? {
                Ok(data) => {
                    let _ = body.flow_control().release_capacity(data.len());
                    Some(Ok(data))
                }
                Err(e) => Some(Err(LoadError::Http2(e))),
            },
            BodyInner::H3(body) => body.next_chunk().await,
        }
    }

    /// Reads the rest of the body and, on HTTP/1.1, gives the connection back for reuse.
    pub async fn finish(mut self) -> Result<(), LoadError> {
        while let Some(chunk) = self.next_chunk().await {
            chunk?;
        }
        if let BodyInner::H1 { lease, .. } = self.0 {
            lease.release_reusable();
        }
        Ok(())
    }
}

/// The origin of one virtual client.
#[derive(Debug)]
pub(crate) enum Origin {
    H1(H1Pool),
    H2(H2Origin),
    H3(H3Origin),
}

impl Origin {
    pub fn new(target: Arc<Target>, ctx: Arc<Ctx>, max_connections_per_origin: usize) -> Self {
        if target.arm.is_http2() {
            Origin::H2(H2Origin::new(target, ctx))
        } else if target.arm.transport() == Transport::Udp {
            Origin::H3(H3Origin::new(target, ctx))
        } else {
            Origin::H1(H1Pool::new(target, ctx, max_connections_per_origin))
        }
    }

    /// Sends `spec` once a slot is granted and returns when the response head arrives.
    /// `on_slot` hears the instant the request is granted its slot (the end of `queue_wait`), and,
    /// on HTTP/2, when a refusal sends it back to the queue.
    pub async fn send(
        &self,
        target: &Target,
        spec: &RequestSpec,
        on_slot: impl FnMut(SlotEvent),
    ) -> Result<Response, LoadError> {
        match self {
            Origin::H1(pool) => {
                // Origin form and a Host header.
                let request = build_request(
                    target,
                    spec,
                    spec.path.as_str(),
                    Some(&target.authority),
                    Full::new(spec.body.clone()),
                )?;
                // Each protocol's request boxed (here and below): inline, every request's future
                // would be the size of the largest protocol's (HTTP/3's, 7.6 KB), whatever it
                // speaks, and a browser-like stream waits in it until its response head.
                let (response, lease) =
                    Box::pin(pool.send(request, spec.priority, on_slot)).await?;
                let (head, body) = response.into_parts();
                Ok(Response {
                    status: head.status,
                    headers: head.headers,
                    body: Body(BodyInner::H1 { body, lease }),
                })
            }
            Origin::H2(origin) => {
                // Absolute form: h2 sends it as :scheme, :authority and :path.
                let uri = format!("{}{}", target.origin(), spec.path);
                let request = build_request(target, spec, uri, None, ())?;
                let (response, permit) =
                    Box::pin(origin.send(request, spec.body.clone(), spec.priority, on_slot))
                        .await?;
                let (head, body) = response.into_parts();
                Ok(Response {
                    status: head.status,
                    headers: head.headers,
                    body: Body(BodyInner::H2 {
                        body,
                        _permit: permit,
                    }),
                })
            }
            Origin::H3(origin) => {
                // Absolute form: h3 sends it as :scheme, :authority and :path.
                let uri = format!("{}{}", target.origin(), spec.path);
                let request = build_request(target, spec, uri, None, ())?;
                let (response, body) =
                    Box::pin(origin.send(request, spec.body.clone(), spec.priority, on_slot))
                        .await?;
                let (head, ()) = response.into_parts();
                Ok(Response {
                    status: head.status,
                    headers: head.headers,
                    body: Body(BodyInner::H3(Box::new(body))),
                })
            }
        }
    }

    /// Closes what the origin holds open.
    pub fn close(&self) {
        match self {
            Origin::H1(_) => {}
            Origin::H2(origin) => origin.close(),
            Origin::H3(origin) => origin.close(),
        }
    }
}

/// `spec` as a request for `uri` with `body`; on HTTP/1.1 (`host`), with its Host header.
///
/// The headers are in a map made for them (and, on HTTP/1.1, the Content-Length hyper adds to a
/// request with a body). A map grown by its first insert has room for six headers, about 600
/// bytes, and a request's map lives until its head is sent (on HTTP/2, until h2 encodes its
/// HEADERS frame): the streams a client opens at once have theirs alive together, at the load
/// generator's peak of memory. A function of its own, not inline in `Origin::send`: a local an
/// `async fn` borrows stays in its future across later awaits, moved or not, and the builder
/// (about 250 bytes) sat in every request's future until its response head.
fn build_request<B, U>(
    target: &Target,
    spec: &RequestSpec,
    uri: U,
    host: Option<&str>,
    body: B,
) -> Result<Request<B>, LoadError>
where
    http::Uri: TryFrom<U>,
    <http::Uri as TryFrom<U>>::Error: Into<http::Error>,
{
    let host = host
        .map(HeaderValue::from_str)
        .transpose()
        .map_err(|e| invalid_request(target, e.into()))?;
    // On HTTP/1.1, room for Host and for the Content-Length hyper adds to a request with a body.
    let extra = if host.is_some() { 2 } else { 0 };
    let mut headers = HeaderMap::with_capacity(spec.headers.len() + extra);
    if let Some(host) = host {
        headers.append(HOST, host);
    }
    for (name, value) in &spec.headers {
        headers.append(name.clone(), value.clone());
    }
    let mut builder = Request::builder().method(spec.method.clone()).uri(uri);
    if let Some(map) = builder.headers_mut() {
        *map = headers;
    }
    builder.body(body).map_err(|e| invalid_request(target, e))
}

fn invalid_request(target: &Target, e: http::Error) -> LoadError {
    LoadError::InvalidTarget {
        url: target.origin(),
        reason: format!("cannot build request: {e}"),
    }
}

/// Connects once to check that a run can start: TCP, TLS with the certificate check and the
/// arm's ALPN, and on the HTTP/2 arms the HTTP/2 handshake up to the server's SETTINGS (a PING
/// round trip); on `h3` a QUIC handshake with ALPN `h3` (Chromium's transport parameters).
/// Nothing is requested; the connection is closed at once.
pub async fn probe(target: &Target, timeout: Duration) -> Result<(), LoadError> {
    if target.arm.transport() == Transport::Udp {
        return http3::handshake(target, BrowserProfile::default(), timeout).await;
    }
    let start = Instant::now();
    let (io, _) = connect(target, timeout).await?;
    if !target.arm.is_http2() {
        return Ok(());
    }
    let left = timeout.saturating_sub(start.elapsed());
    tokio::time::timeout(left, http2::settings_round_trip(io))
        .await
        .map_err(|_| LoadError::Timeout {
            what: "HTTP/2 SETTINGS",
            addr: target.addr,
            after: timeout,
        })?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_type_essence() {
        assert!(is_event_stream("text/event-stream"));
        assert!(is_event_stream("Text/Event-Stream; charset=utf-8"));
        assert!(!is_event_stream("text/plain"));
        assert!(!is_event_stream(""));
    }
}
