//! Which real browser is the ground truth: the one table of what differs between them at the
//! door (names, where the binary is found, which package provides it, which remote protocol
//! drives it). What each browser then *does* on the wire is measured, not listed here.

use std::fmt;
use std::str::FromStr;

/// The environment variable that names the Chromium binary.
pub const CHROMIUM_ENV: &str = "SSEBENCH_CHROMIUM";
/// The environment variable that names the Firefox binary.
pub const FIREFOX_ENV: &str = "SSEBENCH_FIREFOX";

/// A real browser that can run a point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BrowserKind {
    /// Chromium, driven over the Chrome DevTools Protocol.
    Chromium,
    /// Firefox (ESR on Debian), driven over WebDriver BiDi.
    Firefox,
}

impl BrowserKind {
    pub const ALL: [BrowserKind; 2] = [BrowserKind::Chromium, BrowserKind::Firefox];

    /// The name in messages, and the report's `client` column value.
    pub fn name(self) -> &'static str {
        match self {
            Self::Chromium => "chromium",
            Self::Firefox => "firefox",
        }
    }

    /// The environment variable that names the binary (tests and CI use it).
    pub fn env_var(self) -> &'static str {
        match self {
            Self::Chromium => CHROMIUM_ENV,
            Self::Firefox => FIREFOX_ENV,
        }
    }

    /// Binary names searched on `PATH`, in order.
    pub fn path_names(self) -> &'static [&'static str] {
        match self {
            Self::Chromium => &[
                "chromium",
                "chromium-browser",
                "google-chrome",
                "google-chrome-stable",
            ],
            Self::Firefox => &["firefox-esr", "firefox"],
        }
    }

    /// The Debian package that provides it.
    pub fn package(self) -> &'static str {
        match self {
            Self::Chromium => "chromium",
            Self::Firefox => "firefox-esr",
        }
    }

    /// The remote protocol the crate drives it with.
    pub fn protocol(self) -> &'static str {
        match self {
            Self::Chromium => "Chrome DevTools Protocol",
            Self::Firefox => "WebDriver BiDi",
        }
    }
}

impl fmt::Display for BrowserKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A name that is not a browser this crate drives.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown browser {0:?}: expected `chromium` or `firefox`")]
pub struct UnknownBrowser(pub String);

impl FromStr for BrowserKind {
    type Err = UnknownBrowser;

    fn from_str(text: &str) -> Result<Self, UnknownBrowser> {
        BrowserKind::ALL
            .into_iter()
            .find(|k| k.name() == text)
            .ok_or_else(|| UnknownBrowser(text.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in BrowserKind::ALL {
            assert_eq!(kind.name().parse::<BrowserKind>().unwrap(), kind);
            assert_eq!(kind.to_string(), kind.name());
        }
        let err = "safari".parse::<BrowserKind>().unwrap_err();
        assert!(err.to_string().contains("\"safari\""), "{err}");
    }
}
