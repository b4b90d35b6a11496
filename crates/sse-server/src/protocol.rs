//! The four listener kinds. Each listener speaks exactly one of them and refuses the others, so a
//! benchmark row labelled `h2` can never have been served over HTTP/1.1 by a silent fallback.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The protocol a listener is pinned to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Protocol {
    /// HTTP/1.1 over cleartext TCP. Refuses the HTTP/2 prior-knowledge preface.
    #[serde(rename = "h1")]
    H1,
    /// HTTP/1.1 over TLS, ALPN `http/1.1` (a client offering no ALPN at all is served too).
    #[serde(rename = "h1-tls")]
    H1Tls,
    /// HTTP/2 over TLS, ALPN `h2` required: what browsers use.
    #[serde(rename = "h2")]
    H2,
    /// HTTP/2 over cleartext TCP with prior knowledge only (no `Upgrade: h2c`).
    #[serde(rename = "h2c")]
    H2c,
}

impl Protocol {
    /// Every protocol, in a fixed order.
    pub fn all() -> [Protocol; 4] {
        [Protocol::H1, Protocol::H1Tls, Protocol::H2, Protocol::H2c]
    }

    /// The name used on the command line, in stats and in `listening` lines.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::H1 => "h1",
            Protocol::H1Tls => "h1-tls",
            Protocol::H2 => "h2",
            Protocol::H2c => "h2c",
        }
    }

    /// The URL scheme: `https` for the TLS listeners, `http` otherwise.
    pub fn scheme(self) -> &'static str {
        if self.is_tls() {
            "https"
        } else {
            "http"
        }
    }

    /// True for the listeners that run TLS.
    pub fn is_tls(self) -> bool {
        matches!(self, Protocol::H1Tls | Protocol::H2)
    }

    /// True for the listeners that serve HTTP/2.
    pub fn is_http2(self) -> bool {
        matches!(self, Protocol::H2 | Protocol::H2c)
    }
}

impl fmt::Display for Protocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A protocol name that is none of `h1`, `h1-tls`, `h2`, `h2c`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown protocol {0:?} (expected h1, h1-tls, h2 or h2c)")]
pub struct UnknownProtocol(pub String);

impl FromStr for Protocol {
    type Err = UnknownProtocol;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Protocol::all()
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| UnknownProtocol(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Protocol::all() {
            assert_eq!(p.to_string().parse::<Protocol>(), Ok(p));
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{p}\""));
        }
        assert!("h3".parse::<Protocol>().is_err());
        assert_eq!(Protocol::H2.scheme(), "https");
        assert_eq!(Protocol::H2c.scheme(), "http");
    }
}
