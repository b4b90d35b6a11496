//! The certificate and the per-listener TLS configurations.
//!
//! Each TLS listener gets its own rustls configuration whose ALPN list holds exactly its
//! protocol's ([`Protocol::alpn`]): rustls refuses, with a `no_application_protocol` alert, a
//! client that offers ALPN without it. A client that offers no ALPN completes the handshake with
//! none selected, and the listener decides. The crypto provider is always `ring`. The HTTP/3
//! listener's configuration is TLS 1.3 only (QUIC carries nothing older, RFC 9001 §4.2), and
//! rustls completes no QUIC handshake without ALPN.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::ring::default_provider;
use rustls_pki_types::pem::{Error as PemError, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

use crate::config::TlsSource;
use crate::error::ServerError;
use vocab::{Protocol, Transport};

/// The names the self-signed certificate is always valid for. IP strings become IP SANs, so
/// clients can connect to `https://127.0.0.1:PORT` and verify without SNI; the addresses the
/// listeners bind (an emulated network's server address, say) are added.
const SELF_SIGNED_NAMES: [&str; 3] = ["localhost", "127.0.0.1", "::1"];

/// The certificate chain and key every TLS listener serves.
#[derive(Debug)]
pub(crate) struct Certificate {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    pem: String,
}

impl Certificate {
    /// Generates or loads the certificate; a generated one is also valid for `listen_ips`.
    pub(crate) fn load(
        source: &TlsSource,
        listen_ips: &[std::net::IpAddr],
    ) -> Result<Certificate, ServerError> {
        match source {
            TlsSource::SelfSigned => Self::self_signed(listen_ips),
            TlsSource::Files { cert, key } => Self::from_files(cert, key),
        }
    }

    fn self_signed(listen_ips: &[std::net::IpAddr]) -> Result<Certificate, ServerError> {
        let mut names = SELF_SIGNED_NAMES.map(String::from).to_vec();
        for ip in listen_ips {
            let name = ip.to_string();
            if !ip.is_unspecified() && !names.contains(&name) {
                names.push(name);
            }
        }
        let certified = rcgen::generate_simple_self_signed(names)
            .map_err(|source| ServerError::SelfSigned { source })?;
        let key = PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
        Ok(Certificate {
            chain: vec![certified.cert.der().clone()],
            key: key.into(),
            pem: certified.cert.pem(),
        })
    }

    fn from_files(cert: &Path, key: &Path) -> Result<Certificate, ServerError> {
        let chain = CertificateDer::pem_file_iter(cert)
            .and_then(|iter| iter.collect::<Result<Vec<_>, _>>())
            .map_err(pem_error("certificate", cert))?;
        if chain.is_empty() {
            return Err(ServerError::NoCertificate {
                path: cert.to_owned(),
            });
        }
        let key = PrivateKeyDer::from_pem_file(key).map_err(pem_error("private key", key))?;
        let pem = chain
            .iter()
            .map(|der| der_to_pem(der))
            .collect::<Vec<_>>()
            .concat();
        Ok(Certificate { chain, key, pem })
    }

    /// The served chain, PEM (leaf first).
    pub(crate) fn pem(&self) -> &str {
        &self.pem
    }

    /// The leaf certificate.
    pub(crate) fn leaf(&self) -> &CertificateDer<'static> {
        &self.chain[0]
    }

    /// The rustls configuration for a TLS listener: this certificate, ALPN exactly the listener's
    /// protocol, TLS 1.3 only over QUIC.
    pub(crate) fn server_config(
        &self,
        protocol: Protocol,
    ) -> Result<Arc<rustls::ServerConfig>, ServerError> {
        let tls_error = |source| ServerError::Tls { source };
        let versions: &[&rustls::SupportedProtocolVersion] = match protocol.transport() {
            Transport::Tcp => rustls::DEFAULT_VERSIONS,
            Transport::Udp => &[&rustls::version::TLS13],
        };
        let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(default_provider()))
            .with_protocol_versions(versions)
            .map_err(tls_error)?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .map_err(tls_error)?;
        config.alpn_protocols = protocol
            .alpn()
            .map(|p| vec![p.to_vec()])
            .unwrap_or_default();
        Ok(Arc::new(config))
    }
}

fn pem_error(what: &'static str, path: &Path) -> impl FnOnce(PemError) -> ServerError {
    let path = path.to_owned();
    move |source| ServerError::Pem { what, path, source }
}

/// PEM-encodes one DER certificate (base64, 64 columns).
fn der_to_pem(der: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut b64 = String::with_capacity(der.len().div_ceil(3) * 4);
    for chunk in der.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                b64.push(char::from(ALPHABET[(n >> (18 - 6 * i)) as usize & 63]));
            } else {
                b64.push('=');
            }
        }
    }
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn self_signed_pem_round_trips_and_configs_pin_alpn() {
        use rustls::client::danger::ServerCertVerifier as _;
        let cert =
            Certificate::load(&TlsSource::SelfSigned, &["198.18.1.2".parse().unwrap()]).unwrap();
        assert_eq!(der_to_pem(cert.leaf()), cert.pem());
        let parsed = CertificateDer::from_pem_slice(cert.pem().as_bytes()).unwrap();
        assert_eq!(&parsed, cert.leaf());
        let h2 = cert.server_config(Protocol::H2).unwrap();
        assert_eq!(h2.alpn_protocols, vec![b"h2".to_vec()]);
        let h1 = cert.server_config(Protocol::H1Tls).unwrap();
        assert_eq!(h1.alpn_protocols, vec![b"http/1.1".to_vec()]);
        // Valid for the listen address it was given (an emulated network's server), and not for
        // others.
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert.leaf().clone()).unwrap();
        let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(roots),
            Arc::new(default_provider()),
        )
        .build()
        .unwrap();
        let verify = |ip: &str| {
            let name = rustls_pki_types::ServerName::try_from(ip.to_owned()).unwrap();
            verifier.verify_server_cert(
                cert.leaf(),
                &[],
                &name,
                &[],
                rustls_pki_types::UnixTime::now(),
            )
        };
        assert!(verify("198.18.1.2").is_ok());
        assert!(verify("127.0.0.1").is_ok());
        assert!(verify("198.18.1.3").is_err());
    }

    #[test]
    fn missing_file_names_the_path() {
        let source = TlsSource::Files {
            cert: "/nonexistent/cert.pem".into(),
            key: "/nonexistent/key.pem".into(),
        };
        let msg = Certificate::load(&source, &[]).unwrap_err().to_string();
        assert_eq!(msg, "cannot load certificate from /nonexistent/cert.pem");
    }
}
