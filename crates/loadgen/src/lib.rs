//! Browser-faithful load generation for Server-Sent Events.
//!
//! A sweep point runs N virtual clients. Each is one browser profile with its own pool for the
//! origin: on HTTP/1.1 at most six connections, requests queueing FIFO for a slot as in Chromium
//! ([`pool_h1`](crate::pool_h1)); on HTTP/2 one connection whose streams are capped by the server's
//! `SETTINGS_MAX_CONCURRENT_STREAMS` ([`http2`](crate::http2)). Each client opens its
//! EventSources ([`sse`](crate::sse)) and POSTs on an open-loop schedule ([`post`](crate::post));
//! every sample lands in shared HDR histograms ([`metrics`]). On the WebSocket arms (`ws`, `wss`)
//! each client opens WebSockets instead ([`websocket`](crate::websocket)), under the browser's
//! rules for them ([`ws_gate`]), and sends its chat messages on its first socket on the same
//! schedule ([`ws_outbox`](crate::ws_outbox)).
//!
//! Data flows one way: [`PointConfig`] -> [`run_point`] -> [`PointOutcome`].

mod client;
mod connect;
mod context;
pub mod defaults;
mod delivery;
pub mod error;
mod fatal;
pub mod health;
mod http2;
pub mod metrics;
mod origin;
mod page;
mod pool_h1;
mod post;
mod queue;
mod queue_timer;
mod run;
pub mod series;
mod sse;
pub mod target;
mod websocket;
pub mod ws_gate;
mod ws_outbox;

pub use connect::probe;
pub use delivery::{DeliveryTally, MAX_PAIRS};
pub use error::LoadError;
pub use fatal::{Fatal, FatalKind};
pub use http2::chromium::BROWSER_STREAM_CAP;
pub use http2::rules::INITIAL_STREAMS as BROWSER_INITIAL_STREAMS;
pub use metrics::{LatencySummary, Metrics};
pub use queue::Priority;
pub use run::{run_point, PointConfig, PointOutcome, Shard};
/// The event-stream parser's caps ([`PointConfig::parser_limits`]).
pub use sse_wire::Limits as ParserLimits;
pub use target::{Reach, Target, Trust};
pub use vocab::{
    error_chain, BrowserProfile, Counter, ErrorClass, Latency, Paths, PostPlan, Protocol, Workload,
};
