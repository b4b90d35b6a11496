//! Ground truth for the emulation: the same sweep points, run in a real headless browser,
//! Chromium or Firefox.
//!
//! `loadgen` emulates a browser's connection behaviour; this crate runs the real thing so the two
//! can be compared. [`point`] measures a point the same way in every browser, through the one
//! [`Driver`] seam ([`driver`]); each browser is one module implementing it ([`chromium`]: the
//! Chrome DevTools Protocol; [`firefox`]: WebDriver BiDi), which launches it with a fresh profile
//! and no other connection than the server's, opens its pages and reads its network events. The
//! rest is shared: the process and its group ([`process`]), the remote protocol client
//! ([`remote`]), the page script ([`harness`]), the connections counted from network events
//! ([`network`]) and the [`PointOutcome`] ([`outcome`]).
//!
//! Data flows one way: a [`vocab::BrowserProfile`] + an arm + a [`vocab::Workload`] +
//! `sse_server::ServerConfig` -> [`run_point`] -> [`PointOutcome`]; or, with a server the caller
//! started and a [`Launcher`] (e.g. the browser in an emulated network's client namespace),
//! [`run_point_with`]. A browser is found by [`find_browser`] and never downloaded.
//!
//! # Where each number comes from
//!
//! | [`PointOutcome`] field (report metric) | Chromium | Firefox |
//! | --- | --- | --- |
//! | streams requested / opened / open or queued at end, events received | the page (EventSource `open`, `readyState`, events) | the same |
//! | POSTs scheduled / completed / stalled / failed | the page (`fetch`) | the same |
//! | streamed answers: scheduled / completed / failed by class / queued or streaming at end, tokens, stalls; time to first token, token gaps, time per output token, answer time | the page (`fetch` and a `ReadableStream` reader, [`answers`]) | the same |
//! | time to first event, POST round trip | the page's `performance.now()` | the same, at Firefox's coarser timer resolution (docs/browsers.md, "Firefox's differences") |
//! | negotiated protocol (read per response, every response that names one checked; a page with none fails) | CDP `response.protocol` | BiDi `response.protocol` |
//! | connections carrying EventSources/POSTs, any request, page only | CDP `response.connectionId` (exact) | BiDi request timings (inferred, see [`network`]; the tests require it to equal the server's count) |
//! | connections carrying WebSockets | one per handshake, CDP `Network.webSocketHandshakeResponseReceived` (no id; see [`network`]) | BiDi request timings of the handshakes (`101`), as above |
//! | requests by kind, network failures | CDP `Network` events | BiDi `network` events, kind from method and path |
//! | server connections accepted / carrying requests / refused, requests | the embedded server's counters | the same |

pub mod answers;
pub mod chromium;
pub mod driver;
pub mod error;
pub mod firefox;
pub mod harness;
pub mod launcher;
mod locate;
pub mod network;
pub mod outcome;
pub mod point;
pub mod process;
pub mod remote;
pub mod spki;

pub use driver::{Driver, Install, ServerUnderTest, Session};
pub use error::{BrowserError, RemoteError};
pub use launcher::Launcher;
pub use locate::{find_browser, install};
pub use network::Connections;
pub use outcome::PointOutcome;
pub use point::{
    browser_supports, run_point, run_point_with, run_points_with, PointSpec, MAX_CLIENTS, PAGE_PATH,
};
