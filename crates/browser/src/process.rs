//! A browser process in its own process group, with a temporary directory for its profile and
//! its stderr, and the guard that always ends it.
//!
//! Browsers fork helpers (Chromium's zygote and renderers, Firefox's content and socket
//! processes). The browser is started as the leader of a new process group, so ending it is one
//! `kill(-pgid, SIGKILL)` that reaches every helper too; the leader is then reaped, and the
//! temporary directory (profile included) is removed after that. Dropping a [`BrowserProcess`]
//! does all of this, on panics and early returns as well.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vocab::BrowserProfile;

use crate::error::BrowserError;
use crate::remote::Dialect;

/// How often the launchers poll for the browser's endpoint file.
pub(crate) const POLL: Duration = Duration::from_millis(20);

/// A running browser, killed with its whole process group when dropped.
#[derive(Debug)]
pub struct BrowserProcess {
    browser: BrowserProfile,
    /// What drives it, for messages.
    dialect: Dialect,
    child: Child,
    path: PathBuf,
    /// Holds `profile/` and `stderr.log`; removed after the process group is gone.
    dir: tempfile::TempDir,
}

impl BrowserProcess {
    /// A fresh temporary directory with an empty `profile/` in it, for [`BrowserProcess::spawn`].
    pub fn temp_dir(browser: BrowserProfile) -> Result<tempfile::TempDir, BrowserError> {
        let dir = tempfile::Builder::new()
            .prefix(&format!("ssebench-{browser}-"))
            .tempdir()
            .map_err(BrowserError::TempDir)?;
        std::fs::create_dir(dir.path().join("profile")).map_err(BrowserError::TempDir)?;
        Ok(dir)
    }

    /// Starts `command` (its program is `path`) as a new process group, stdout discarded, stderr
    /// to `dir/stderr.log`.
    pub fn spawn(
        browser: BrowserProfile,
        dialect: Dialect,
        path: &Path,
        mut command: Command,
        dir: tempfile::TempDir,
    ) -> Result<BrowserProcess, BrowserError> {
        let stderr =
            std::fs::File::create(dir.path().join("stderr.log")).map_err(BrowserError::TempDir)?;
        command
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr);
        let child = command.spawn().map_err(|source| BrowserError::Spawn {
            browser,
            path: path.to_owned(),
            source,
        })?;
        Ok(BrowserProcess {
            browser,
            dialect,
            child,
            path: path.to_owned(),
            dir,
        })
    }

    /// Which browser it is.
    pub fn browser(&self) -> BrowserProfile {
        self.browser
    }

    /// The profile directory.
    pub fn profile(&self) -> PathBuf {
        self.dir.path().join("profile")
    }

    /// The process id (also the process group id).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// What the browser wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    /// `Some(status)` once the browser has exited.
    pub fn exit_status(&mut self) -> Option<String> {
        match self.child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(e.to_string()),
        }
    }

    /// The error to report if the browser has exited.
    pub fn exited(&mut self) -> Option<BrowserError> {
        let status = self.exit_status()?;
        Some(self.exited_error(status))
    }

    /// The error for a browser that exited while it was needed.
    fn exited_error(&mut self, status: String) -> BrowserError {
        BrowserError::Exited {
            browser: self.browser,
            path: self.path.clone(),
            status,
            stderr: self.stderr(),
        }
    }

    /// Polls `read` until it yields the browser's endpoint, the browser exits, or `timeout`.
    pub async fn wait_for_endpoint(
        &mut self,
        timeout: Duration,
        mut read: impl FnMut(&Path) -> Option<String>,
    ) -> Result<String, BrowserError> {
        let started = Instant::now();
        let profile = self.profile();
        loop {
            if let Some(endpoint) = read(&profile) {
                return Ok(endpoint);
            }
            if let Some(exited) = self.exited() {
                return Err(exited);
            }
            if started.elapsed() > timeout {
                return Err(BrowserError::NotReady {
                    browser: self.browser,
                    remote: self.dialect.name(),
                    path: self.path.clone(),
                    waited: timeout,
                    stderr: self.stderr(),
                });
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits up to `timeout` for the browser to exit by itself; `false` if it is still running
    /// (dropping it then kills it).
    pub async fn wait_exit(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.exit_status().is_some() {
                return true;
            }
            tokio::time::sleep(POLL).await;
        }
        false
    }

    fn kill_group(&self) {
        let pgid = i32::try_from(self.child.id()).ok().filter(|&p| p > 1);
        if let Some(pid) = pgid.and_then(rustix::process::Pid::from_raw) {
            // ESRCH (the group is gone already) is fine.
            let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
        }
    }
}

impl Drop for BrowserProcess {
    fn drop(&mut self) {
        // The group outlives its leader while helpers run: kill it whether or not the leader
        // has exited already (the pgid cannot be reused while any member is alive).
        self.kill_group();
        let _ = self.child.wait();
        // `dir` (profile and stderr.log) is removed after this, by TempDir's own drop.
    }
}
