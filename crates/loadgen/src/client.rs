//! A virtual client: one browser profile with its own connection pool for the origin, shared by
//! its EventSources and its POSTs (as a browser tab's fetches and EventSources share the six
//! HTTP/1.1 slots), and the page it loads first. On the WebSocket arms its sockets have rules of
//! their own ([`WsGate`]) and its chat messages go out on its first socket ([`Outbox`]).
//!
//! The page: one `GET` of a same-origin document over the client's own pool before its streams
//! and POSTs start, as a browser loads the page whose script creates them (`docs/browsers.md`,
//! "The page loaded first"). Over HTTP/2 the streams then go out under the server's stream limit,
//! read from the SETTINGS the page's connection brought, instead of under the 100 assumed before
//! them; over HTTP/1.1 the first stream reuses the page's connection. Its status is not checked
//! (a 404 is a loaded page too); a page that cannot be fetched (no connection) is counted in its
//! error class, and the streams start anyway.

use std::sync::Arc;

use bytes::Bytes;
use http::Method;

use crate::context::PointShared;
use crate::origin::{Origin, RequestSpec};
use crate::queue::Priority;
use crate::websocket::{Outbox, WsGate};

/// Everything the tasks of one virtual client share.
#[derive(Debug)]
pub(crate) struct Client {
    pub origin: Origin,
    pub shared: Arc<PointShared>,
    /// The browser's rules for this client's WebSockets.
    pub ws_gate: WsGate,
    /// The chat messages of a WebSocket client, sent on its first socket.
    pub ws_outbox: Outbox,
}

impl Client {
    /// `seed` varies the client's throttle delays ([`WsGate`]).
    pub fn new(shared: Arc<PointShared>, max_connections_per_origin: usize, seed: u64) -> Self {
        Client {
            origin: Origin::new(
                shared.target.clone(),
                shared.ctx.clone(),
                max_connections_per_origin,
            ),
            shared,
            ws_gate: WsGate::new(seed),
            ws_outbox: Outbox::default(),
        }
    }

    /// Fetches the page at `path` (path and query) and reads it to the end.
    pub async fn load_page(&self, path: &str) {
        let spec = RequestSpec {
            method: Method::GET,
            path: path.to_owned(),
            headers: Vec::new(),
            body: Bytes::new(),
            // The document is the most urgent request a page makes.
            priority: Priority::High,
        };
        let result = async {
            let response = self.origin.send(&self.shared.target, &spec, |_| {}).await?;
            response.body.finish().await
        }
        .await;
        if let Err(e) = result {
            tracing::debug!("page load failed: {}", vocab::error_chain(&e));
            self.shared.ctx.metrics.error(e.class());
        }
    }
}
