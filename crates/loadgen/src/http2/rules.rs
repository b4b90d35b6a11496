//! One HTTP/2 client's rules, by [`BrowserProfile`]: the SETTINGS and windows it announces, and
//! how many streams it opens at once on a connection. The values are each browser's, as captured
//! ([`chromium`](super::chromium), [`firefox`](super::firefox)); what both share (100 streams
//! before the server's SETTINGS, and when SETTINGS carry no limit) is [`INITIAL_STREAMS`].

use vocab::BrowserProfile;

use super::{chromium, firefox};

/// Streams assumed before the server's SETTINGS arrive, kept when they carry no
/// `SETTINGS_MAX_CONCURRENT_STREAMS`: 100 in both browsers (Chromium's
/// `kInitialMaxConcurrentStreams`; Firefox's `network.http.http2.default-concurrent`; both
/// captured with 150 EventSources against SETTINGS without the limit: 100 open).
pub const INITIAL_STREAMS: usize = 100;

/// What the client of `profile` announces and how it counts its stream slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct H2Rules {
    pub header_table_size: u32,
    pub enable_push: bool,
    pub stream_window: u32,
    pub connection_window: u32,
    /// `SETTINGS_MAX_HEADER_LIST_SIZE`, when the browser sends one (Firefox does not).
    pub max_header_list_size: Option<u32>,
    /// The most streams open at once whatever the server allows (Chromium 256; Firefox none).
    pub stream_cap: Option<usize>,
}

impl H2Rules {
    pub(crate) fn of(profile: BrowserProfile) -> H2Rules {
        match profile {
            BrowserProfile::Chromium => H2Rules {
                header_table_size: chromium::HEADER_TABLE_SIZE,
                enable_push: chromium::ENABLE_PUSH,
                stream_window: chromium::STREAM_WINDOW,
                connection_window: chromium::CONNECTION_WINDOW,
                max_header_list_size: Some(chromium::MAX_HEADER_LIST_SIZE),
                stream_cap: Some(chromium::BROWSER_STREAM_CAP),
            },
            // Firefox takes the server's limit as it is (`Http2Session::RecvSettings`:
            // `mMaxConcurrent = value`; captured: 300 streams open against a limit of 1000).
            BrowserProfile::Firefox => H2Rules {
                header_table_size: firefox::HEADER_TABLE_SIZE,
                enable_push: firefox::ENABLE_PUSH,
                stream_window: firefox::STREAM_WINDOW,
                connection_window: firefox::CONNECTION_WINDOW,
                max_header_list_size: None,
                stream_cap: None,
            },
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
