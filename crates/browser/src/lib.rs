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
//! [`run_point`] -> [`PointOutcome`]; or, with a server the caller started and a [`Launcher`]
//! (e.g. both sides of an emulated network, the browser in the client's network namespace),
//! [`run_point_with`]. A browser is found by [`find_browser`] and never
//! downloaded; TLS arms trust the server's certificate alone ([`spki`] for Chromium, a
//! certificate override for Firefox); Firefox is kept off every host but the server
//! ([`firefox_prefs`]).
//!
//! # Where each number comes from
//!
//! | [`PointOutcome`] field (report metric) | Chromium | Firefox |
//! | --- | --- | --- |
//! | streams requested / opened / open or queued at end, events received | the page (EventSource `open`, `readyState`, events) | the same |
//! | POSTs scheduled / completed / stalled / failed | the page (`fetch`) | the same |
//! | time to first event, POST round trip | the page's `performance.now()` | the same, at Firefox's 1 ms timer resolution (`privacy.reduceTimerPrecision`, with jitter) |
//! | negotiated protocol (checked on every response) | CDP `response.protocol` | BiDi `response.protocol` |
//! | connections carrying EventSources/POSTs, any request, page only | CDP `response.connectionId` (exact) | BiDi request timings: a request with a connect phase opened its connection (inferred, see [`network`]; the tests require it to equal the server's count) |
//! | requests by kind, network failures | CDP `Network` events | BiDi `network` events, kind from method and path |
//! | server connections accepted / carrying requests / refused, requests | the embedded server's counters | the same |

pub mod bidi;
pub mod cdp;
pub mod chromium;
pub mod error;
pub mod firefox;
pub mod firefox_prefs;
pub mod harness;
pub mod kind;
pub mod launcher;
mod locate;
pub mod network;
pub mod point;
pub mod process;
pub mod remote;
pub mod spki;

pub use error::{BrowserError, RemoteError};
pub use kind::{BrowserKind, UnknownBrowser, CHROMIUM_ENV, FIREFOX_ENV};
pub use launcher::Launcher;
pub use locate::{find_browser, find_chromium};
pub use network::Connections;
pub use point::{
    browser_supports, expected_protocol, run_point, run_point_with, PointOutcome, PointSpec,
    ServerCounts, PAGE_PATH,
};
