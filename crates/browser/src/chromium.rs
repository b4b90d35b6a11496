//! Headless Chromium, driven over the Chrome DevTools Protocol: its [`Driver`].
//!
//! Launched with fixed [`FLAGS`], a fresh profile, `--remote-debugging-port=0` (the port and the
//! browser endpoint's path are written to `<profile>/DevToolsActivePort`), the
//! [`host_resolver_rules`] that keep it off every host but the server (`tests/isolation.rs` checks
//! the system calls), and on TLS arms the server's certificate accepted by its key alone
//! (`--ignore-certificate-errors-spki-list`, [`crate::spki`]). Pages are driven in [`cdp`]; the
//! network events read in [`events`].

pub mod cdp;
pub mod events;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use vocab::{BrowserProfile, Paths};

use crate::driver::{Driver, Install, ServerUnderTest};
use crate::error::BrowserError;
use crate::launcher::Launcher;
use crate::network::PageNetwork;
use crate::remote::{Dialect, Event, Remote};

/// Every Chromium launch gets exactly these flags, plus [`host_resolver_rules`], the profile, the
/// DevTools port and, for TLS, the accepted key. No QUIC: the comparison is HTTP/1.1 against
/// HTTP/2 over TCP.
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
/// a query, except 127.0.0.1 and the servers' addresses `servers` (the rule maps IP literals
/// too). `--disable-background-networking` alone still let Chromium look a Google host up
/// (`crates/browser/FINDINGS.md`, "chromium.rs").
pub fn host_resolver_rules(servers: impl IntoIterator<Item = IpAddr>) -> String {
    let mut rules = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1".to_owned();
    let mut excluded = vec![IpAddr::V4(Ipv4Addr::LOCALHOST)];
    for server in servers {
        if !excluded.contains(&server) {
            rules.push_str(&format!(" , EXCLUDE {server}"));
            excluded.push(server);
        }
    }
    rules
}

/// Headless Chromium.
#[derive(Debug, Clone, Copy)]
pub struct Chromium;

impl Driver for Chromium {
    const PROFILE: BrowserProfile = BrowserProfile::Chromium;
    const INSTALL: Install = Install {
        env_var: "SSEBENCH_CHROMIUM",
        path_names: &[
            "chromium",
            "chromium-browser",
            "google-chrome",
            "google-chrome-stable",
        ],
        package: "chromium",
        dialect: Dialect::Cdp,
    };
    const EVENTS: &'static [&'static str] = events::KEPT;
    const CLOSE: &'static str = "Browser.close";

    fn command(
        launcher: &Launcher,
        path: &Path,
        profile: &Path,
        servers: &[ServerUnderTest],
    ) -> Result<Command, BrowserError> {
        let mut command = launcher.command(path);
        command
            .args(FLAGS)
            .arg(host_resolver_rules(servers.iter().map(|s| s.addr.ip())))
            .arg(format!("--user-data-dir={}", profile.display()))
            .arg("--remote-debugging-port=0");
        let mut keys = Vec::new();
        for der in servers.iter().filter_map(|s| s.certificate.as_ref()) {
            let spki = crate::spki::spki_sha256_base64(der).map_err(BrowserError::Certificate)?;
            if !keys.contains(&spki) {
                keys.push(spki);
            }
        }
        if !keys.is_empty() {
            command.arg(format!(
                "--ignore-certificate-errors-spki-list={}",
                keys.join(",")
            ));
        }
        command.arg("about:blank");
        Ok(command)
    }

    fn endpoint(profile: &Path) -> Option<String> {
        devtools_endpoint(&std::fs::read_to_string(profile.join("DevToolsActivePort")).ok()?)
    }

    async fn start(_remote: &Remote) -> Result<(), BrowserError> {
        Ok(())
    }

    fn open_page(
        remote: &Remote,
        page_url: &str,
        load_timeout: Duration,
    ) -> impl Future<Output = Result<String, BrowserError>> + Send {
        cdp::open_tab(remote, page_url, load_timeout)
    }

    fn evaluate(
        remote: &Remote,
        page: &str,
        expression: &str,
        what: &'static str,
        timeout: Option<Duration>,
    ) -> impl Future<Output = Result<Value, BrowserError>> + Send {
        cdp::evaluate(remote, page, expression, what, timeout)
    }

    fn page_network(events: &[Event], _paths: &Paths) -> PageNetwork {
        events::page_network(events)
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
        let far: IpAddr = "198.18.1.2".parse().unwrap();
        assert_eq!(
            host_resolver_rules([IpAddr::V4(Ipv4Addr::LOCALHOST)]),
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
        );
        assert_eq!(
            host_resolver_rules([far]),
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE 198.18.1.2"
        );
        assert_eq!(
            host_resolver_rules([far, far]),
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1 , EXCLUDE 198.18.1.2",
            "each address once"
        );
    }

    #[test]
    fn a_tls_server_is_trusted_by_its_key_alone() {
        let args = |server: &ServerUnderTest| -> Vec<String> {
            let command = Chromium::command(
                &Launcher::direct(),
                Path::new("c"),
                Path::new("/p"),
                std::slice::from_ref(server),
            )
            .unwrap();
            command
                .get_args()
                .map(|a| a.to_string_lossy().into_owned())
                .collect()
        };
        let keys = |args: &[String]| {
            args.iter()
                .filter(|a| a.starts_with("--ignore-certificate-errors-spki-list="))
                .cloned()
                .collect::<Vec<_>>()
        };
        let plain = ServerUnderTest::loopback(8080);
        assert!(args(&plain).contains(&"--user-data-dir=/p".to_owned()));
        assert_eq!(keys(&args(&plain)), Vec::<String>::new());

        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
        let der = cert.cert.der().to_vec();
        let key = crate::spki::spki_sha256_base64(&der).unwrap();
        let tls = ServerUnderTest {
            certificate: Some(der),
            ..plain.clone()
        };
        assert_eq!(
            keys(&args(&tls)),
            [format!("--ignore-certificate-errors-spki-list={key}")]
        );
        // Several servers: each one's key, once.
        let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
        let other_der = other.cert.der().to_vec();
        let other_key = crate::spki::spki_sha256_base64(&other_der).unwrap();
        let second = ServerUnderTest {
            addr: "127.0.0.1:8443".parse().unwrap(),
            certificate: Some(other_der),
        };
        let several = [tls.clone(), second, tls, plain.clone()];
        let command = Chromium::command(
            &Launcher::direct(),
            Path::new("c"),
            Path::new("/p"),
            &several,
        )
        .unwrap();
        let all: Vec<String> = command
            .get_args()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            keys(&all),
            [format!(
                "--ignore-certificate-errors-spki-list={key},{other_key}"
            )]
        );
        let bad = ServerUnderTest {
            certificate: Some(b"not DER".to_vec()),
            ..plain
        };
        let err = Chromium::command(&Launcher::direct(), Path::new("c"), Path::new("/p"), &[bad])
            .unwrap_err();
        assert!(matches!(err, BrowserError::Certificate(_)), "{err}");
    }
}
