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
/// Chromium's assumption before the server's SETTINGS arrive, kept when they carry no
/// `SETTINGS_MAX_CONCURRENT_STREAMS` (`kInitialMaxConcurrentStreams`; captured with 150
/// EventSources against SETTINGS without the limit: 100 open).
pub const BROWSER_INITIAL_STREAMS: usize = 100;

/// The streams Chromium opens at once on a connection whose h2 state allows `h2_limit`: h2 keeps
/// its initial value (100) until the server's first SETTINGS, then reads an absent
/// `SETTINGS_MAX_CONCURRENT_STREAMS` as unlimited (`usize::MAX`, RFC 9113), where Chromium keeps
/// its 100; any value the server sends is followed, capped at 256.
pub(crate) fn stream_limit(h2_limit: usize) -> usize {
    if h2_limit == usize::MAX {
        BROWSER_INITIAL_STREAMS
    } else {
        h2_limit.min(BROWSER_STREAM_CAP)
    }
}

/// How often a stream refused unprocessed (REFUSED_STREAM, or above a GOAWAY's last stream id) is
/// sent again before the refusal counts as an error. Chromium retries such streams
/// transparently; the bound keeps a server that refuses everything from looping forever.
pub(crate) const MAX_UNPROCESSED_RETRIES: u32 = 3;

/// h2's budget for small DATA frames buffered before the application reads them (h2 0.4.20
/// answers an exhausted budget with GOAWAY ENHANCE_YOUR_CALM "too_many_data_frames"; Chromium has
/// no such limit). Each buffered frame of `n` < 256 bytes spends `256 - n`. Flow control bounds
/// what a server may have in flight to [`CONNECTION_WINDOW`] bytes, so at most that many frames of
/// one byte: this budget covers them all, and only a server that breaks flow control can exhaust
/// it. (h2's default, half the connection window, fires at about 30,000 buffered SSE events.)
pub(crate) const DATA_FRAME_BUDGET: usize = CONNECTION_WINDOW as usize * 255;

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

    /// The budget covers the worst a server within flow control can buffer: a connection window
    /// of one-byte DATA frames, each spending 256 - 1.
    #[test]
    fn the_data_frame_budget_covers_a_full_window_of_one_byte_frames() {
        let frames = CONNECTION_WINDOW as usize;
        assert!(DATA_FRAME_BUDGET >= frames * (256 - 1));
    }

    #[test]
    fn stream_limits_as_chromium_keeps_them() {
        assert_eq!(stream_limit(usize::MAX), 100, "SETTINGS without a limit");
        assert_eq!(stream_limit(3), 3);
        assert_eq!(stream_limit(256), 256);
        assert_eq!(stream_limit(1000), 256);
        assert_eq!(stream_limit(u32::MAX as usize), 256);
    }
}
