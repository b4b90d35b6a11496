//! Browser-faithful load generation for Server-Sent Events.
//!
//! A sweep point runs N virtual clients (`client`). Each is one browser profile with its own pool
//! for the origin (`origin`): on HTTP/1.1 at most six connections (`http1`), on HTTP/2 one
//! connection whose streams the server's SETTINGS cap (`http2`), on HTTP/3 one QUIC connection
//! whose streams the server's MAX_STREAMS caps (`http3`), requests waiting for a slot in the
//! browser's queue (`queue`). Each client loads its page, opens its EventSources (`sse`) and
//! POSTs on an open-loop schedule (`post`), and asks streamed answers through the same pool
//! (`answer`: tabs, or open loop); on the WebSocket arms (`ws`, `wss`) it opens
//! WebSockets instead, under the browser's rules for them, and sends its chat messages on its
//! first socket (`websocket`). Every sample lands in shared HDR histograms ([`metrics`]); the loss
//! proof checks that every message reached every stream (`delivery`).
//!
//! The layers, from the bottom: the settings and words ([`defaults`], [`error`], [`target`],
//! [`metrics`], [`health`], [`series`], `delivery`); one connection (`connect`: TCP, TLS and the
//! arm's ALPN) and the point's shared state (`context`); the wait for a slot (`queue`); the
//! protocols (`http1`, `http2`, `http3`, `websocket`); the origin that hides them from each other
//! (`origin`); a client and what it runs (`client`, `sse`, `post`, `answer`); the point (`run`).
//!
//! Data flows one way: [`PointConfig`] -> [`run_point`] -> [`PointOutcome`].

mod answer;
mod client;
mod connect;
mod context;
pub mod defaults;
mod delivery;
pub mod error;
pub mod health;
mod http1;
mod http2;
mod http3;
pub mod metrics;
mod origin;
mod post;
mod queue;
mod run;
pub mod series;
mod sse;
pub mod target;
mod websocket;

pub use answer::{looks_buffered, probe_answers, BUFFERED_SHARE};
pub use delivery::{DeliveryTally, MAX_PAIRS};
pub use error::{Fatal, FatalKind, LoadError};
pub use http2::{BROWSER_STREAM_CAP, INITIAL_STREAMS as BROWSER_INITIAL_STREAMS};
pub use http3::stopped_early as h3_stopped_early;
pub use metrics::{LatencySummary, Metrics, QuicPackets};
pub use origin::probe;
pub use queue::Priority;
pub use run::{run_point, AnswersAtEnd, PointConfig, PointOutcome, Shard};
/// The event-stream parser's caps ([`PointConfig::parser_limits`]).
pub use sse_wire::Limits as ParserLimits;
pub use target::{Reach, Target, Trust};
pub use vocab::{
    error_chain, AnswerFraming, AnswerPlan, AnswerRequest, BrowserProfile, Counter, ErrorClass,
    Latency, Paths, PostPlan, Protocol, StreamKind, Workload,
};
