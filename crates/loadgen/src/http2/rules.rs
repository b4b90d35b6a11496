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

    /// An h2 client that announces these SETTINGS and windows, and opens
    /// [`INITIAL_STREAMS`] streams before the server's SETTINGS.
    pub(crate) fn client(&self) -> h2::client::Builder {
        let mut builder = h2::client::Builder::new();
        builder
            .initial_max_send_streams(INITIAL_STREAMS)
            .header_table_size(self.header_table_size)
            .enable_push(self.enable_push)
            .initial_window_size(self.stream_window)
            .initial_connection_window_size(self.connection_window)
            .data_frame_budget(self.data_frame_budget());
        if let Some(size) = self.max_header_list_size {
            builder.max_header_list_size(size);
        }
        builder
    }

    /// h2's budget for small DATA frames buffered before the application reads them (h2 0.4.20
    /// answers an exhausted budget with GOAWAY ENHANCE_YOUR_CALM "too_many_data_frames"; neither
    /// browser has such a limit). Each buffered frame of `n` < 256 bytes spends `256 - n`. Flow
    /// control bounds what a server may have in flight to the connection window, so at most that
    /// many frames of one byte: this budget covers them all, and only a server that breaks flow
    /// control can exhaust it. (h2's default, half the connection window, fires at about 30,000
    /// buffered SSE events.)
    fn data_frame_budget(&self) -> usize {
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

    /// h2 never sends GOAWAY for a full window of one-byte DATA frames that the application has
    /// not read yet, the most small frames a server within flow control can have buffered: a raw
    /// server sends them on one stream, then a PING, and the client answers the PING (so it read
    /// every frame before it) and never sends GOAWAY. Each profile's client as `client()` builds
    /// it, with both windows at the protocol's 65,535 bytes: the budget follows the connection
    /// window, so this shows what a 15 MiB window would at 1/240 of the frames.
    #[tokio::test]
    async fn a_full_window_of_one_byte_frames_is_no_reason_for_goaway() {
        for profile in BrowserProfile::ALL {
            let window = 65_535;
            let rules = H2Rules {
                stream_window: window,
                connection_window: window,
                ..H2Rules::of(profile)
            };
            let got = tokio::time::timeout(
                std::time::Duration::from_secs(20),
                one_byte_frames::serve_a_window(&rules, window as usize),
            )
            .await
            .expect("the raw server's exchange ends");
            assert_eq!(
                got,
                one_byte_frames::Answer::PingAck,
                "{profile}: {window} one-byte DATA frames buffered"
            );
        }
    }
}

/// A raw HTTP/2 server for the budget test: it answers the first request with a full window of
/// one-byte DATA frames, then a PING, and says how the client answered.
#[cfg(test)]
mod one_byte_frames {
    use bytes::Bytes;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::{TcpListener, TcpStream};

    use super::H2Rules;

    /// What the client sent after the frames.
    #[derive(Debug, PartialEq, Eq)]
    pub enum Answer {
        /// The PING's acknowledgement: every frame before it was read, the connection kept.
        PingAck,
        /// GOAWAY, with its error code.
        GoAway(u32),
        /// The connection closed without either.
        Closed,
    }

    const DATA: u8 = 0x0;
    const HEADERS: u8 = 0x1;
    const SETTINGS: u8 = 0x4;
    const PING: u8 = 0x6;
    const GOAWAY: u8 = 0x7;
    const ACK: u8 = 0x1;
    const END_HEADERS: u8 = 0x4;

    fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = payload.len() as u32;
        let mut out = Vec::with_capacity(9 + payload.len());
        out.extend_from_slice(&len.to_be_bytes()[1..]);
        out.extend_from_slice(&[kind, flags]);
        out.extend_from_slice(&stream.to_be_bytes());
        out.extend_from_slice(payload);
        out
    }

    /// The next frame's type, flags, stream and payload.
    async fn read_frame(io: &mut TcpStream) -> Option<(u8, u8, u32, Vec<u8>)> {
        let mut head = [0u8; 9];
        io.read_exact(&mut head).await.ok()?;
        let len = u32::from_be_bytes([0, head[0], head[1], head[2]]) as usize;
        let stream = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7FFF_FFFF;
        let mut payload = vec![0; len];
        io.read_exact(&mut payload).await.ok()?;
        Some((head[3], head[4], stream, payload))
    }

    /// Connects a client built by `rules` to a raw server that sends `frames` one-byte DATA
    /// frames on the client's first stream (`frames` must fit the client's windows), then a PING;
    /// the client holds the response without reading its body.
    pub async fn serve_a_window(rules: &H2Rules, frames: usize) -> Answer {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let server = tokio::spawn(async move {
            let (mut io, _) = listener.accept().await.expect("accept");
            let mut preface = [0u8; 24];
            io.read_exact(&mut preface).await.expect("preface");
            io.write_all(&frame(SETTINGS, 0, 0, &[]))
                .await
                .expect("write");
            let stream = loop {
                match read_frame(&mut io).await.expect("the client's frames") {
                    (SETTINGS, 0, 0, _) => {
                        io.write_all(&frame(SETTINGS, ACK, 0, &[]))
                            .await
                            .expect("write");
                    }
                    (HEADERS, _, stream, _) => break stream,
                    _ => {}
                }
            };
            // `:status: 200`, HPACK's static entry 8.
            let mut burst = frame(HEADERS, END_HEADERS, stream, &[0x88]);
            for _ in 0..frames {
                burst.extend_from_slice(&frame(DATA, 0, stream, b"x"));
            }
            burst.extend_from_slice(&frame(PING, 0, 0, b"budget!!"));
            io.write_all(&burst).await.expect("write");
            loop {
                match read_frame(&mut io).await {
                    Some((PING, ACK, 0, _)) => return Answer::PingAck,
                    Some((GOAWAY, _, _, payload)) => {
                        let code =
                            u32::from_be_bytes([payload[4], payload[5], payload[6], payload[7]]);
                        return Answer::GoAway(code);
                    }
                    Some(_) => {}
                    None => return Answer::Closed,
                }
            }
        });
        let io = TcpStream::connect(addr).await.expect("connect");
        let (mut send, connection) = rules
            .client()
            .handshake::<_, Bytes>(io)
            .await
            .expect("handshake");
        let driver = tokio::spawn(connection);
        let request = http::Request::get("http://127.0.0.1/")
            .body(())
            .expect("request");
        let (response, _) = send.send_request(request, true).expect("request sent");
        // The body stays unread: every DATA frame stays buffered in h2.
        let _body = response.await.expect("response head");
        let answer = server.await.expect("the raw server");
        driver.abort();
        answer
    }
}
