//! Headless Firefox (ESR on Debian), driven over WebDriver BiDi: its [`Driver`].
//!
//! `firefox-esr --headless --profile DIR --remote-debugging-port 0` starts Firefox's remote agent
//! on a free port, which it writes to `DIR/WebDriverBiDiServer.json`; the session endpoint is
//! `ws://HOST:PORT/session` (no separate driver binary). The profile gets a `user.js`
//! ([`prefs`]) and the launch the environment [`env()`], which together keep Firefox off every
//! host but the server; on TLS arms a `cert_override.txt` trusts the server's certificate for its
//! address alone ([`cert_override`]; the session does not ask for `acceptInsecureCerts`, so any
//! other certificate still fails: `tests/launch.rs`). On the `h3` arm the profile's preferences
//! send the server's origin to QUIC ([`prefs::http3`]) and [`bidi::warm_up`] makes one load
//! before the pages, so that their first request already goes over HTTP/3. Pages are driven in
//! [`bidi`]; the network events read in [`events`].

pub mod bidi;
pub mod events;
pub mod prefs;

use std::fmt::Write as _;
use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use vocab::{BrowserProfile, Paths, Protocol, Transport};

use crate::driver::{Driver, Install, ServerUnderTest};
use crate::error::BrowserError;
use crate::launcher::Launcher;
use crate::network::PageNetwork;
use crate::remote::{Dialect, Event, Remote};

/// Every Firefox launch gets exactly these arguments, plus the profile and the remote port.
pub const ARGS: [&str; 1] = ["--headless"];

/// The environment of every Firefox launch on the host. `MOZ_DISABLE_NONLOCAL_CONNECTIONS=1`
/// makes Gecko abort on any connection attempt to a non-local address (and lets
/// `services.settings.server` point at a dummy); `MOZ_CRASHREPORTER_DISABLE=1` keeps such an
/// abort from starting the crash reporter.
pub const ENV: [(&str, &str); 2] = [
    ("MOZ_DISABLE_NONLOCAL_CONNECTIONS", "1"),
    ("MOZ_CRASHREPORTER_DISABLE", "1"),
];

/// The environment of a Firefox in a network namespace of its own
/// ([`Launcher::in_network_namespace`]), whose only route leads to the server on 198.18.0.0/15.
/// `MOZ_DISABLE_NONLOCAL_CONNECTIONS` cannot stay: Gecko counts only loopback and RFC 1918
/// addresses as local and aborts on the server's address (`crates/browser/FINDINGS.md`,
/// "firefox.rs"); the namespace takes its place. `MOZ_REMOTE_SETTINGS_DEVTOOLS=1` keeps a
/// release build honouring `services.settings.server`, so remote settings still go to the dummy.
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

/// Headless Firefox.
#[derive(Debug, Clone, Copy)]
pub struct Firefox;

