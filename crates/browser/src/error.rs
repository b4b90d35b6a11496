//! Why a browser point could not be measured. Each variant names the value at fault; the cause,
//! when there is one, is left to `source()`.

use std::path::PathBuf;
use std::time::Duration;

use vocab::{BrowserProfile, Protocol};

use crate::spki::SpkiError;

#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    /// No binary: the message names the Debian package.
    #[error(
        "{browser} not found ({searched}): install it with `apt-get install {package}`, \
         or name the binary with {env_var}=PATH"
    )]
    NotFound {
        browser: BrowserProfile,
        searched: String,
        package: &'static str,
        env_var: &'static str,
    },

    #[error("cannot start {browser} {}", path.display())]
    Spawn {
        browser: BrowserProfile,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error(
        "{browser} {} did not open its {remote} port within {waited:?}{}",
        path.display(),
        tail(stderr)
    )]
    NotReady {
        browser: BrowserProfile,
        /// The remote protocol's name.
        remote: &'static str,
        path: PathBuf,
        waited: Duration,
        stderr: String,
    },

    /// The browser exited before or while it was needed (Firefox started with
    /// `MOZ_DISABLE_NONLOCAL_CONNECTIONS=1` aborts on purpose when anything tries to reach a
    /// non-local address; its stderr then says which).
    #[error("{browser} {} exited ({status}){}", path.display(), tail(stderr))]
    Exited {
        browser: BrowserProfile,
        path: PathBuf,
        status: String,
        stderr: String,
    },

    #[error("cannot create a temporary profile directory")]
    TempDir(#[source] std::io::Error),

    #[error(transparent)]
    Remote(#[from] RemoteError),

    /// The arm cannot be driven by a browser at all (h2c).
    #[error("{protocol} cannot run in a browser: {reason}")]
    UnsupportedArm {
        protocol: Protocol,
        reason: &'static str,
    },

    #[error("cannot start the embedded server")]
    Server(#[source] sse_server::ServerError),

    /// The server given to [`crate::run_point_with`] does not listen for the point's arm.
    #[error("the server given for the point has no {protocol} listener")]
    NoListener { protocol: Protocol },

    #[error("cannot read the server certificate's public key")]
    Certificate(#[source] SpkiError),

    #[error("{browser} could not load {url}: {error}")]
    Navigation {
        browser: BrowserProfile,
        url: String,
        error: String,
    },

    /// Firefox's warm-up load before an `h3` point (`crate::firefox::bidi::warm_up`) was not
    /// refused: something answers on TCP at the server's port, which the point never contacts.
    #[error(
        "{browser}'s warm-up load of {url} should have been refused over TCP (the h3 server \
         listens on UDP only), but got: {answer}"
    )]
    WarmUp {
        browser: BrowserProfile,
        url: String,
        answer: String,
    },

    #[error("the page script failed ({what}): {detail}")]
    Script { what: &'static str, detail: String },

    /// The browser spoke another protocol than the arm pins: never a silent fallback.
    #[error(
        "protocol mismatch on {arm}: {browser} negotiated {got:?} for {url}, expected {expected:?}"
    )]
    ProtocolMismatch {
        browser: BrowserProfile,
        arm: Protocol,
        expected: &'static str,
        got: String,
        url: String,
    },
    #[error("no protocol on {arm}: {browser} reported no response with its protocol")]
    NoProtocol {
        browser: BrowserProfile,
        arm: Protocol,
    },
}

/// A remote protocol (CDP or WebDriver BiDi) failure.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("cannot connect to the {protocol} endpoint {url}")]
    Connect {
        protocol: &'static str,
        url: String,
        #[source]
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },
    #[error("the remote protocol connection closed")]
    Closed,
    #[error("{method} got no answer within {waited:?}")]
    Timeout { method: String, waited: Duration },
    #[error("{method} failed: {message} (code {code})")]
    Command {
        method: String,
        code: i64,
        message: String,
    },
    #[error("waited {waited:?} for the {event} event")]
    EventTimeout { event: String, waited: Duration },
}

/// The last lines of the browser's stderr, for an error message, after the first `FATAL ERROR`
/// line if there is one (Firefox's refused non-local connection, named with its host).
fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let fatal = lines
        .iter()
        .find(|l| l.contains("FATAL ERROR"))
        .map(|l| format!("; {}", l.trim()))
        .unwrap_or_default();
    let from = lines.len().saturating_sub(5);
    format!(
        "{fatal}; its stderr ends with:\n  {}",
        lines[from..].join("\n  ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fatal_line_is_quoted_before_the_tail() {
        let mut stderr = String::from("FATAL ERROR: Non-local network connections are disabled and a connection attempt to example.org (93.184.215.14) was made.\n");
        for i in 0..20 {
            stderr.push_str(&format!("noise {i}\n"));
        }
        let t = tail(&stderr);
        assert!(t.starts_with("; FATAL ERROR: Non-local"), "{t}");
        assert!(t.ends_with("noise 19"), "{t}");
        assert!(!t.contains("noise 14"), "{t}");
        assert_eq!(tail(" \n"), "");
    }
}
