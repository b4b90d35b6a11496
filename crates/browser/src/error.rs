//! Why a browser point could not be measured. Each variant names the value at fault; the cause,
//! when there is one, is left to `source()`.

use std::path::PathBuf;
use std::time::Duration;

use crate::spki::SpkiError;

#[derive(Debug, thiserror::Error)]
pub enum BrowserError {
    /// No Chromium binary: the message names the Debian package.
    #[error(
        "chromium not found ({searched}): install it with `apt-get install chromium`, \
         or name the binary with --chromium PATH or SSEBENCH_CHROMIUM=PATH"
    )]
    ChromiumNotFound { searched: String },

    #[error("cannot start chromium {}", path.display())]
    Spawn {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("chromium {} did not open its DevTools port within {waited:?}{}", path.display(), tail(stderr))]
    DevToolsNotReady {
        path: PathBuf,
        waited: Duration,
        stderr: String,
    },

    #[error("chromium {} exited before its DevTools port was ready ({status}){}", path.display(), tail(stderr))]
    Exited {
        path: PathBuf,
        status: String,
        stderr: String,
    },

    #[error("cannot create a temporary profile directory")]
    TempDir(#[source] std::io::Error),

    #[error(transparent)]
    Cdp(#[from] CdpError),

    /// The arm cannot be driven by a browser at all (h2c).
    #[error("{protocol} cannot run in a browser: {reason}")]
    UnsupportedArm {
        protocol: sse_server::Protocol,
        reason: &'static str,
    },

    #[error("cannot start the embedded server")]
    Server(#[source] sse_server::ServerError),

    #[error("cannot read the server certificate's public key")]
    Certificate(#[source] SpkiError),

    #[error("chromium could not load {url}: {error}")]
    Navigation { url: String, error: String },

    #[error("the page script failed ({what}): {detail}")]
    Script { what: &'static str, detail: String },

    /// Chromium spoke another protocol than the arm pins: never a silent fallback.
    #[error(
        "protocol mismatch on {arm}: chromium negotiated {got:?} for {url}, expected {expected:?}"
    )]
    ProtocolMismatch {
        arm: sse_server::Protocol,
        expected: &'static str,
        got: String,
        url: String,
    },
}

/// A DevTools protocol failure.
#[derive(Debug, thiserror::Error)]
pub enum CdpError {
    #[error("cannot connect to the DevTools endpoint {url}")]
    Connect {
        url: String,
        #[source]
        source: Box<tokio_tungstenite::tungstenite::Error>,
    },
    #[error("the DevTools connection closed")]
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

/// The last lines of Chromium's stderr, for an error message.
fn tail(stderr: &str) -> String {
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.is_empty() {
        return String::new();
    }
    let from = lines.len().saturating_sub(5);
    format!("; its stderr ends with:\n  {}", lines[from..].join("\n  "))
}
