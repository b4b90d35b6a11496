//! One HTTP/3 client's rules, by [`BrowserProfile`]: the QUIC transport parameters and HTTP/3
//! settings it announces, the `priority` it gives a request, and what it does with a stream the
//! server reset before the response. Each value is the browser's own, captured on this project's
//! machine (`scripts/h3-capture/FINDINGS.md`; the rules in `docs/browsers.md`, "HTTP/3 streams").

use std::time::Duration;

use vocab::BrowserProfile;

/// What the client of `profile` announces and how it treats a request reset before its response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct H3Rules {
    /// `initial_max_data`: the connection's receive window.
    pub connection_window: u32,
    /// `initial_max_stream_data_bidi_local`: the receive window of a request's stream (quinn
    /// announces one value for the three stream windows).
    pub stream_window: u32,
    /// `initial_max_streams_bidi` and `_uni`: the streams the server may open.
    pub peer_bidi_streams: u32,
    pub peer_uni_streams: u32,
    /// `max_idle_timeout`.
    pub idle_timeout: Duration,
    /// A PING after this long without traffic while requests are open.
    pub keep_alive: Duration,
    /// `max_udp_payload_size`, when the browser sends one.
    pub max_udp_payload_size: Option<u16>,
    /// The length of the connection IDs the client issues (0: zero-length, no NEW_CONNECTION_ID).
    pub connection_id_len: usize,
    /// HTTP/3 `SETTINGS_MAX_FIELD_SECTION_SIZE`, when the browser sends one.
    pub max_field_section_size: Option<u64>,
    /// The `priority` header (RFC 9218) of an EventSource and a `fetch` POST; the document's is
    /// [`DOCUMENT_PRIORITY`] in both browsers.
    pub request_priority: &'static str,
    /// A stream reset before its response head is sent again on the connection (Chromium), rather
    /// than failed (Firefox).
    pub retry_reset_before_response: bool,
}

/// The document's `priority` header in both browsers (`scripts/h3-capture/FINDINGS.md`, Q2).
pub(crate) const DOCUMENT_PRIORITY: &str = "u=0, i";

/// Chromium's transport parameters (Q1: `kQuicSessionMaxRecvWindowSize`,
/// `kQuicStreamMaxRecvWindowSize`, `kIdleConnectionTimeout`, the zero-length connection ID), its
/// SETTINGS and priorities (Q2), its PING every 15 s with requests open (Q8), and its transparent
/// retry of a stream reset before the response, POSTs included (Q7).
const CHROMIUM: H3Rules = H3Rules {
    connection_window: 15 * 1024 * 1024,
    stream_window: 6 * 1024 * 1024,
    peer_bidi_streams: 100,
    peer_uni_streams: 103,
    idle_timeout: Duration::from_secs(30),
    keep_alive: Duration::from_secs(15),
    max_udp_payload_size: Some(1472),
    connection_id_len: 0,
    max_field_section_size: Some(256 * 1024),
    request_priority: "u=1, i",
    retry_reset_before_response: true,
};

/// Firefox's (`scripts/h3-capture/FINDINGS.md`, Q1, Q2, Q7, Q8): a 24 MiB connection window, a
/// 12 MiB window on the streams it opens (its 1 MiB for the others cannot be told apart in
/// quinn), 3-byte connection IDs, no MAX_FIELD_SECTION_SIZE, `u=4`; a reset before the response
/// fails the request (the POST's `NetworkError`).
const FIREFOX: H3Rules = H3Rules {
    connection_window: 24 * 1024 * 1024,
    stream_window: 12 * 1024 * 1024,
    peer_bidi_streams: 100,
    peer_uni_streams: 100,
    idle_timeout: Duration::from_secs(30),
    keep_alive: Duration::from_secs(15),
    max_udp_payload_size: None,
    connection_id_len: 3,
    max_field_section_size: None,
    request_priority: "u=4",
    retry_reset_before_response: false,
};

impl H3Rules {
    pub(crate) fn of(profile: BrowserProfile) -> H3Rules {
        match profile {
            BrowserProfile::Chromium => CHROMIUM,
            BrowserProfile::Firefox => FIREFOX,
        }
    }

    /// The QUIC transport parameters the rules announce.
    pub(crate) fn transport(&self) -> quinn::TransportConfig {
        use quinn::VarInt;
        let mut t = quinn::TransportConfig::default();
        t.receive_window(VarInt::from_u32(self.connection_window))
            .stream_receive_window(VarInt::from_u32(self.stream_window))
            .max_concurrent_bidi_streams(VarInt::from_u32(self.peer_bidi_streams))
            .max_concurrent_uni_streams(VarInt::from_u32(self.peer_uni_streams))
            .max_idle_timeout(Some(
                quinn::IdleTimeout::try_from(self.idle_timeout).expect("30 s is a valid timeout"),
            ))
            .keep_alive_interval(Some(self.keep_alive));
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values in the captures (`scripts/h3-capture/FINDINGS.md`, Q1 and Q2).
    #[test]
    fn parameters_are_the_captured_ones() {
        let chromium = H3Rules::of(BrowserProfile::Chromium);
        assert_eq!(chromium.connection_window, 15_728_640);
        assert_eq!(chromium.stream_window, 6_291_456);
        assert_eq!(
            (chromium.peer_bidi_streams, chromium.peer_uni_streams),
            (100, 103)
        );
        assert_eq!(chromium.max_udp_payload_size, Some(1472));
        assert_eq!(chromium.connection_id_len, 0);
        assert_eq!(chromium.max_field_section_size, Some(262_144));
        let firefox = H3Rules::of(BrowserProfile::Firefox);
        assert_eq!(firefox.connection_window, 25_165_824);
        assert_eq!(firefox.stream_window, 12_582_912);
        assert_eq!(
            (firefox.peer_bidi_streams, firefox.peer_uni_streams),
            (100, 100)
        );
        assert_eq!(firefox.max_field_section_size, None);
        for rules in [chromium, firefox] {
            assert_eq!(rules.idle_timeout, Duration::from_millis(30_000));
            assert_eq!(rules.keep_alive, Duration::from_secs(15));
            // A keep-alive PING must come before the idle timeout could fire.
            assert!(rules.keep_alive < rules.idle_timeout);
        }
        assert!(chromium.retry_reset_before_response && !firefox.retry_reset_before_response);
        assert_eq!(
            (chromium.request_priority, firefox.request_priority),
            ("u=1, i", "u=4")
        );
    }
}
