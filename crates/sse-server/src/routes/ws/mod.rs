//! `GET /ws?channel=NAME&interval_ms=&size=&count=&heartbeat_ms=`: the WebSocket arms' endpoint,
//! on the WebSocket listeners only (elsewhere 404, so a socket is always counted under its arm).
//!
//! The handshake is RFC 6455 §4.2 over HTTP/1.1: `Upgrade: websocket`, a `Connection` header
//! naming `upgrade`, `Sec-WebSocket-Version: 13` (otherwise 426 naming 13) and a
//! `Sec-WebSocket-Key` of 16 bytes in base64; anything else is 400. The query takes the keys of
//! `GET /events` with the same ranges (`retry_ms` has no effect). The subscriber is registered
//! *before* the `101` goes out, so every message published after the client saw its socket open
//! reaches it; the `stream_error_every_nth` fault answers 503 before that.
//!
//! The session (`session`) is parked in the connection's [`UpgradeSlot`](crate::app::UpgradeSlot)
//! and run on the connection's own task once hyper has handed the socket over, so the listener's
//! watchdogs (faults, write stalls, the connection limit, forced shutdown) still cover it.

mod session;

use std::sync::Arc;

use http::header::{
    HeaderValue, CONNECTION, SEC_WEBSOCKET_ACCEPT, SEC_WEBSOCKET_KEY, SEC_WEBSOCKET_VERSION,
    UPGRADE,
};
use http::{HeaderMap, Request, Response, StatusCode, Version};
use http_body_util::BodyExt;

use crate::app::App;
use crate::app::Conn;
use crate::routes::body::RequestBody;
use crate::routes::query;
use crate::routes::response::{refused, text, Body};
use crate::stats::incr;
use session::Session;

/// Answers `GET /ws`: `101` and a parked session, or why not.
pub(crate) fn upgrade(
    app: &Arc<App>,
    conn: &Conn,
    mut req: Request<RequestBody>,
) -> Response<Body> {
    let Some(slot) = &conn.upgrade else {
        return text(
            StatusCode::NOT_FOUND,
            "GET /ws is served on the ws and wss listeners only\n",
        );
    };
    let key = match handshake_key(req.version(), req.headers()) {
        Ok(key) => key,
        Err(HandshakeError::Version) => {
            let mut resp = text(
                StatusCode::UPGRADE_REQUIRED,
                "this server speaks WebSocket version 13\n",
            );
            resp.headers_mut()
                .insert(SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
            return resp;
        }
        Err(HandshakeError::Bad(why)) => {
            return text(StatusCode::BAD_REQUEST, format!("{why}\n"));
        }
    };
    if app.faults.stream_fails() {
        incr(&conn.counters.faults_errors);
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "fault injected: every Nth GET /ws fails\n",
        );
    }
    let query = match query::events_query(req.uri().query(), &app.events) {
        Ok(q) => q,
        Err(e) => return text(StatusCode::BAD_REQUEST, format!("{e}\n")),
    };
    let session = match Session::subscribe(app, conn, query) {
        Ok(session) => session,
        Err(refusal) => return refused(&conn.counters, refusal),
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    slot.park(Box::pin(session.run(on_upgrade)));
    let accept = tokio_tungstenite::tungstenite::handshake::derive_accept_key(key.as_bytes());
    let mut resp = Response::new(
        http_body_util::Empty::new()
            .map_err(|never: std::convert::Infallible| match never {})
            .boxed_unsync(),
    );
    *resp.status_mut() = StatusCode::SWITCHING_PROTOCOLS;
    let headers = resp.headers_mut();
    headers.insert(UPGRADE, HeaderValue::from_static("websocket"));
    headers.insert(CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(accept) = HeaderValue::from_str(&accept) {
        headers.insert(SEC_WEBSOCKET_ACCEPT, accept);
    }
    resp
}

#[derive(Debug, PartialEq, Eq)]
enum HandshakeError {
    /// `Sec-WebSocket-Version` other than 13: 426.
    Version,
    /// Not a WebSocket handshake: 400, saying what is missing.
    Bad(&'static str),
}

/// Checks the handshake's headers (RFC 6455 §4.2.1) and returns the key.
fn handshake_key(version: Version, headers: &HeaderMap) -> Result<String, HandshakeError> {
    if version != Version::HTTP_11 {
        return Err(HandshakeError::Bad("a WebSocket handshake needs HTTP/1.1"));
    }
    let has_token = |name, token: &str| {
        headers.get_all(name).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
        })
    };
    if !has_token(UPGRADE, "websocket") {
        return Err(HandshakeError::Bad("missing Upgrade: websocket"));
    }
    if !has_token(CONNECTION, "upgrade") {
        return Err(HandshakeError::Bad("missing Connection: upgrade"));
    }
    if headers
        .get(SEC_WEBSOCKET_VERSION)
        .map(HeaderValue::as_bytes)
        != Some(b"13")
    {
        return Err(HandshakeError::Version);
    }
    let key = headers
        .get(SEC_WEBSOCKET_KEY)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .ok_or(HandshakeError::Bad("missing Sec-WebSocket-Key"))?;
    // 16 bytes in base64: 22 characters and `==`.
    let well_formed = key.len() == 24
        && key.ends_with("==")
        && key[..22]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    if !well_formed {
        return Err(HandshakeError::Bad(
            "Sec-WebSocket-Key is not 16 bytes in base64",
        ));
    }
    Ok(key.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|&(k, v)| {
                (
                    http::HeaderName::from_static(k),
                    HeaderValue::from_static(v),
                )
            })
            .collect()
    }

    const GOOD: [(&str, &str); 4] = [
        ("upgrade", "websocket"),
        ("connection", "keep-alive, Upgrade"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ];

    #[test]
    fn a_browser_handshake_is_accepted_and_others_say_why_not() {
        let h11 = Version::HTTP_11;
        assert_eq!(
            handshake_key(h11, &headers(&GOOD)).as_deref(),
            Ok("dGhlIHNhbXBsZSBub25jZQ==")
        );
        // RFC 6455 §1.3's example key and answer.
        assert_eq!(
            tokio_tungstenite::tungstenite::handshake::derive_accept_key(
                b"dGhlIHNhbXBsZSBub25jZQ=="
            ),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        for (i, expected) in [
            HandshakeError::Bad("missing Upgrade: websocket"),
            HandshakeError::Bad("missing Connection: upgrade"),
            HandshakeError::Version,
            HandshakeError::Bad("missing Sec-WebSocket-Key"),
        ]
        .into_iter()
        .enumerate()
        {
            let mut partial = GOOD.to_vec();
            partial.remove(i);
            assert_eq!(handshake_key(h11, &headers(&partial)), Err(expected));
        }
        let mut v8 = GOOD.to_vec();
        v8[2] = ("sec-websocket-version", "8");
        assert_eq!(
            handshake_key(h11, &headers(&v8)),
            Err(HandshakeError::Version)
        );
        let mut short = GOOD.to_vec();
        short[3] = ("sec-websocket-key", "c2hvcnQ=");
        assert!(handshake_key(h11, &headers(&short)).is_err());
        assert!(handshake_key(Version::HTTP_2, &headers(&GOOD)).is_err());
    }
}
