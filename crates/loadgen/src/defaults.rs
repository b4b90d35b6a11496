//! The defaults of a point, in one place: [`PointConfig::new`](crate::PointConfig::new) and the
//! scenario file's keys read these, so a test, the library and the command line start from the
//! same numbers.

use std::time::Duration;

use vocab::{BrowserProfile, Paths, PostPlan, Workload};

/// HTTP/1.1 connections per origin: 6 in Chromium, Firefox and Safari (`docs/browsers.md`, "Six
/// connections per origin").
pub const CONNECTIONS_PER_ORIGIN: usize = 6;
/// EventSource's reconnection time until the server sends `retry:`: 3 s in Blink, 5 s in Gecko
/// (`docs/browsers.md`, "EventSource reconnection").
pub const fn reconnect_delay(profile: BrowserProfile) -> Duration {
    match profile {
        BrowserProfile::Chromium => Duration::from_secs(3),
        BrowserProfile::Firefox => Duration::from_secs(5),
    }
}
/// How long a TCP connect plus TLS handshake may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Streams open and settle before POSTs and steady-state samples start.
pub const WARMUP: Duration = Duration::from_secs(1);
/// The measured time after warm-up.
pub const DURATION: Duration = Duration::from_secs(10);
/// How long tasks get to stop at the end of a point before they are abandoned.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// POSTs that completed this shortly before a stream's coverage ended are not owed to it by the
/// loss proof: their events may still be on the way.
pub const LOSS_GRACE: Duration = Duration::from_millis(500);
/// Bytes of a chat POST's body.
pub const POST_BODY_BYTES: usize = 128;
/// The chat channel a scenario's streams subscribe to and its POSTs publish on.
pub const CHANNEL: &str = "bench";

/// One client with one stream on [`CHANNEL`], no POSTs ([`POST_BODY_BYTES`] each once a rate is
/// set), [`WARMUP`], [`DURATION`], and the default profile's reconnection delay.
pub fn workload() -> Workload {
    Workload {
        clients: 1,
        streams_per_client: 1,
        warmup: WARMUP,
        duration: DURATION,
        posts: PostPlan {
            rate_per_client: 0.0,
            body_bytes: POST_BODY_BYTES,
        },
        paths: Paths::for_channel(CHANNEL),
        reconnect_delay: reconnect_delay(BrowserProfile::default()),
    }
}
