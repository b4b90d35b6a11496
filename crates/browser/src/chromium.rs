//! Headless Chromium, driven over the Chrome DevTools Protocol: its [`Driver`].
//!
//! Launched with fixed [`FLAGS`], a fresh profile, `--remote-debugging-port=0` (the port and the
//! browser endpoint's path are written to `<profile>/DevToolsActivePort`), the
//! [`host_resolver_rules`] that keep it off every host but the server (`tests/isolation.rs` checks
//! the system calls), on TLS arms the server's certificate accepted by its key alone
//! (`--ignore-certificate-errors-spki-list`, [`crate::spki`]), and QUIC off except on the `h3`
//! arm, where the server's origin alone is forced onto it ([`quic_flags`]). Pages are driven in
//! [`cdp`]; the network events read in [`events`].

pub mod cdp;
pub mod events;

use std::future::Future;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use vocab::{BrowserProfile, Paths, Transport};

use crate::driver::{Driver, Install, ServerUnderTest};
use crate::error::BrowserError;
use crate::launcher::Launcher;
use crate::network::PageNetwork;
use crate::remote::{Dialect, Event, Remote};

/// Every Chromium launch gets exactly these flags, plus [`quic_flags`], [`host_resolver_rules`],
/// the profile, the DevTools port and, for TLS, the accepted key.
pub const FLAGS: [&str; 7] = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
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

/// QUIC for `servers`: off when none is on UDP (no QUIC to any origin); else on, and the origins
/// of those on UDP (the `h3` arm) alone forced onto it, so the first request goes over HTTP/3 with no TCP
/// attempt and no `Alt-Svc` (`scripts/h3-capture/FINDINGS.md`, "Setup" and Q5: 0 TCP connections
/// in 46 forced runs; HTTP/3 learned from `Alt-Svc` fails the SPKI allowlist).
pub fn quic_flags(servers: &[ServerUnderTest]) -> Vec<String> {
    let quic: Vec<String> = servers
        .iter()
        .filter(|s| s.transport == Transport::Udp)
        .map(|s| s.addr.to_string())
        .collect();
    if quic.is_empty() {
        return vec!["--disable-quic".to_owned()];
    }
    // The flag takes a comma-separated list of origins (Chromium's
    // `network::switches::kOriginToForceQuicOn`).
    vec![
        "--enable-quic".to_owned(),
        format!("--origin-to-force-quic-on={}", quic.join(",")),
    ]
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
            .args(quic_flags(servers))
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

    async fn start(_remote: &Remote, _servers: &[ServerUnderTest]) -> Result<(), BrowserError> {
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

    /// The arguments Chromium is launched with for `servers`.
    fn args_for(servers: &[ServerUnderTest]) -> Vec<String> {
        Chromium::command(
            &Launcher::direct(),
            Path::new("c"),
            Path::new("/p"),
            servers,
        )
        .unwrap()
        .get_args()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
    }

    #[test]
    fn a_tls_server_is_trusted_by_its_key_alone() {
        let args = |server: &ServerUnderTest| args_for(std::slice::from_ref(server));
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
            transport: Transport::Tcp,
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

    /// QUIC is off unless the server is on UDP; then the server's origin alone is forced onto
    /// it, and its key is still the only one accepted (no certificate errors ignored wholesale).
    #[test]
    fn quic_only_for_the_h3_servers_origin() {
        let args = |server: &ServerUnderTest| args_for(std::slice::from_ref(server));
        let quic = |args: &[String]| -> Vec<String> {
            args.iter()
                .filter(|a| a.contains("quic"))
                .cloned()
                .collect()
        };
        let tcp = ServerUnderTest::loopback(8443);
        assert_eq!(quic(&args(&tcp)), ["--disable-quic"]);
        let cert = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
        let h3 = ServerUnderTest {
            transport: Transport::Udp,
            certificate: Some(cert.cert.der().to_vec()),
            ..ServerUnderTest::loopback(8443)
        };
        let all = args(&h3);
        assert_eq!(
            quic(&all),
            ["--enable-quic", "--origin-to-force-quic-on=127.0.0.1:8443"]
        );
        // Several servers: the origins on UDP alone, in one list.
        let other_h3 = ServerUnderTest {
            transport: Transport::Udp,
            ..ServerUnderTest::loopback(9443)
        };
        assert_eq!(
            quic(&args_for(&[h3.clone(), tcp.clone(), other_h3])),
            [
                "--enable-quic",
                "--origin-to-force-quic-on=127.0.0.1:8443,127.0.0.1:9443"
            ]
        );
        assert!(all
            .iter()
            .any(|a| a.starts_with("--ignore-certificate-errors-spki-list=")));
        assert!(!all.contains(&"--ignore-certificate-errors".to_owned()));
    }
}
