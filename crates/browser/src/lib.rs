//! Ground truth for the emulation: the same sweep points, run in a real headless browser,
//! Chromium or Firefox.
//!
//! `loadgen` emulates a browser's connection behaviour (six HTTP/1.1 connections per origin, one
//! multiplexed HTTP/2 connection). This crate runs the real thing so the two can be compared: it
//! launches the browser ([`chromium`], [`firefox`]; each in its own process group with a fresh
//! profile, [`process`]), drives it over its remote protocol ([`remote`]: the Chrome DevTools
//! Protocol for Chromium, [`cdp`]; WebDriver BiDi for Firefox, [`bidi`]), loads a same-origin page
//! from the embedded server and runs a small script there that opens the EventSources and sends
//! the POSTs ([`harness`]), reads the protocol and the connections of each request from the
//! browser's network events ([`network`]), and sums it all into a [`PointOutcome`] with the
//! emulation's metric definitions ([`point`]), the same type for both browsers.
//!
//! Data flows one way: [`BrowserKind`] + [`PointSpec`] + `sse_server::ServerConfig` ->
//! [`run_point`] -> [`PointOutcome`]. A browser is found by [`find_browser`] and never
//! downloaded; TLS arms trust the server's certificate alone ([`spki`] for Chromium, a
//! certificate override for Firefox); Firefox is kept off every host but the server
//! ([`firefox_prefs`]).

pub mod bidi;
pub mod cdp;
pub mod chromium;
pub mod error;
pub mod firefox;
pub mod firefox_prefs;
pub mod harness;
pub mod kind;
mod locate;
pub mod network;
pub mod point;
pub mod process;
pub mod remote;
pub mod spki;

pub use error::{BrowserError, RemoteError};
pub use kind::{BrowserKind, UnknownBrowser, CHROMIUM_ENV, FIREFOX_ENV};
pub use locate::{find_browser, find_chromium};
pub use network::Connections;
pub use point::{
    browser_supports, expected_protocol, run_point, PointOutcome, PointSpec, ServerCounts,
    PAGE_PATH,
};
