//! The protocol arms a run compares.
//!
//! An arm pins how a virtual client talks to the origin: which transport, which ALPN it offers and
//! which HTTP version it must end up with. `h2c` is for lab runs only: no browser speaks it.

use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Arm {
    /// Cleartext HTTP/1.1.
    H1,
    /// HTTP/1.1 over TLS, offering only ALPN `http/1.1`.
    H1Tls,
    /// HTTP/2 over TLS, offering only ALPN `h2` (what browsers do).
    H2,
    /// Cleartext HTTP/2 with prior knowledge.
    H2c,
}

impl Arm {
    pub const ALL: [Arm; 4] = [Arm::H1, Arm::H1Tls, Arm::H2, Arm::H2c];

    pub fn name(self) -> &'static str {
        match self {
            Arm::H1 => "h1",
            Arm::H1Tls => "h1-tls",
            Arm::H2 => "h2",
            Arm::H2c => "h2c",
        }
    }

    pub fn is_tls(self) -> bool {
        matches!(self, Arm::H1Tls | Arm::H2)
    }

    /// True for the multiplexed arms (one connection per origin).
    pub fn is_http2(self) -> bool {
        matches!(self, Arm::H2 | Arm::H2c)
    }

    /// The only ALPN protocol the arm offers, for the TLS arms.
    pub fn alpn(self) -> Option<&'static [u8]> {
        match self {
            Arm::H1Tls => Some(b"http/1.1"),
            Arm::H2 => Some(b"h2"),
            Arm::H1 | Arm::H2c => None,
        }
    }

    pub fn scheme(self) -> &'static str {
        if self.is_tls() {
            "https"
        } else {
            "http"
        }
    }
}

impl fmt::Display for Arm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The error for a protocol name that is not one of the four arms.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown protocol {0:?} (expected one of: h1, h1-tls, h2, h2c)")]
pub struct UnknownArm(pub String);

impl FromStr for Arm {
    type Err = UnknownArm;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Arm::ALL
            .into_iter()
            .find(|a| a.name() == s)
            .ok_or_else(|| UnknownArm(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for arm in Arm::ALL {
            assert_eq!(arm.name().parse::<Arm>().unwrap(), arm);
        }
        assert!("h3".parse::<Arm>().is_err());
    }
}
