//! What drove a point's requests: the emulation, or a real browser as its ground truth.

use crate::protocol::Protocol;
use crate::word::{word_traits, Word};

/// A client kind; the `client` column of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClientKind {
    /// ssebench's own browser-faithful connection pools, with Chromium's rules (the default
    /// [`BrowserProfile`]).
    Emulated,
    /// The emulation with Firefox's rules (`browser = "firefox"` in a scenario).
    EmulatedFirefox,
    /// A real headless Chromium.
    Chromium,
    /// A real headless Firefox.
    Firefox,
}

impl ClientKind {
    /// Every kind, in a fixed order.
    pub const ALL: [ClientKind; 4] = [
        ClientKind::Emulated,
        ClientKind::EmulatedFirefox,
        ClientKind::Chromium,
        ClientKind::Firefox,
    ];

    /// The name used in reports and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            ClientKind::Emulated => "emulated",
            ClientKind::EmulatedFirefox => "emulated-firefox",
            ClientKind::Chromium => "chromium",
            ClientKind::Firefox => "firefox",
        }
    }

    /// True for the real browsers.
    pub fn is_browser(self) -> bool {
        !self.is_emulated()
    }

    /// True for ssebench's own clients, whatever browser's rules they follow.
    pub fn is_emulated(self) -> bool {
        matches!(self, ClientKind::Emulated | ClientKind::EmulatedFirefox)
    }
}

/// Whose connection rules the emulation follows: each value that differs between the browsers
/// (reconnection delay, HTTP/2 stream cap and windows) is read from the profile, and each was
/// measured in that browser on this project's machine (Chromium: `scripts/chromium-h2-capture/
/// FINDINGS.md`; Firefox: `scripts/firefox-h2-capture/FINDINGS.md`, `scripts/firefox-probes/`).
/// What they share (six HTTP/1.1 connections per origin, FIFO queues, 100 HTTP/2 streams before
/// SETTINGS) is not in it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum BrowserProfile {
    /// Chromium 156's rules.
    #[default]
    Chromium,
    /// Firefox 153 ESR's rules.
    Firefox,
}

impl BrowserProfile {
    /// Every profile, in a fixed order.
    pub const ALL: [BrowserProfile; 2] = [BrowserProfile::Chromium, BrowserProfile::Firefox];

    /// The name used in scenario files (`browser = "firefox"`).
    pub fn as_str(self) -> &'static str {
        match self {
            BrowserProfile::Chromium => "chromium",
            BrowserProfile::Firefox => "firefox",
        }
    }

    /// The `client` column of the emulation's rows under this profile.
    pub fn emulated_client(self) -> ClientKind {
        match self {
            BrowserProfile::Chromium => ClientKind::Emulated,
            BrowserProfile::Firefox => ClientKind::EmulatedFirefox,
        }
    }

    /// Why the browser cannot run `arm`, or `None` if it speaks it. A browser speaks HTTP/2
    /// only over TLS with ALPN `h2` (RFC 9113, 3.1: no browser implements cleartext `h2c`); it
    /// speaks HTTP/3 when told the origin is on QUIC (docs/browsers.md, "HTTP/3 streams").
    pub fn cannot_speak(self, arm: Protocol) -> Option<&'static str> {
        match arm {
            Protocol::H2c => {
                Some("browsers speak HTTP/2 only over TLS with ALPN h2, never cleartext h2c")
            }
            Protocol::H1
            | Protocol::H1Tls
            | Protocol::H2
            | Protocol::Ws
            | Protocol::Wss
            | Protocol::H3 => None,
        }
    }

    /// True if the browser runs `arm` (see [`BrowserProfile::cannot_speak`]): the arms of its
    /// points and of its per-browser tests (`#[test_support::browsers]`).
    pub fn speaks(self, arm: Protocol) -> bool {
        self.cannot_speak(arm).is_none()
    }

    /// The `client` column of the real browser's rows.
    pub fn real_client(self) -> ClientKind {
        match self {
            BrowserProfile::Chromium => ClientKind::Chromium,
            BrowserProfile::Firefox => ClientKind::Firefox,
        }
    }
}

impl Word for BrowserProfile {
    const WHAT: &'static str = "browser";
    const ALL: &'static [BrowserProfile] = &BrowserProfile::ALL;

    fn as_str(self) -> &'static str {
        BrowserProfile::as_str(self)
    }
}

word_traits!(BrowserProfile);

impl Word for ClientKind {
    const WHAT: &'static str = "client";
    const ALL: &'static [ClientKind] = &ClientKind::ALL;

    fn as_str(self) -> &'static str {
        ClientKind::as_str(self)
    }
}

word_traits!(ClientKind);

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
        assert!(!ClientKind::EmulatedFirefox.is_browser());
        for p in BrowserProfile::ALL {
            assert_eq!(p.as_str().parse::<BrowserProfile>(), Ok(p));
            assert!(p.emulated_client().is_emulated());
            assert!(p.real_client().is_browser());
            assert_eq!(p.real_client().as_str(), p.as_str());
        }
        assert_eq!(BrowserProfile::default(), BrowserProfile::Chromium);
        assert_eq!(
            BrowserProfile::Firefox.emulated_client().as_str(),
            "emulated-firefox"
        );
        assert!("safari".parse::<BrowserProfile>().is_err());
    }

    /// Every browser speaks every arm but cleartext HTTP/2, and says why not.
    #[test]
    fn browsers_speak_every_arm_but_h2c() {
        for browser in BrowserProfile::ALL {
            for arm in Protocol::ALL {
                assert_eq!(browser.speaks(arm), arm != Protocol::H2c, "{browser} {arm}");
            }
            let why = browser.cannot_speak(Protocol::H2c).expect("a reason");
            assert!(why.contains("h2c"), "{why}");
        }
    }
}
