//! What Chromium's HTTP/2 client announces and assumes, as measured on this project's machine.
//!
//! Source: `scripts/chromium-h2-capture/` (a capture server that logs every frame headless
//! Chromium 156.0.8078.114 sends on this machine; the evidence is in its `FINDINGS.md`).
//! The same constants are in Chromium's `net/spdy/spdy_session_pool.cc` and
//! `net/http/http_network_session.cc` (`kSpdySessionMaxRecvWindowSize`,
//! `kSpdyStreamMaxRecvWindowSize`, `kInitialMaxConcurrentStreams`, `kMaxConcurrentStreamLimit`).

/// `SETTINGS_HEADER_TABLE_SIZE` Chromium sends: 64 KiB (captured).
pub(crate) const HEADER_TABLE_SIZE: u32 = 65_536;
/// `SETTINGS_INITIAL_WINDOW_SIZE` Chromium sends: each stream's receive window, 6 MiB (captured).
pub(crate) const STREAM_WINDOW: u32 = 6 * 1024 * 1024;
/// The connection's receive window: Chromium's first WINDOW_UPDATE on stream 0 adds 15,663,105 to
/// the protocol's 65,535, making 15 MiB (captured).
pub(crate) const CONNECTION_WINDOW: u32 = 15 * 1024 * 1024;
/// `SETTINGS_MAX_HEADER_LIST_SIZE` Chromium sends: 256 KiB (captured).
pub(crate) const MAX_HEADER_LIST_SIZE: u32 = 256 * 1024;
/// Chromium sends `SETTINGS_ENABLE_PUSH = 0` (captured).
pub(crate) const ENABLE_PUSH: bool = false;

/// Chromium's cap on concurrent streams per HTTP/2 connection, whatever the server allows
/// (`kMaxConcurrentStreamLimit`; a server allowing 1000 got 256 open, captured).
pub const BROWSER_STREAM_CAP: usize = 256;

/// How often a stream refused unprocessed (REFUSED_STREAM, or above a GOAWAY's last stream id) is
/// sent again before the refusal counts as an error. Chromium retries such streams
/// transparently; the bound keeps a server that refuses everything from looping forever.
pub(crate) const MAX_UNPROCESSED_RETRIES: u32 = 3;

#[cfg(test)]
mod tests {
    use super::*;

    /// The values in the capture (FINDINGS.md, Q1): the client SETTINGS frame and the first
    /// WINDOW_UPDATE on stream 0 (15,663,105 added to the protocol's 65,535).
    #[test]
    fn settings_and_windows_are_the_captured_ones() {
        assert_eq!(HEADER_TABLE_SIZE, 65_536);
        assert_eq!(STREAM_WINDOW, 6_291_456);
        assert_eq!(CONNECTION_WINDOW, 15_663_105 + 65_535);
        assert_eq!(MAX_HEADER_LIST_SIZE, 262_144);
    }
}
