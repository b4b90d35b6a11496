//! One headless Chromium process with a fresh temporary profile, and the guard that always ends
//! it.
//!
//! The flags are fixed (see [`FLAGS`]): no GPU, no QUIC (a browser on QUIC would leave the
//! HTTP/1.1 vs HTTP/2 comparison), no first-run UI, and no background traffic of the browser's
//! own. `--remote-debugging-port=0` picks a free port, which Chromium writes to
//! `<profile>/DevToolsActivePort` (port, then the browser endpoint's path). For TLS arms the server
//! certificate is accepted by its key alone with `--ignore-certificate-errors-spki-list`.
//!
//! [`Chromium::close`] asks the browser to exit (`Browser.close`) and waits a bounded time;
//! dropping a [`Chromium`] kills the process in any case (panics and early returns included), then
//! removes the profile.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cdp::Cdp;
use crate::error::BrowserError;

/// Every Chromium launch gets exactly these flags, plus the profile, the DevTools port and, for
/// TLS, the accepted key.
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

/// How long Chromium may take to open its DevTools port.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `close` waits for a clean exit before killing.
const EXIT_TIMEOUT: Duration = Duration::from_secs(3);

/// A running headless Chromium. Killed when dropped.
#[derive(Debug)]
pub struct Chromium {
    child: Child,
    path: PathBuf,
    ws_url: String,
    /// Holds `profile/` (the user data dir) and `stderr.log`; removed after the process ends.
    dir: tempfile::TempDir,
}

impl Chromium {
    /// Starts `path` with [`FLAGS`], a fresh profile, and `spki` (base64 SHA-256 of a
    /// certificate's SubjectPublicKeyInfo) as the only accepted certificate key, if given.
    pub async fn launch(path: &Path, spki: Option<&str>) -> Result<Chromium, BrowserError> {
        let dir = tempfile::Builder::new()
            .prefix("ssebench-chromium-")
            .tempdir()
            .map_err(BrowserError::TempDir)?;
        let profile = dir.path().join("profile");
        std::fs::create_dir(&profile).map_err(BrowserError::TempDir)?;
        let stderr =
            std::fs::File::create(dir.path().join("stderr.log")).map_err(BrowserError::TempDir)?;
        let mut command = Command::new(path);
        command
            .args(FLAGS)
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("--remote-debugging-port=0");
        if let Some(spki) = spki {
            command.arg(format!("--ignore-certificate-errors-spki-list={spki}"));
        }
        command
            .arg("about:blank")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        let child = command.spawn().map_err(|source| BrowserError::Spawn {
            path: path.to_owned(),
            source,
        })?;
        let mut chromium = Chromium {
            child,
            path: path.to_owned(),
            ws_url: String::new(),
            dir,
        };
        chromium.ws_url = chromium.wait_for_devtools(&profile).await?;
        Ok(chromium)
    }

    /// The browser's DevTools WebSocket endpoint.
    pub fn ws_url(&self) -> &str {
        &self.ws_url
    }

    /// The browser process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What Chromium wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// Asks the browser to exit over `cdp`, waits up to 3 s, then kills it.
    pub async fn close(mut self, cdp: &Cdp) {
        let _ = cdp
            .call_within("Browser.close", serde_json::json!({}), None, EXIT_TIMEOUT)
            .await;
        let deadline = Instant::now() + EXIT_TIMEOUT;
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        tracing::warn!("chromium did not exit within {EXIT_TIMEOUT:?}, killing it");
        // Drop kills it.
    }

    /// Polls `DevToolsActivePort` (port on the first line, endpoint path on the second).
    async fn wait_for_devtools(&mut self, profile: &Path) -> Result<String, BrowserError> {
        let file = profile.join("DevToolsActivePort");
        let started = Instant::now();
        loop {
            if let Ok(text) = std::fs::read_to_string(&file) {
                let mut lines = text.lines();
                if let (Some(port), Some(path)) = (lines.next(), lines.next()) {
                    if let Ok(port) = port.trim().parse::<u16>() {
                        return Ok(format!("ws://127.0.0.1:{port}{}", path.trim()));
                    }
                }
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(BrowserError::Exited {
                    path: self.path.clone(),
                    status: status.to_string(),
                    stderr: self.stderr(),
                });
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(BrowserError::DevToolsNotReady {
                    path: self.path.clone(),
                    waited: START_TIMEOUT,
                    stderr: self.stderr(),
                });
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Chromium {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
        }
        // Reap it; its helper processes exit with it. The profile is removed after this.
        let _ = self.child.wait();
    }
}
