//! One headless Firefox process with a fresh temporary profile, and the guard that always ends
//! it.
//!
//! `firefox-esr --headless --profile DIR --remote-debugging-port 0` starts Firefox's remote agent
//! with WebDriver BiDi on a free port, which it writes to `DIR/WebDriverBiDiServer.json`
//! (`{"ws_host": .., "ws_port": ..}`); the session endpoint is `ws://HOST:PORT/session`. No
//! separate driver binary is involved.
//!
//! The profile gets a `user.js` ([`crate::firefox_prefs`]) and the environment [`env`] ([`ENV`]
//! on the host, [`ENV_IN_NAMESPACE`] in a network namespace of its own), which together keep
//! Firefox off every host but the server. For TLS arms it also gets a `cert_override.txt` that
//! trusts the server's certificate for its `ADDRESS:PORT` by its SHA-256 fingerprint, and nothing
//! else: the session does not ask for `acceptInsecureCerts`, so any other certificate still fails
//! (`tests/launch.rs` checks both).
//!
//! [`Firefox::close`] ends the session with `browser.close` and waits a bounded time; dropping a
//! [`Firefox`] kills its process group in any case, then removes the profile.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde_json::{json, Value};

use crate::error::BrowserError;
use crate::kind::BrowserKind;
use crate::launcher::Launcher;
use crate::process::BrowserProcess;
use crate::remote::Remote;

/// Every Firefox launch gets exactly these arguments, plus the profile and the remote port.
pub const ARGS: [&str; 1] = ["--headless"];

/// The environment of every Firefox launch. `MOZ_DISABLE_NONLOCAL_CONNECTIONS=1` makes Gecko
/// abort on any connection attempt to a non-local address (and lets `services.settings.server`
/// point at a dummy); `MOZ_CRASHREPORTER_DISABLE=1` keeps such an abort from starting the crash
/// reporter.
pub const ENV: [(&str, &str); 2] = [
    ("MOZ_DISABLE_NONLOCAL_CONNECTIONS", "1"),
    ("MOZ_CRASHREPORTER_DISABLE", "1"),
];

/// The environment of a Firefox launched in a network namespace of its own
/// ([`Launcher::in_network_namespace`]), whose only route leads to the server on the
/// benchmarking range 198.18.0.0/15. `MOZ_DISABLE_NONLOCAL_CONNECTIONS` cannot stay: Gecko counts
/// only loopback and RFC 1918 addresses as local (`NetAddr::IsIPAddrLocal`) and aborts on the
/// server's address (measured: "FATAL ERROR: Non-local network connections are disabled and a
/// connection attempt to 198.18.1.2 (198.18.1.2) was made"). The namespace takes its place: it
/// has no route anywhere else. `MOZ_REMOTE_SETTINGS_DEVTOOLS=1` is the other switch that makes a
/// release build honour `services.settings.server` (remote settings' `allowServerURLOverride`),
/// so remote settings still go to the dummy URL instead of trying
/// `firefox.settings.services.mozilla.com`.
pub const ENV_IN_NAMESPACE: [(&str, &str); 2] = [
    ("MOZ_REMOTE_SETTINGS_DEVTOOLS", "1"),
    ("MOZ_CRASHREPORTER_DISABLE", "1"),
];

/// The environment of a launch through `launcher`.
pub fn env(launcher: &Launcher) -> [(&'static str, &'static str); 2] {
    match launcher.in_own_namespace() {
        false => ENV,
        true => ENV_IN_NAMESPACE,
    }
}

/// How long Firefox may take to open its remote port.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `close` waits for a clean exit before killing.
const EXIT_TIMEOUT: Duration = Duration::from_secs(3);

/// A running headless Firefox. Killed, with its process group, when dropped.
#[derive(Debug)]
pub struct Firefox {
    process: BrowserProcess,
    ws_url: String,
}

impl Firefox {
    /// Starts `path` with [`ARGS`], [`ENV`] and a fresh profile; `trusted` is the TLS server
    /// (address and DER certificate) whose certificate the profile accepts, if any.
    pub async fn launch(
        path: &Path,
        trusted: Option<(SocketAddr, &[u8])>,
    ) -> Result<Firefox, BrowserError> {
        Firefox::launch_with(&Launcher::direct(), path, trusted).await
    }

