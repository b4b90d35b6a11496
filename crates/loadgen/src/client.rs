//! A virtual client: one browser profile with its own connection pool for the origin, shared by
//! its EventSources and its POSTs (as a browser tab's fetches and EventSources share the six
//! HTTP/1.1 slots). On the WebSocket arms its sockets have rules of their own (`ws_gate.rs`) and
//! its chat messages go out on its first socket (`ws_outbox.rs`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::context::Ctx;
use crate::delivery::{Delivery, TokenTable};
use crate::origin::Origin;
use crate::target::Target;
use crate::ws_gate::WsGate;
use crate::ws_outbox::Outbox;

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

/// Per-point state shared by every client.
#[derive(Debug)]
pub(crate) struct PointShared {
    pub ctx: Arc<Ctx>,
    pub target: Arc<Target>,
    pub events_path: String,
    pub messages_path: String,
    /// Path and query of the WebSockets, on the `ws` and `wss` arms.
    pub websocket_path: String,
    pub reconnect_delay: Duration,
    pub post_body_bytes: usize,
    /// Samples of steady-state latencies (`event_delivery`) count from this instant on.
    pub measure_from: Instant,
    pub tokens: TokenTable,
    /// What each stream saw of the POSTs, for the loss proof.
    pub delivery: Delivery,
    /// Caps on each event stream's lines and events.
    pub parser_limits: sse_wire::Limits,
    /// Where events carry the server's send instant (`event_delivery`).
    pub send_stamp: sse_wire::stamp::SendStamp,
}

impl Client {
    /// `seed` varies the client's throttle delays (`ws_gate.rs`).
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
}
