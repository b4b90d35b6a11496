//! What drove a point's requests: the emulation, or a real browser as its ground truth.

use std::fmt;
use std::str::FromStr;

/// A client kind; the `client` column of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClientKind {
    /// ssebench's own browser-faithful connection pools.
    Emulated,
    /// A real headless Chromium.
    Chromium,
    /// A real headless Firefox.
    Firefox,
}

impl ClientKind {
    /// Every kind, in a fixed order.
    pub const ALL: [ClientKind; 3] = [
        ClientKind::Emulated,
        ClientKind::Chromium,
        ClientKind::Firefox,
    ];

    /// The name used in reports and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::Emulated => "emulated",
            ClientKind::Chromium => "chromium",
            ClientKind::Firefox => "firefox",
        }
    }

    /// True for the real browsers.
    pub fn is_browser(self) -> bool {
        !matches!(self, ClientKind::Emulated)
    }
}

impl fmt::Display for ClientKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A client kind name that is none of `emulated`, `chromium`, `firefox`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown client {0:?} (expected one of: emulated, chromium, firefox)")]
pub struct UnknownClientKind(pub String);

impl FromStr for ClientKind {
    type Err = UnknownClientKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ClientKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownClientKind(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for k in ClientKind::ALL {
            assert_eq!(k.as_str().parse::<ClientKind>(), Ok(k));
        }
        assert!("safari".parse::<ClientKind>().is_err());
        assert!(!ClientKind::Emulated.is_browser());
    }
}