    /// [`Firefox::launch`] through `launcher`, with its environment ([`env`]).
    pub async fn launch_with(
        launcher: &Launcher,
        path: &Path,
        trusted: Option<(SocketAddr, &[u8])>,
    ) -> Result<Firefox, BrowserError> {
        let kind = BrowserKind::Firefox;
        let dir = BrowserProcess::temp_dir(kind)?;
        let profile = dir.path().join("profile");
        std::fs::write(profile.join("user.js"), crate::firefox_prefs::user_js())
            .map_err(BrowserError::TempDir)?;
        if let Some((addr, der)) = trusted {
            std::fs::write(profile.join("cert_override.txt"), cert_override(addr, der))
                .map_err(BrowserError::TempDir)?;
        }
        let mut command = launcher.command(path);
        command
            .args(ARGS)
            .arg("--profile")
            .arg(&profile)
            .args(["--remote-debugging-port", "0"])
            .envs(env(launcher));
        let mut process = BrowserProcess::spawn(kind, path, command, dir)?;
        let ws_url = process
            .wait_for_endpoint(START_TIMEOUT, |profile| {
                let text =
                    std::fs::read_to_string(profile.join("WebDriverBiDiServer.json")).ok()?;
                bidi_endpoint(&text)
            })
            .await?;
        Ok(Firefox { process, ws_url })
    }

    /// The WebDriver BiDi session endpoint.
    pub fn ws_url(&self) -> &str {
        &self.ws_url
    }

    /// The browser process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// What Firefox wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.process.stderr()
    }

    /// The error to report if the browser has exited (e.g. aborted on a non-local connection).
    pub fn exited(&mut self) -> Option<BrowserError> {
        let status = self.process.exit_status()?;
        Some(self.process.exited_error(status))
    }

    /// Asks the browser to exit over `remote` (`browser.close`), waits up to 3 s, then kills it.
    pub async fn close(mut self, remote: &Remote) {
        let _ = remote
            .call_within("browser.close", json!({}), None, EXIT_TIMEOUT)
            .await;
        if !self.process.wait_exit(EXIT_TIMEOUT).await {
            tracing::warn!("firefox did not exit within {EXIT_TIMEOUT:?}, killing it");
        }
        // Drop kills the process group (helpers included) and removes the profile.
    }
}

/// The session URL from `WebDriverBiDiServer.json`.
fn bidi_endpoint(text: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text).ok()?;
    let host = v.get("ws_host")?.as_str()?;
    let port = v.get("ws_port")?.as_u64()?;
    (port > 0).then(|| format!("ws://{host}:{port}/session"))
}

/// A `cert_override.txt` that trusts exactly the certificate `der` for `addr`: one line of
/// `host:port:origin-attributes`, the hash algorithm's OID (SHA-256), the colon-separated
/// upper-case fingerprint and an empty database key, tab-separated, as Firefox writes it itself.
/// The empty origin attributes cover every user context.
pub fn cert_override(addr: SocketAddr, der: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, der);
    let mut fingerprint = String::new();
    for (i, byte) in digest.as_ref().iter().enumerate() {
        let sep = if i == 0 { "" } else { ":" };
        let _ = write!(fingerprint, "{sep}{byte:02X}");
    }
    let host = match addr {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => format!("[{}]", a.ip()),
    };
    format!(
        "# PSM Certificate Override Settings file\n# This is a generated file!  Do not edit.\n\
         {host}:{}:\tOID.2.16.840.1.101.3.4.2.1\t{fingerprint}\t\n",
        addr.port()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_endpoint_file() {
        assert_eq!(
            bidi_endpoint(r#"{"ws_host":"127.0.0.1","ws_port":40123}"#).as_deref(),
            Some("ws://127.0.0.1:40123/session")
        );
        assert_eq!(
            bidi_endpoint(r#"{"ws_host":"127.0.0.1""#),
            None,
            "half written"
        );
        assert_eq!(
            bidi_endpoint(r#"{"ws_host":"127.0.0.1","ws_port":0}"#),
            None
        );
    }

    #[test]
    fn override_line_has_the_sha256_fingerprint() {
        let addr: SocketAddr = "127.0.0.1:8443".parse().unwrap();
        let text = cert_override(addr, b"not really a certificate");
        let line = text.lines().nth(2).unwrap();
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields[0], "127.0.0.1:8443:");
        assert_eq!(fields[1], "OID.2.16.840.1.101.3.4.2.1");
        // `printf 'not really a certificate' | sha256sum`, in upper-case pairs.
        assert_eq!(
            fields[2],
            "D6:18:22:55:E5:73:9D:55:FC:97:81:75:9C:7A:82:3D:\
             4D:FF:3D:2B:7D:17:94:9E:70:85:EE:7C:0C:C2:2A:CF"
        );
        assert_eq!(fields[3], "");
        assert!(text.ends_with("\t\n"));
    }
}
