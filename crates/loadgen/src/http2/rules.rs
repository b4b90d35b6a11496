//! One HTTP/2 client's rules, by [`BrowserProfile`]: the SETTINGS and windows it announces, how
//! many streams it opens at once on a connection, and how often it sends a refused stream again.
//! Each value is the browser's own, captured on this project's machine
//! (`scripts/chromium-h2-capture/FINDINGS.md`, `scripts/firefox-h2-capture/FINDINGS.md`; the
//! rules in `docs/browsers.md`, "HTTP/2 streams" and "HTTP/2 SETTINGS and windows").

use vocab::BrowserProfile;

/// Streams assumed before the server's SETTINGS arrive, kept when they carry no
/// `SETTINGS_MAX_CONCURRENT_STREAMS`: 100 in both browsers (Chromium's
/// `kInitialMaxConcurrentStreams`, Firefox's `network.http.http2.default-concurrent`; Q3 and Q4 of
/// both FINDINGS).
pub const INITIAL_STREAMS: usize = 100;

/// Chromium's cap on concurrent streams per connection, whatever the server allows
/// (`kMaxConcurrentStreamLimit`; `scripts/chromium-h2-capture/FINDINGS.md`, Q3).
pub const BROWSER_STREAM_CAP: usize = 256;

/// How often a stream refused unprocessed (REFUSED_STREAM, or above a GOAWAY's last stream id) is
/// sent again before the refusal counts as an error. Chromium retries such streams transparently
/// (`docs/browsers.md`, "GOAWAY and refused streams"); the bound keeps a server that refuses
/// everything from looping forever.
pub(crate) const MAX_UNPROCESSED_RETRIES: u32 = 3;

/// What the client of `profile` announces and how it counts its stream slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct H2Rules {
    pub header_table_size: u32,
    pub enable_push: bool,
    /// `SETTINGS_INITIAL_WINDOW_SIZE`: each stream's receive window.
    pub stream_window: u32,
    /// The connection's receive window (the protocol's 65,535 plus the first WINDOW_UPDATE).
    pub connection_window: u32,
    /// `SETTINGS_MAX_HEADER_LIST_SIZE`, when the browser sends one (Firefox does not).
    pub max_header_list_size: Option<u32>,
    /// The most streams open at once whatever the server allows (Chromium 256; Firefox none).
    pub stream_cap: Option<usize>,
}

/// Chromium's SETTINGS and first WINDOW_UPDATE (`scripts/chromium-h2-capture/FINDINGS.md`, Q1).
const CHROMIUM: H2Rules = H2Rules {
    header_table_size: 64 * 1024,
    enable_push: false,
    stream_window: 6 * 1024 * 1024,
    connection_window: 15 * 1024 * 1024,
    max_header_list_size: Some(256 * 1024),
    stream_cap: Some(BROWSER_STREAM_CAP),
};

/// Firefox's (`scripts/firefox-h2-capture/FINDINGS.md`, Q1). It announces a 131,072-byte stream
/// window and adds 12,451,840 after each request's HEADERS; the emulation announces the 12 MiB at
/// once (a server may send the same bytes one round trip sooner, nothing else differs). It takes
/// the server's stream limit as it is (`Http2Session::RecvSettings`; Q3).
const FIREFOX: H2Rules = H2Rules {
    header_table_size: 64 * 1024,
    enable_push: false,
    stream_window: 12 * 1024 * 1024,
    connection_window: 12 * 1024 * 1024,
    max_header_list_size: None,
    stream_cap: None,
};

impl H2Rules {
    pub(crate) fn of(profile: BrowserProfile) -> H2Rules {
        match profile {
            BrowserProfile::Chromium => CHROMIUM,
            BrowserProfile::Firefox => FIREFOX,
        }
    }

    /// The streams opened at once on a connection whose h2 state allows `h2_limit`: h2 keeps its
    /// initial value (100) until the server's first SETTINGS, then reads an absent
    /// `SETTINGS_MAX_CONCURRENT_STREAMS` as unlimited (`usize::MAX`, RFC 9113), where both
    /// browsers keep 100; a value the server sends is followed, up to the profile's cap.
    pub(crate) fn stream_limit(&self, h2_limit: usize) -> usize {
        if h2_limit == usize::MAX {
            INITIAL_STREAMS
        } else {
            self.stream_cap.map_or(h2_limit, |cap| h2_limit.min(cap))
        }
    }

    /// h2's budget for small DATA frames buffered before the application reads them (h2 0.4.20
    /// answers an exhausted budget with GOAWAY ENHANCE_YOUR_CALM "too_many_data_frames"; neither
    /// browser has such a limit). Each buffered frame of `n` < 256 bytes spends `256 - n`. Flow
    /// control bounds what a server may have in flight to the connection window, so at most that
    /// many frames of one byte: this budget covers them all, and only a server that breaks flow
    /// control can exhaust it. (h2's default, half the connection window, fires at about 30,000
    /// buffered SSE events.)
    pub(crate) fn data_frame_budget(&self) -> usize {
        self.connection_window as usize * 255
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values in the captures (Q1 of both FINDINGS): each SETTINGS frame, and the first
    /// WINDOW_UPDATE on stream 0 added to the protocol's 65,535; Firefox's stream window is the
    /// 131,072 it announces plus the 12,451,840 it adds after each request's HEADERS.
    #[test]
    fn settings_and_windows_are_the_captured_ones() {
        let chromium = H2Rules::of(BrowserProfile::Chromium);
        assert_eq!(chromium.header_table_size, 65_536);
        assert_eq!(chromium.stream_window, 6_291_456);
        assert_eq!(chromium.connection_window, 15_663_105 + 65_535);
        assert_eq!(chromium.max_header_list_size, Some(262_144));
        let firefox = H2Rules::of(BrowserProfile::Firefox);
        assert_eq!(firefox.header_table_size, 65_536);
        assert_eq!(firefox.stream_window, 131_072 + 12_451_840);
        assert_eq!(firefox.connection_window, 65_535 + 12_517_377);
        for rules in [chromium, firefox] {
            assert!(!rules.enable_push);
        }
    }

    #[test]
    fn stream_limits_as_each_browser_keeps_them() {
        let chromium = H2Rules::of(BrowserProfile::Chromium);
        let firefox = H2Rules::of(BrowserProfile::Firefox);
        for rules in [chromium, firefox] {
            assert_eq!(
                rules.stream_limit(usize::MAX),
                100,
                "SETTINGS without a limit"
            );
            assert_eq!(rules.stream_limit(3), 3);
            assert_eq!(rules.stream_limit(256), 256);
        }
        assert_eq!(chromium.stream_limit(1000), 256);
        assert_eq!(chromium.stream_limit(u32::MAX as usize), 256);
        assert_eq!(firefox.stream_limit(1000), 1000);
    }

    /// The budget covers the worst a server within flow control can buffer: a connection window
    /// of one-byte DATA frames, each spending 256 - 1.
    #[test]
    fn the_data_frame_budget_covers_a_full_window_of_one_byte_frames() {
        for profile in BrowserProfile::ALL {
            let rules = H2Rules::of(profile);
            assert!(rules.data_frame_budget() >= rules.connection_window as usize * (256 - 1));
        }
    }
}
