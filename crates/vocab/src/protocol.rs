//! The protocol arms a run compares.
//!
//! An arm pins how a client talks to the origin and how a server listener answers: which
//! transport, which ALPN is offered and which HTTP version both must end up with. A listener
//! speaks exactly one arm and refuses the others, and a client checks what was negotiated, so a
//! row labelled `h2` can never have been served over HTTP/1.1 by a silent fallback. `h2c` is for
//! lab runs only: no browser speaks it.
//!
//! `ws` and `wss` are the WebSocket arms: the chat travels both ways on WebSockets (RFC 6455,
//! opened by an HTTP/1.1 `Upgrade`; `wss` over TLS with ALPN `http/1.1` only) instead of an event
//! stream down and POSTs up. Their origin (the page, `/health`) is `http://` or `https://`; the
//! sockets' URLs are `ws://` or `wss://` on the same host and port.
//!
//! `h3` is HTTP/3 (RFC 9114) over QUIC (RFC 9000) on UDP, TLS 1.3 inside QUIC (RFC 9001) with ALPN
//! `h3` only: no TCP fallback, no `Alt-Svc` upgrade. The callers that mean "one connection per
//! origin, requests as streams under the server's stream limit" ask
//! [`Protocol::is_multiplexed`] (`h2`, `h2c`, `h3`); those that mean HTTP/2's own framing
//! (SETTINGS, the preface, flow-control windows as HTTP/2 spells them) ask
//! [`Protocol::is_http2`]; code that binds or opens sockets asks [`Protocol::transport`].

use serde::{Deserialize, Serialize};

use crate::word::{word_traits, Word};

/// A protocol arm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Protocol {
    /// HTTP/1.1 over cleartext TCP.
    #[serde(rename = "h1")]
    H1,
    /// HTTP/1.1 over TLS, ALPN `http/1.1` only (TLS without ALPN also means HTTP/1.1).
    #[serde(rename = "h1-tls")]
    H1Tls,
    /// HTTP/2 over TLS, ALPN `h2` only: what browsers use.
    #[serde(rename = "h2")]
    H2,
    /// HTTP/2 over cleartext TCP with prior knowledge (no `Upgrade: h2c`).
    #[serde(rename = "h2c")]
    H2c,
    /// WebSocket over cleartext TCP (an HTTP/1.1 `Upgrade`).
    #[serde(rename = "ws")]
    Ws,
    /// WebSocket over TLS, ALPN `http/1.1` only (RFC 6455 over HTTP/1.1, not RFC 8441).
    #[serde(rename = "wss")]
    Wss,
    /// HTTP/3 over QUIC on UDP, ALPN `h3` only (TLS 1.3 inside QUIC).
    #[serde(rename = "h3")]
    H3,
}

/// The transport an arm's connections run on: what a listener binds and a client opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Transport {
    /// TCP (cleartext or TLS over it).
    #[serde(rename = "tcp")]
    Tcp,
    /// UDP, carrying QUIC.
    #[serde(rename = "udp")]
    Udp,
}

impl Transport {
    /// Every transport, in a fixed order.
    pub const ALL: [Transport; 2] = [Transport::Tcp, Transport::Udp];

    /// `tcp` or `udp`.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::Udp => "udp",
        }
    }
}

crate::word!(Transport, "transport");

impl Protocol {
    /// Every arm, in a fixed order.
    pub const ALL: [Protocol; 7] = [
        Protocol::H1,
        Protocol::H1Tls,
        Protocol::H2,
        Protocol::H2c,
        Protocol::Ws,
        Protocol::Wss,
        Protocol::H3,
    ];

    /// The name used in scenario files, on the command line, in reports, stats and
    /// `listening` lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::H1 => "h1",
            Protocol::H1Tls => "h1-tls",
            Protocol::H2 => "h2",
            Protocol::H2c => "h2c",
            Protocol::Ws => "ws",
            Protocol::Wss => "wss",
            Protocol::H3 => "h3",
        }
    }

    /// True for the arms that run TLS (over TCP, or inside QUIC for `h3`).
    pub fn is_tls(self) -> bool {
        matches!(
            self,
            Protocol::H1Tls | Protocol::H2 | Protocol::Wss | Protocol::H3
        )
    }

    /// The transport the arm's connections run on: UDP for `h3` (QUIC), TCP for the others.
    pub fn transport(self) -> Transport {
        match self {
            Protocol::H3 => Transport::Udp,
            _ => Transport::Tcp,
        }
    }

    /// True for the WebSocket arms (`ws`, `wss`).
    pub fn is_websocket(self) -> bool {
        matches!(self, Protocol::Ws | Protocol::Wss)
    }

    /// The scheme of the arm's WebSocket URLs (`ws`, `wss`), for the WebSocket arms.
    pub fn websocket_scheme(self) -> Option<&'static str> {
        match self {
            Protocol::Ws => Some("ws"),
            Protocol::Wss => Some("wss"),
            _ => None,
        }
    }

    /// True for the HTTP/2 arms (`h2`, `h2c`): HTTP/2's framing, preface, SETTINGS and windows.
    /// For "one connection per origin, streams under a limit" ask [`Protocol::is_multiplexed`].
    pub fn is_http2(self) -> bool {
        matches!(self, Protocol::H2 | Protocol::H2c)
    }

    /// True for the multiplexed arms (`h2`, `h2c`, `h3`): a browser keeps one connection per
    /// origin and sends every request on it as a stream, up to the server's stream limit
    /// (HTTP/2's `SETTINGS_MAX_CONCURRENT_STREAMS`, QUIC's `MAX_STREAMS`).
    pub fn is_multiplexed(self) -> bool {
        matches!(self, Protocol::H2 | Protocol::H2c | Protocol::H3)
    }

    /// The only ALPN protocol the arm offers and accepts, for the TLS arms.
    pub fn alpn(self) -> Option<&'static [u8]> {
        match self {
            Protocol::H1Tls | Protocol::Wss => Some(b"http/1.1"),
            Protocol::H2 => Some(b"h2"),
            Protocol::H3 => Some(b"h3"),
            Protocol::H1 | Protocol::H2c | Protocol::Ws => None,
        }
    }

    /// The URL scheme of the arm's origin: `https` for the TLS arms, `http` otherwise (the
    /// WebSocket arms' page included; their sockets use [`Protocol::websocket_scheme`]).
    pub fn scheme(self) -> &'static str {
        if self.is_tls() {
            "https"
        } else {
            "http"
        }
    }
}

