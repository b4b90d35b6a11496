//! ssebench's test server: Server-Sent Events and a chat endpoint over HTTP/1.1 and HTTP/2,
//! cleartext and TLS, each listener pinned to exactly one protocol.
//!
//! The load generator and the bench CLI embed it in-process with [`start`]; the `server` binary
//! is a thin command line around the same call. Modules, one concept each:
//!
//! - [`protocol`]: the six listener kinds; [`config`]: what a server starts with, and the
//!   memory it may keep; [`bounds`]: the ranges a query string may ask for;
//!   [`faults`]: the faults it can inject on a schedule; [`error`]: why starting failed;
//!   [`stats`]: the counters behind `GET /stats`; [`logging`]: rate-limited warnings;
//! - `server`: start and shutdown; `dedicated`: a server on its own runtime and threads;
//!   `listener`: accept, TLS and ALPN, refusals; `reclaim`: admission under the connection
//!   limit; `sniff`: the HTTP/2 preface on cleartext sockets; `socket`: the accepted socket,
//!   which a fault can reset; `connection`: hyper per protocol; `activity`: what a connection is
//!   doing (idle, flow-control stalls, progress);
//!   `tls`: the certificate and per-listener rustls configurations;
//! - `routes`: the HTTP routes; `events`: the event stream; `frames`: its output in bounded
//!   frames; `messages`: `POST /messages`; `body`: request bodies under limits and timeouts;
//!   `query`: strict query strings; `hub`: channels, replay ring, slow-subscriber policy;
//!   `budget`: the channel limit, the replay budget and idle-channel eviction; `ws_upgrade`:
//!   `GET /ws`, the WebSocket handshake; `ws_session`: one WebSocket's messages both ways.
//!
//! # Under attack
//!
//! Every phase of a connection has a timeout, each counted in `/stats` under its own name: the
//! TLS handshake, first bytes and request head (`timeouts`), a request body that stalls or takes
//! too long (`body_read_timeouts`, `body_total_timeouts`), a client that stops reading
//! (`write_timeouts`) or keeps its HTTP/2 window shut (`window_timeouts`), an idle HTTP/2
//! connection (`idle_timeouts`), a peer that stops answering PINGs (`keepalive_timeouts`). The
//! connection limit reclaims the slots of connections that make no progress
//! (`connections_reclaimed`) before it refuses anyone. The memory the server keeps is bounded as
//! [`ServerConfig`] states. `scripts/server-abuse.sh` runs the attacks and measures the server.
pub mod config;
pub mod error;
pub mod faults;
pub mod logging;
pub mod stats;

mod activity;
mod app;
mod dedicated;
mod hub;
mod listen;
mod routes;
mod server;

pub use config::SHUTDOWN_GRACE;
pub use config::{EventDefaults, Http2Settings, ServerConfig, TlsSource};
pub use dedicated::{DedicatedServer, ThreadStart};
pub use error::ServerError;
pub use faults::{CloseMode, CloseStreams, FaultConfig, Stall};
pub use server::{start, RunningServer};
pub use stats::{ListenerStats, Stats};
/// The listener kinds: the shared protocol arms. Each listener speaks exactly one and refuses the
/// others.
pub use vocab::Protocol;
