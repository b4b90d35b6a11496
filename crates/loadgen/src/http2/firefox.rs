//! What Firefox's HTTP/2 client announces and assumes, as measured on this project's machine.
//!
//! Source: `scripts/firefox-h2-capture/` (the capture server of `chromium-h2-capture`, driving
//! headless Firefox 153.8.0esr over WebDriver BiDi; the evidence is in its `FINDINGS.md`), and
//! Gecko's `netwerk/protocol/http/Http2Session.cpp` (`SendHello`, `RecvSettings`) with the prefs
//! `network.http.http2.default-concurrent` (100), `network.http.http2.pull-allowance`
//! (12582912), `network.http.http2.push-allowance` (131072), read back in the running browser.

/// `SETTINGS_HEADER_TABLE_SIZE` Firefox sends: 64 KiB (captured, as Chromium).
pub(crate) const HEADER_TABLE_SIZE: u32 = 65_536;
/// Each stream's receive window in effect: Firefox announces 131,072 in SETTINGS and adds
/// 12,451,840 with a WINDOW_UPDATE right after each request's HEADERS, 12 MiB in all (captured).
/// The emulation announces the 12 MiB at once: a server may send the same bytes one round trip
/// sooner, nothing else differs.
pub(crate) const STREAM_WINDOW: u32 = 12 * 1024 * 1024;
/// The connection's receive window: the first WINDOW_UPDATE on stream 0 adds 12,517,377 to the
/// protocol's 65,535, making 12 MiB (captured; `network.http.http2.pull-allowance`).
pub(crate) const CONNECTION_WINDOW: u32 = 12 * 1024 * 1024;
/// Firefox sends `SETTINGS_ENABLE_PUSH = 0` (captured).
pub(crate) const ENABLE_PUSH: bool = false;

#[cfg(test)]
mod tests {
    use super::*;

    /// The values in the capture (FINDINGS.md, Q1): 131,072 + 12,451,840 per stream, 65,535 +
    /// 12,517,377 on the connection.
    #[test]
    fn windows_are_the_captured_ones() {
        assert_eq!(STREAM_WINDOW, 131_072 + 12_451_840);
        assert_eq!(CONNECTION_WINDOW, 65_535 + 12_517_377);
        assert_eq!(HEADER_TABLE_SIZE, 65_536);
    }
}
