//! One headless Chromium process with a fresh temporary profile, and the guard that always ends
//! it.
//!
//! The flags are fixed (see [`FLAGS`]): no GPU, no QUIC (a browser on QUIC would leave the
//! HTTP/1.1 vs HTTP/2 comparison), no first-run UI, and no background traffic of the browser's
//! own. `--disable-background-networking` is not enough for the last: Chromium 156 still looked up
//! `clients2.google.com` with the system's DNS resolver during a point (measured under strace,
//! `tests/isolation.rs`), so every host name resolves to "not found" without a query
//! (`--host-resolver-rules`, [`host_resolver_rules`]). The rule maps IP literals too (measured:
//! with `MAP * ~NOTFOUND` alone, `http://198.18.1.2:8000/` fails to resolve), so the server's
//! address is excluded from it: 127.0.0.1, and the server's address in an emulated network.
//! `--remote-debugging-port=0` picks a free port, which Chromium writes to
//! `<profile>/DevToolsActivePort` (port, then the browser endpoint's path). For TLS arms the server
//! certificate is accepted by its key alone with `--ignore-certificate-errors-spki-list`. A
//! [`Launcher`] may start it inside a network namespace (see [`crate::launcher`]).
//!
//! [`Chromium::close`] asks the browser to exit (`Browser.close`) and waits a bounded time;
//! dropping a [`Chromium`] kills its process group in any case (panics and early returns
//! included), then removes the profile.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Duration;

use crate::error::BrowserError;
use crate::kind::BrowserKind;
use crate::launcher::Launcher;
use crate::process::BrowserProcess;
use crate::remote::Remote;

/// Every Chromium launch gets exactly these flags, plus [`host_resolver_rules`], the profile, the
/// DevTools port and, for TLS, the accepted key.
pub const FLAGS: [&str; 8] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
];

/// The host resolver rules flag: every host name (and IP literal) resolves to "not found" without
/// a query, except 127.0.0.1 and the server's address `server`.
pub fn host_resolver_rules(server: IpAddr) -> String {
    let mut rules = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1".to_owned();
    if server != IpAddr::V4(Ipv4Addr::LOCALHOST) {
        rules.push_str(&format!(" , EXCLUDE {server}"));
    }
    rules
}

/// How long Chromium may take to open its DevTools port.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `close` waits for a clean exit before killing.
const EXIT_TIMEOUT: Duration = Duration::from_secs(3);

/// A running headless Chromium. Killed, with its process group, when dropped.
#[derive(Debug)]
pub struct Chromium {
    process: BrowserProcess,
    ws_url: String,
}

impl Chromium {
    /// Starts `path` with [`FLAGS`], a fresh profile, and `spki` (base64 SHA-256 of a
    /// certificate's SubjectPublicKeyInfo) as the only accepted certificate key, if given, for a
    /// server on 127.0.0.1.
    pub async fn launch(path: &Path, spki: Option<&str>) -> Result<Chromium, BrowserError> {
        Chromium::launch_with(
            &Launcher::direct(),
            path,
            spki,
            IpAddr::V4(Ipv4Addr::LOCALHOST),
        )
        .await
    }

    /// [`Chromium::launch`] through `launcher`, for a server at `server` (an address the host
    /// resolver rules let through).
    pub async fn launch_with(
        launcher: &Launcher,
        path: &Path,
        spki: Option<&str>,
        server: IpAddr,
    ) -> Result<Chromium, BrowserError> {
        let kind = BrowserKind::Chromium;
        let dir = BrowserProcess::temp_dir(kind)?;
        let mut command = launcher.command(path);
        command
            .args(FLAGS)
            .arg(host_resolver_rules(server))
            .arg(format!(
                "--user-data-dir={}",
                dir.path().join("profile").display()
            ))
            .arg("--remote-debugging-port=0");
        if let Some(spki) = spki {
            command.arg(format!("--ignore-certificate-errors-spki-list={spki}"));
        }
        command.arg("about:blank");
        let mut process = BrowserProcess::spawn(kind, path, command, dir)?;
        let ws_url = process
            .wait_for_endpoint(START_TIMEOUT, |profile| {
                let text = std::fs::read_to_string(profile.join("DevToolsActivePort")).ok()?;
                devtools_endpoint(&text)
            })
            .await?;
        Ok(Chromium { process, ws_url })
    }

    /// The browser's DevTools WebSocket endpoint.
    pub fn ws_url(&self) -> &str {
        &self.ws_url
    }

    /// The browser process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// What Chromium wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.process.stderr()
    }

    /// The error to report if the browser has exited.
    pub fn exited(&mut self) -> Option<BrowserError> {
        let status = self.process.exit_status()?;
        Some(self.process.exited_error(status))
    }

    /// Asks the browser to exit over `cdp`, waits up to 3 s, then kills it.
    pub async fn close(mut self, cdp: &Remote) {
        let _ = cdp
            .call_within("Browser.close", serde_json::json!({}), None, EXIT_TIMEOUT)
            .await;
        if !self.process.wait_exit(EXIT_TIMEOUT).await {
            tracing::warn!("chromium did not exit within {EXIT_TIMEOUT:?}, killing it");
        }
        // Drop kills the process group (helpers included) and removes the profile.
    }
}

/// `DevToolsActivePort`: the port on the first line, the endpoint's path on the second.
fn devtools_endpoint(text: &str) -> Option<String> {
    let mut lines = text.lines();
    let port = lines.next()?.trim().parse::<u16>().ok()?;
    let path = lines.next()?.trim();
    Some(format!("ws://127.0.0.1:{port}{path}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_endpoint_file() {
        assert_eq!(
            devtools_endpoint("40123\n/devtools/browser/abc\n").as_deref(),
            Some("ws://127.0.0.1:40123/devtools/browser/abc")
        );
        assert_eq!(devtools_endpoint("40123\n"), None, "half written");
    }

    #[test]
    fn the_resolver_rules_let_the_server_through() {
        assert_eq!(
            host_resolver_rules(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
        );
        assert_eq!(
            host_resolver_rules("198.18.1.2".parse().unwrap()),
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE 198.18.1.2"
        );
    }
}
