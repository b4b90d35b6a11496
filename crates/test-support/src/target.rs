//! Where a server listens and which certificate it serves, whether it runs in this process
//! ([`RunningServer`], [`ServerThread`]) or in another one ([`Target`], read from the `server`
//! binary's `listening` lines and its `--write-cert` file). Every client helper takes an
//! [`Endpoints`], so the abuse tests and the abuse driver (`examples/server_abuse.rs`) share them.

use std::net::SocketAddr;
use std::path::Path;

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;
use sse_server::{Protocol, RunningServer};

use crate::ServerThread;

/// A server's listeners and certificate.
pub trait Endpoints {
    /// The address of the `protocol` listener; panics if there is none.
    fn addr(&self, protocol: Protocol) -> SocketAddr;
    /// The certificate the TLS listeners serve (what a client trusts).
    fn cert(&self) -> CertificateDer<'static>;
}

impl Endpoints for RunningServer {
    fn addr(&self, protocol: Protocol) -> SocketAddr {
        RunningServer::addr(self, protocol)
            .unwrap_or_else(|| panic!("the server has no {protocol} listener"))
    }

    fn cert(&self) -> CertificateDer<'static> {
        self.cert_der()
    }
}

impl Endpoints for ServerThread {
    fn addr(&self, protocol: Protocol) -> SocketAddr {
        Endpoints::addr(&**self, protocol)
    }

    fn cert(&self) -> CertificateDer<'static> {
        self.cert_der()
    }
}

/// A server in another process.
#[derive(Debug, Clone)]
pub struct Target {
    listeners: Vec<(Protocol, SocketAddr)>,
    cert: CertificateDer<'static>,
}

/// Why a [`Target`] could not be read.
#[derive(Debug)]
pub enum TargetError {
    /// A `listening` line that is not `listening <protocol> <scheme>://<addr>`.
    BadLine(String),
    /// No `listening` line at all.
    NoListener,
    /// The certificate file.
    Cert(rustls_pki_types::pem::Error),
}

impl std::fmt::Display for TargetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TargetError::BadLine(line) => write!(f, "not a listening line: {line:?}"),
            TargetError::NoListener => f.write_str("no listening line"),
            TargetError::Cert(e) => write!(f, "cannot read the certificate: {e}"),
        }
    }
}

impl std::error::Error for TargetError {}

impl Target {
    /// Reads the `listening <protocol> <url>` lines the `server` binary prints (other lines are
    /// skipped) and the PEM certificate it wrote with `--write-cert`.
    pub fn from_listening_lines(lines: &str, cert_pem: &Path) -> Result<Target, TargetError> {
        let mut listeners = Vec::new();
        for line in lines.lines().filter(|l| l.starts_with("listening ")) {
            let bad = || TargetError::BadLine(line.to_owned());
            let mut words = line.split_whitespace().skip(1);
            let protocol: Protocol = words.next().and_then(|p| p.parse().ok()).ok_or_else(bad)?;
            let addr = words
                .next()
                .and_then(|url| url.split_once("://"))
                .and_then(|(_, addr)| addr.trim_end_matches('/').parse().ok())
                .ok_or_else(bad)?;
            listeners.push((protocol, addr));
        }
        if listeners.is_empty() {
            return Err(TargetError::NoListener);
        }
        let cert = CertificateDer::from_pem_file(cert_pem).map_err(TargetError::Cert)?;
        Ok(Target { listeners, cert })
    }

    /// The listeners, in the order the server printed them.
    pub fn listeners(&self) -> &[(Protocol, SocketAddr)] {
        &self.listeners
    }
}

impl Endpoints for Target {
    fn addr(&self, protocol: Protocol) -> SocketAddr {
        self.listeners
            .iter()
            .find(|(p, _)| *p == protocol)
            .map(|&(_, addr)| addr)
            .unwrap_or_else(|| panic!("the target has no {protocol} listener"))
    }

    fn cert(&self) -> CertificateDer<'static> {
        self.cert.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn reads_what_the_server_binary_prints() {
        let server = crate::spawn_default_server().await;
        let mut lines = String::from("some log line\n");
        for (p, _) in server.listeners() {
            let url = server.url(p).unwrap();
            lines.push_str(&format!("listening {p} {url}\n"));
        }
        let pem = std::env::temp_dir().join(format!("target-test-{}.pem", std::process::id()));
        std::fs::write(&pem, server.cert_pem()).unwrap();
        let target = Target::from_listening_lines(&lines, &pem).unwrap();
        let _ = std::fs::remove_file(&pem);
        for p in Protocol::ALL {
            assert_eq!(Endpoints::addr(&target, p), Endpoints::addr(&server, p));
        }
        assert_eq!(target.cert(), server.cert_der());
        assert!(matches!(
            Target::from_listening_lines("listening h3 http://x", &pem),
            Err(TargetError::BadLine(_))
        ));
        assert!(matches!(
            Target::from_listening_lines("", &pem),
            Err(TargetError::NoListener)
        ));
    }
}