impl Driver for Firefox {
    const PROFILE: BrowserProfile = BrowserProfile::Firefox;
    const INSTALL: Install = Install {
        env_var: "SSEBENCH_FIREFOX",
        path_names: &["firefox-esr", "firefox"],
        package: "firefox-esr",
        dialect: Dialect::Bidi,
    };
    const EVENTS: &'static [&'static str] = events::KEPT;
    const CLOSE: &'static str = "browser.close";

    fn command(
        launcher: &Launcher,
        path: &Path,
        profile: &Path,
        servers: &[ServerUnderTest],
    ) -> Result<Command, BrowserError> {
        // Firefox maps HTTP/3 by host (`network.http.http3.alt-svc-mapping-for-testing`), so one
        // profile can send one server on 127.0.0.1 to QUIC, not two: `run_points_with` gives each
        // point on QUIC a browser of its own.
        let quic: Vec<&ServerUnderTest> = servers
            .iter()
            .filter(|s| s.transport == Transport::Udp)
            .collect();
        let user_js = match quic.as_slice() {
            [] => prefs::user_js(),
            [one] => prefs::user_js_for(Transport::Udp, one.addr),
            _ => {
                return Err(BrowserError::UnsupportedArm {
                    protocol: Protocol::H3,
                    reason: "one Firefox profile maps HTTP/3 to one server; launch one browser per h3 server",
                })
            }
        };
        std::fs::write(profile.join("user.js"), user_js).map_err(BrowserError::TempDir)?;
        let tls: Vec<(SocketAddr, &[u8])> = servers
            .iter()
            .filter_map(|s| s.certificate.as_deref().map(|der| (s.addr, der)))
            .collect();
        if !tls.is_empty() {
            std::fs::write(profile.join("cert_override.txt"), cert_override(&tls))
                .map_err(BrowserError::TempDir)?;
        }
        let mut command = launcher.command(path);
        command
            .args(ARGS)
            .arg("--profile")
            .arg(profile)
            .args(["--remote-debugging-port", "0"])
            .envs(env(launcher));
        Ok(command)
    }

    fn endpoint(profile: &Path) -> Option<String> {
        bidi_endpoint(&std::fs::read_to_string(profile.join("WebDriverBiDiServer.json")).ok()?)
    }

    async fn start(remote: &Remote, servers: &[ServerUnderTest]) -> Result<(), BrowserError> {
        bidi::start_session(remote).await?;
        for server in servers.iter().filter(|s| s.transport == Transport::Udp) {
            bidi::warm_up(remote, server.addr).await?;
        }
        Ok(())
    }

    fn open_page(
        remote: &Remote,
        page_url: &str,
        load_timeout: Duration,
    ) -> impl Future<Output = Result<String, BrowserError>> + Send {
        bidi::open_tab(remote, page_url, load_timeout)
    }

    fn evaluate(
        remote: &Remote,
        page: &str,
        expression: &str,
        what: &'static str,
        timeout: Option<Duration>,
    ) -> impl Future<Output = Result<Value, BrowserError>> + Send {
        bidi::evaluate(remote, page, expression, what, timeout)
    }

    fn page_network(events: &[Event], paths: &Paths) -> PageNetwork {
        events::page_network(events, paths)
    }
}

/// The session URL from `WebDriverBiDiServer.json` (`{"ws_host": .., "ws_port": ..}`).
fn bidi_endpoint(text: &str) -> Option<String> {
    let v: Value = serde_json::from_str(text).ok()?;
    let host = v.get("ws_host")?.as_str()?;
    let port = v.get("ws_port")?.as_u64()?;
    (port > 0).then(|| format!("ws://{host}:{port}/session"))
}

/// A `cert_override.txt` that trusts exactly the certificate `der` for `addr`, for each
/// `(addr, der)` of `servers`: a line each of `host:port:origin-attributes`, the hash
/// algorithm's OID (SHA-256), the colon-separated upper-case fingerprint and an empty database
/// key, tab-separated, as Firefox writes it itself. The empty origin attributes cover every user
/// context.
pub fn cert_override(servers: &[(SocketAddr, &[u8])]) -> String {
    let mut text = "# PSM Certificate Override Settings file\n# This is a generated file!  Do not \
                    edit.\n"
        .to_owned();
    for &(addr, der) in servers {
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
        let _ = writeln!(
            text,
            "{host}:{}:\tOID.2.16.840.1.101.3.4.2.1\t{fingerprint}\t",
            addr.port()
        );
    }
    text
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
        let text = cert_override(&[(addr, b"not really a certificate")]);
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

    #[test]
    fn the_profile_trusts_the_tls_server_alone() {
        let dir = tempfile::tempdir().unwrap();
        let plain = ServerUnderTest::loopback(8080);
        let run = |servers: &[ServerUnderTest]| {
            Firefox::command(&Launcher::direct(), Path::new("ff"), dir.path(), servers).unwrap()
        };
        let command = run(std::slice::from_ref(&plain));
        assert!(dir.path().join("user.js").exists());
        assert!(!dir.path().join("cert_override.txt").exists());
        let envs: Vec<_> = command.get_envs().collect();
        assert!(envs
            .iter()
            .any(|(k, _)| *k == "MOZ_DISABLE_NONLOCAL_CONNECTIONS"));
        let tls = ServerUnderTest {
            certificate: Some(b"der".to_vec()),
            ..plain.clone()
        };
        let other = ServerUnderTest {
            addr: "127.0.0.1:8444".parse().unwrap(),
            transport: Transport::Tcp,
            certificate: Some(b"other".to_vec()),
        };
        run(&[tls.clone(), plain, other.clone()]);
        let text = std::fs::read_to_string(dir.path().join("cert_override.txt")).unwrap();
        assert_eq!(
            text,
            cert_override(&[(tls.addr, b"der"), (other.addr, b"other")]),
            "each TLS server's certificate for its address alone"
        );
        assert_eq!(text.lines().count(), 4);
    }
}