impl Protocol {
    /// Whether `url` has a scheme the arm takes: its origin's (`http://`, `https://`), or for the
    /// WebSocket arms also its sockets' (`ws://`, `wss://`).
    pub fn takes_url(self, url: &str) -> bool {
        let has = |scheme: &str| {
            url.strip_prefix(scheme)
                .is_some_and(|rest| rest.starts_with("://"))
        };
        has(self.scheme()) || self.websocket_scheme().is_some_and(has)
    }
}

impl Protocol {
    /// The name of the protocol a client ends up speaking on the arm, as ALPN spells it (RFC 7301)
    /// and as a browser reports it (`response.protocol`): the arm's ALPN on TLS, `http/1.1` on
    /// cleartext HTTP/1.1 (the WebSocket arms' handshakes included), `h2c` on cleartext HTTP/2
    /// (RFC 9113, 3.1).
    pub fn alpn_id(self) -> &'static str {
        match self {
            Protocol::H1 | Protocol::H1Tls | Protocol::Ws | Protocol::Wss => "http/1.1",
            Protocol::H2 => "h2",
            Protocol::H2c => "h2c",
            Protocol::H3 => "h3",
        }
    }
}

impl Word for Protocol {
    const WHAT: &'static str = "protocol";
    const ALL: &'static [Protocol] = &Protocol::ALL;

    fn as_str(self) -> &'static str {
        Protocol::as_str(self)
    }
}

word_traits!(Protocol);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Protocol::ALL {
            assert_eq!(p.to_string().parse::<Protocol>(), Ok(p));
            assert_eq!(
                serde_json::to_string(&p).expect("serializes"),
                format!("\"{p}\"")
            );
            assert_eq!(p.alpn().is_some(), p.is_tls());
        }
        assert!("h4".parse::<Protocol>().is_err());
        assert_eq!(Protocol::H2.scheme(), "https");
        assert_eq!(Protocol::H2c.scheme(), "http");
        assert_eq!(Protocol::H2.alpn(), Some(&b"h2"[..]));
        assert_eq!(Protocol::Wss.alpn(), Some(&b"http/1.1"[..]));
        assert_eq!(Protocol::Wss.scheme(), "https");
        assert_eq!(Protocol::Ws.websocket_scheme(), Some("ws"));
        assert!(Protocol::Wss.is_websocket() && !Protocol::Wss.is_http2());
        assert_eq!(Protocol::H1.websocket_scheme(), None);
        assert!(Protocol::Wss.takes_url("wss://127.0.0.1:1/ws?channel=a"));
        assert!(Protocol::Wss.takes_url("https://127.0.0.1:1"));
        assert!(!Protocol::Wss.takes_url("ws://127.0.0.1:1"));
        assert!(!Protocol::H1.takes_url("ws://127.0.0.1:1"));
        assert!(!Protocol::H1.takes_url("https://127.0.0.1:1"));
        assert_eq!(Protocol::H3.alpn(), Some(&b"h3"[..]));
        assert_eq!(Protocol::H3.scheme(), "https");
        assert!(Protocol::H3.takes_url("https://127.0.0.1:1"));
        assert!(Protocol::H3.is_multiplexed() && !Protocol::H3.is_http2());
    }

    #[test]
    fn only_h3_runs_on_udp() {
        for p in Protocol::ALL {
            let udp = p.transport() == Transport::Udp;
            assert_eq!(udp, p == Protocol::H3, "{p}");
            // Every HTTP/2 arm is multiplexed; QUIC is, and always runs TLS.
            assert!(!p.is_http2() || p.is_multiplexed(), "{p}");
            assert!(!udp || (p.is_tls() && p.is_multiplexed()), "{p}");
        }
        assert_eq!("udp".parse::<Transport>(), Ok(Transport::Udp));
    }

    #[test]
    fn the_negotiated_name_is_the_alpn_where_there_is_one() {
        for p in Protocol::ALL {
            if let Some(alpn) = p.alpn() {
                assert_eq!(p.alpn_id().as_bytes(), alpn, "{p}");
            }
        }
        assert_eq!(Protocol::H1.alpn_id(), "http/1.1");
        assert_eq!(Protocol::Ws.alpn_id(), "http/1.1");
        assert_eq!(Protocol::H2c.alpn_id(), "h2c");
        assert_eq!(Protocol::H3.alpn_id(), "h3");
    }
}
