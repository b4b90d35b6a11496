//! Ground truth for the emulation: the same sweep points, run in a real headless Chromium.
//!
//! `loadgen` emulates a browser's connection behaviour (six HTTP/1.1 connections per origin, one
//! multiplexed HTTP/2 connection). This crate runs the real thing so the two can be compared: it
//! launches Chromium ([`chromium`]), drives it over the DevTools protocol ([`cdp`]), loads a
//! same-origin page from the embedded server and runs a small script there that opens the
//! EventSources and sends the POSTs ([`harness`]), reads which connection and protocol carried
//! each request from Chromium's Network events ([`network`]), and sums it all into a
//! [`PointOutcome`] with the emulation's metric definitions ([`point`]).
//!
//! Data flows one way: [`PointSpec`] + `sse_server::ServerConfig` -> [`run_point`] ->
//! [`PointOutcome`]. The browser is found by [`find_chromium`] and never downloaded; TLS arms
//! trust the server's key alone ([`spki`]).

pub mod cdp;
pub mod chromium;
pub mod error;
pub mod harness;
mod locate;
pub mod network;
pub mod point;
pub mod spki;

pub use error::{BrowserError, CdpError};
pub use locate::{find_chromium, CHROMIUM_ENV};
pub use point::{
    browser_supports, expected_protocol, run_point, Connections, PointOutcome, PointSpec,
    ServerCounts, PAGE_PATH,
};
