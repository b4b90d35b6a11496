//! The one seam between measuring a point ([`crate::point`]) and a particular browser: the
//! [`Driver`] trait, which each browser's module implements ([`crate::chromium`],
//! [`crate::firefox`]), and the [`Session`] every launch ends in, the same for every browser.
//!
//! A driver says only what differs: how the browser is found ([`Install`]), the command that
//! starts it with a fresh profile for the server, where it writes its remote endpoint, how its
//! remote protocol opens a page, evaluates a script and reports a page's requests. Starting the
//! process, waiting for the endpoint, connecting, closing and the process accessors are written
//! here once. A third browser is one new module implementing [`Driver`], plus its line in
//! [`crate::locate::install`] and [`crate::point::run_point_with`].

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use vocab::{BrowserProfile, Paths, Transport};

use crate::error::BrowserError;
use crate::launcher::Launcher;
use crate::network::PageNetwork;
use crate::process::BrowserProcess;
use crate::remote::{Dialect, Event, Remote};

/// How long a browser may take to write its remote endpoint.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long `close` waits for a clean exit before killing.
const EXIT_TIMEOUT: Duration = Duration::from_secs(3);

/// Where a browser's binary is found, which package provides it, and what drives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Install {
    /// The environment variable that names the binary (tests and CI use it).
    pub env_var: &'static str,
    /// Binary names searched on `PATH`, in order.
    pub path_names: &'static [&'static str],
    /// The Debian package that provides it.
    pub package: &'static str,
    /// The remote protocol the crate drives it with.
    pub dialect: Dialect,
}

/// A server a browser is launched for: its listener's address (the browser may reach the
/// addresses of the servers it is launched for, and no other), the transport it listens on, and
/// on a TLS arm the certificate the browser trusts there, and nothing else.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUnderTest {
    pub addr: SocketAddr,
    /// UDP: the origin speaks HTTP/3 over QUIC only, and the browser must be told so (each
    /// driver's way); TCP: QUIC stays off.
    pub transport: Transport,
    /// The server's DER certificate, for the TLS arms.
    pub certificate: Option<Vec<u8>>,
}

impl ServerUnderTest {
    /// A cleartext TCP server on 127.0.0.1 (or a launch with no server in mind).
    pub fn loopback(port: u16) -> ServerUnderTest {
        ServerUnderTest {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            transport: Transport::Tcp,
            certificate: None,
        }
    }
}

/// One real browser: what differs between browsers, and nothing else.
pub trait Driver {
    /// The browser, by its word.
    const PROFILE: BrowserProfile;
    /// Where it is found and what drives it.
    const INSTALL: Install;
    /// The remote protocol events a point keeps (page loads, requests and responses).
    const EVENTS: &'static [&'static str];
    /// The remote command that asks the browser to exit.
    const CLOSE: &'static str;

    /// The command that starts the browser at `path` through `launcher`, with the fresh,
    /// empty `profile` directory (files it needs there are written here), for `servers` only.
    fn command(
        launcher: &Launcher,
        path: &Path,
        profile: &Path,
        servers: &[ServerUnderTest],
    ) -> Result<Command, BrowserError>;

    /// The remote endpoint's URL, once the browser has written it into `profile`.
    fn endpoint(profile: &Path) -> Option<String>;

    /// What a fresh remote connection needs before pages open for `servers` (BiDi: the session;
    /// Firefox on HTTP/3: its warm-up load). Nothing done here may show among a page's events.
    fn start(
        remote: &Remote,
        servers: &[ServerUnderTest],
    ) -> impl Future<Output = Result<(), BrowserError>> + Send;

    /// One client's page: a fresh isolated context (own connection pools) with `page_url`
    /// loaded; its scope for [`Remote::events`] and [`Driver::evaluate`].
    fn open_page(
        remote: &Remote,
        page_url: &str,
        load_timeout: Duration,
    ) -> impl Future<Output = Result<String, BrowserError>> + Send;

    /// Evaluates `expression` in `page`, returning its value as JSON; awaited, and bounded by
    /// `timeout`, if `timeout` is given. A thrown exception is a [`BrowserError::Script`].
    fn evaluate(
        remote: &Remote,
        page: &str,
        expression: &str,
        what: &'static str,
        timeout: Option<Duration>,
    ) -> impl Future<Output = Result<Value, BrowserError>> + Send;

    /// A page's requests and responses from its kept `events`; `paths` tells the point's
    /// requests apart where the events do not name their kind.
    fn page_network(events: &[Event], paths: &Paths) -> PageNetwork;
}

/// Starts `D`'s browser at `path` with a fresh profile for `servers` and waits for its remote
/// endpoint: the process (killed with its group when dropped) and the endpoint's URL.
pub async fn start_process<D: Driver>(
    launcher: &Launcher,
    path: &Path,
    servers: &[ServerUnderTest],
) -> Result<(BrowserProcess, String), BrowserError> {
    let dir = BrowserProcess::temp_dir(D::PROFILE)?;
    let command = D::command(launcher, path, &dir.path().join("profile"), servers)?;
    let mut process = BrowserProcess::spawn(D::PROFILE, D::INSTALL.dialect, path, command, dir)?;
    let endpoint = process
        .wait_for_endpoint(START_TIMEOUT, D::endpoint)
        .await?;
    Ok((process, endpoint))
}

/// A launched browser and its remote protocol connection, whichever the browser.
#[derive(Debug)]
pub struct Session {
    process: BrowserProcess,
    remote: Remote,
    close: &'static str,
}

impl Session {
    /// Starts `D`'s browser for `servers` ([`start_process`]) and connects to it, ready to open
    /// pages.
    pub async fn launch<D: Driver>(
        launcher: &Launcher,
        path: &Path,
        servers: &[ServerUnderTest],
    ) -> Result<Session, BrowserError> {
        let (process, endpoint) = start_process::<D>(launcher, path, servers).await?;
        let remote = Remote::connect(&endpoint, D::INSTALL.dialect, D::EVENTS).await?;
        D::start(&remote, servers).await?;
        Ok(Session {
            process,
            remote,
            close: D::CLOSE,
        })
    }

    /// The remote protocol connection.
    pub fn remote(&self) -> &Remote {
        &self.remote
    }

    /// The browser process id (also its process group id).
    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// What the browser wrote to stderr so far.
    pub fn stderr(&self) -> String {
        self.process.stderr()
    }

    /// The error to report if the browser has exited (e.g. Firefox aborting on a non-local
    /// connection).
    pub fn exited(&mut self) -> Option<BrowserError> {
        self.process.exited()
    }

    /// Asks the browser to exit over its remote protocol, waits up to 3 s, then kills it (with
    /// its process group, and removes the profile, as dropping it would).
    pub async fn close(mut self) {
        let _ = self
            .remote
            .call_within(self.close, json!({}), None, EXIT_TIMEOUT)
            .await;
        if !self.process.wait_exit(EXIT_TIMEOUT).await {
            tracing::warn!(
                "{} did not exit within {EXIT_TIMEOUT:?}, killing it",
                self.process.browser()
            );
        }
    }
}
