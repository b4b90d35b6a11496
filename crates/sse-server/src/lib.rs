//! ssebench's test server: Server-Sent Events and a chat endpoint over HTTP/1.1 and HTTP/2,
//! cleartext and TLS, each listener pinned to exactly one protocol.
//!
//! The load generator and the bench CLI embed it in-process with [`start`]; the `server` binary
//! is a thin command line around the same call. Modules, one concept each:
//!
//! - [`protocol`]: the four listener kinds; [`config`]: what a server starts with, and the
//!   memory it may keep; [`bounds`]: the ranges a query string may ask for;
//!   [`faults`]: the faults it can inject on a schedule; [`error`]: why starting failed;
//!   [`stats`]: the counters behind `GET /stats`;
//! - `server`: start and shutdown; `listener`: accept, TLS and ALPN, refusals;
//!   `sniff`: the HTTP/2 preface on cleartext sockets; `socket`: the accepted socket, which a
//!   fault can reset; `connection`: hyper per protocol;
//!   `tls`: the certificate and per-listener rustls configurations;
//! - `routes`: the HTTP routes; `events`: the event stream; `messages`: `POST /messages`;
//!   `query`: strict query strings; `hub`: channels, replay ring, slow-subscriber policy.

pub mod bounds;
pub mod config;
pub mod error;
pub mod faults;
pub mod logging;
pub mod protocol;
pub mod stats;

mod activity;
mod app;
mod body;
mod budget;
mod connection;
mod events;
mod frames;
mod hub;
mod listener;
mod messages;
mod query;
mod reclaim;
mod routes;
mod server;
mod sniff;
mod socket;
mod tls;

pub use config::{EventDefaults, Http2Settings, ServerConfig, TlsSource};
pub use error::ServerError;
pub use faults::{CloseMode, FaultConfig};
pub use protocol::{Protocol, UnknownProtocol};
pub use server::{start, RunningServer, SHUTDOWN_GRACE};
pub use stats::{ListenerStats, Stats};
