//! ssebench's test server: Server-Sent Events and a chat endpoint over HTTP/1.1 and HTTP/2,
//! cleartext and TLS, HTTP/3 over QUIC, and WebSockets, each listener pinned to exactly one
//! [`Protocol`].
//!
//! The load generator and the bench CLI embed it in-process with [`start`] (or on its own
//! runtime, [`DedicatedServer`]); the `server` binary is a thin command line around the same call.
//! The modules, from the top down (no module imports one above it):
//!
//! - `server`: start and shutdown; `dedicated`: a server on its own runtime and threads;
//! - `listen/`: from a socket to hyper: the accept loop and its refusals, admission under the
//!   connection limit and the shares of one client address (`reclaim`), TLS and ALPN (`tls`), the
//!   HTTP/2 preface on cleartext sockets (`sniff`), the accepted socket and its write stalls
//!   (`socket`), hyper per protocol (`connection`), each HTTP/2 stream under its own watchdog
//!   (`streams`); HTTP/3 on its UDP socket with quinn and h3 (`quic`), into the same routes;
//! - `routes/`: the routes, the same on every listener: `GET /events` (`events/`, its output cut
//!   into bounded frames), `POST /messages` (`messages`, `body`: request bodies, hyper's or
//!   HTTP/3's, under limits), `POST /v1/chat/completions` and `POST /v1/messages` (`answers/`:
//!   streamed answers, OpenAI's chunks or Anthropic's typed events, paced by seeded draws),
//!   `GET /ws` (`ws/`: the handshake and the session), strict query strings (`query`), responses;
//! - `app`: what every request is handled with (the server's shared state and its connection's);
//!   `activity`: what a connection is doing, which its watchdogs and the connection limit read;
//! - `hub/`: channels and their table (shares per client address, displacement, eviction of idle
//!   channels), the replay ring and replays read from it as they are sent, the slow-subscriber
//!   policy and what a connection's queues hold, the memory budget;
//! - `peer`: who a client is, for its shares;
//! - [`config`]: what a server starts with, its defaults and ranges; [`faults`]: the faults it
//!   injects on a schedule; [`stats`]: the counters behind `GET /stats`; [`logging`]:
//!   rate-limited warnings; [`error`]: why starting failed.
//!
//! # Under attack
//!
//! Every phase of a connection has a timeout, each counted in `/stats` under its own name, the
//! connection limit reclaims the slots of connections that make no progress (and of client
//! addresses over their share) before it refuses anyone, a stalled HTTP/2 stream is reset on its
//! own, one client address cannot take every channel, a replay is bounded and read as it is sent,
//! and the memory the server keeps is bounded as [`ServerConfig`] states.
//! scripts/server-abuse.sh runs the attacks; its figures are in crates/sse-server/FINDINGS.md.
pub mod config;
pub mod error;
pub mod faults;
pub mod logging;
pub mod stats;

mod activity;
mod app;
mod dedicated;
mod hub;
mod if_set;
mod listen;
mod peer;
mod routes;
mod server;
mod woken;

pub use config::SHUTDOWN_GRACE;
pub use config::{AnswerDefaults, EventDefaults, Http2Settings, Pace, ServerConfig, TlsSource};
pub use dedicated::{DedicatedServer, ThreadStart};
pub use error::ServerError;
pub use faults::{AnswerStall, CloseMode, CloseStreams, FaultConfig, Stall};
pub use server::{start, RunningServer};
pub use stats::{ListenerStats, Stats};
/// The protocol arms: each listener speaks exactly one and refuses the others.
pub use vocab::Protocol;
