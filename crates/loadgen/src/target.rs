//! Where a run sends its requests: an origin (scheme, host, port), the arm that pins the protocol,
//! and how TLS is trusted.
//!
//! Where a target may be is the caller's [`Reach`]: loopback (127.0.0.0/8, ::1) by default; the
//! benchmarking range 198.18.0.0/15 inside network namespaces the run itself created (an emulated
//! network); anywhere only when the user asked for it (`--allow-remote`). A target outside its
//! reach is refused here, before any packet leaves.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, SignatureScheme};

use crate::error::LoadError;
use vocab::Protocol;

/// How the client decides to trust the server's certificate.
#[derive(Debug, Clone)]
pub enum Trust {
    /// Trust exactly these certificates as roots (the embedded server's self-signed one, or a
    /// `--cacert` file).
    Certificates(Vec<CertificateDer<'static>>),
    /// Accept any certificate (`--insecure`). Handshake signatures are still checked.
    Insecure,
}

/// Which addresses a target may resolve to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Reach {
    /// 127.0.0.0/8 and ::1.
    #[default]
    Loopback,
    /// Loopback, and the benchmarking range 198.18.0.0/15 (RFC 2544): the server's address in a
    /// network namespace the run created to emulate a network.
    EmulatedNetwork,
    /// Any address: the user asked for a remote target (`--allow-remote`).
    Anywhere,
}

impl Reach {
    fn allows(self, ip: IpAddr) -> bool {
        match self {
            Reach::Loopback => is_loopback(ip),
            Reach::EmulatedNetwork => is_loopback(ip) || is_benchmarking(ip),
            Reach::Anywhere => true,
        }
    }
}

/// One origin, resolved and ready to connect to.
#[derive(Debug, Clone)]
pub struct Target {
    pub arm: Protocol,
    /// The host as written in the URL (no brackets).
    pub host: String,
    pub addr: SocketAddr,
    /// `host:port` for the Host header / `:authority`.
    pub authority: String,
    /// On the WebSocket arms, the path and query of a URL that named one (`ws://host/chat?room=a`):
    /// the sockets' path, in place of the point's `websocket_path`. `None` for `/` or no path.
    pub websocket_path: Option<String>,
    pub(crate) tls: Option<TlsTarget>,
}

#[derive(Debug, Clone)]
pub(crate) struct TlsTarget {
    pub config: Arc<ClientConfig>,
    pub server_name: ServerName<'static>,
}

impl Target {
    /// Builds a target from an origin URL such as `https://127.0.0.1:8443`; loopback only. A
    /// path is ignored, except on the WebSocket arms, whose URL may also be `ws://` or `wss://`
    /// and name the sockets' path and query.
    pub fn new(arm: Protocol, url: &str, trust: &Trust) -> Result<Target, LoadError> {
        Target::within(arm, url, trust, Reach::Loopback)
    }

    /// [`Target::new`], for an address within `reach`.
    pub fn within(
        arm: Protocol,
        url: &str,
        trust: &Trust,
        reach: Reach,
    ) -> Result<Target, LoadError> {
        let invalid = |reason: &str| LoadError::InvalidTarget {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let uri: http::Uri = url.parse().map_err(|_| invalid("not a URL"))?;
        let scheme = uri.scheme_str().ok_or_else(|| invalid("no scheme"))?;
        if !arm.takes_url(url) {
            return Err(invalid(&format!(
                "protocol {arm} needs an {}:// URL, not {scheme}://",
                arm.scheme()
            )));
        }
        let websocket_path = uri
            .path_and_query()
            .map(|p| p.as_str())
            .filter(|p| arm.is_websocket() && *p != "/" && !p.is_empty())
            .map(str::to_owned);
        let host = uri
            .host()
            .ok_or_else(|| invalid("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri
            .port_u16()
            .unwrap_or(if arm.is_tls() { 443 } else { 80 });
        let addr = (host.as_str(), port)
            .to_socket_addrs()
            .map_err(|e| invalid(&format!("cannot resolve host: {e}")))?
            .next()
            .ok_or_else(|| invalid("host resolves to no address"))?;
        if !reach.allows(addr.ip()) {
            return Err(LoadError::NotLoopback { host });
        }
        let authority = match host.parse::<IpAddr>() {
            Ok(IpAddr::V6(_)) => format!("[{host}]:{port}"),
            _ => format!("{host}:{port}"),
        };
        let tls = if arm.is_tls() {
            let server_name = ServerName::try_from(host.clone())
                .map_err(|_| invalid("host is not a valid TLS server name"))?;
            Some(TlsTarget {
                config: client_config(arm, trust)?,
                server_name,
            })
        } else {
            None
        };
        Ok(Target {
            arm,
            host,
            addr,
            authority,
            websocket_path,
            tls,
        })
    }

    /// The origin as a URL, e.g. `https://127.0.0.1:8443`.
    pub fn origin(&self) -> String {
        format!("{}://{}", self.arm.scheme(), self.authority)
    }
}

/// 198.18.0.0/15, the benchmarking range (RFC 2544).
fn is_benchmarking(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, _, _] = v4.octets();
            a == 198 && (b == 18 || b == 19)
        }
        IpAddr::V6(_) => false,
    }
}

fn is_loopback(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_loopback(),
        IpAddr::V6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn client_config(arm: Protocol, trust: &Trust) -> Result<Arc<ClientConfig>, LoadError> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| LoadError::Trust(e.to_string()))?;
    let mut config = match trust {
        Trust::Certificates(certs) => {
            let mut roots = rustls::RootCertStore::empty();
            for cert in certs {
                roots
                    .add(cert.clone())
                    .map_err(|e| LoadError::Trust(format!("unusable CA certificate: {e}")))?;
            }
            if roots.is_empty() {
                return Err(LoadError::Trust(
                    "no CA certificate given: pass --cacert PATH or --insecure".into(),
                ));
            }
            let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
                Arc::new(roots),
                provider(),
            )
            .build()
            .map_err(|e| LoadError::Trust(format!("unusable CA certificate: {e}")))?;
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(GivenCerts {
                    webpki,
                    given: certs.clone(),
                }))
                .with_no_client_auth()
        }
        Trust::Insecure => builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AcceptAnyCert(provider())))
            .with_no_client_auth(),
    };
    config.alpn_protocols = arm.alpn().map(|p| vec![p.to_vec()]).unwrap_or_default();
    Ok(Arc::new(config))
}

/// `--cacert`: the usual chain verification against the given certificates as roots; and a
/// server certificate that *is* one of the given certificates is trusted as the end entity it
/// is, its name still checked. That is how a self-signed certificate made the usual way
/// (`openssl req -x509`, which marks it `CA:TRUE`) works once trusted in curl or a browser; the
/// chain verifier alone refuses it (`CaUsedAsEndEntity`).
#[derive(Debug)]
struct GivenCerts {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    given: Vec<CertificateDer<'static>>,
}

impl ServerCertVerifier for GivenCerts {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        ) {
            Ok(verified) => Ok(verified),
            Err(e) if self.given.iter().any(|c| c.as_ref() == end_entity.as_ref()) => {
                let parsed =
                    rustls::server::ParsedCertificate::try_from(end_entity).map_err(|_| e)?;
                rustls::client::verify_server_name(&parsed, server_name)?;
                Ok(ServerCertVerified::assertion())
            }
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.webpki.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.webpki.supported_verify_schemes()
    }
}

/// `--insecure`: any certificate is accepted, but the handshake signature is still verified so
/// the TLS work measured is the real work.
#[derive(Debug)]
struct AcceptAnyCert(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCert {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_scheme_mismatch_and_non_loopback() {
        let trust = Trust::Insecure;
        assert!(matches!(
            Target::new(Protocol::H2, "http://127.0.0.1:1", &trust),
            Err(LoadError::InvalidTarget { .. })
        ));
        assert!(matches!(
            Target::new(Protocol::H1, "http://10.1.2.3:80", &trust),
            Err(LoadError::NotLoopback { .. })
        ));
        assert!(matches!(
            Target::new(Protocol::H1, "http://198.18.1.2:80", &trust),
            Err(LoadError::NotLoopback { .. })
        ));
        let emulated = Reach::EmulatedNetwork;
        assert!(Target::within(Protocol::H1, "http://198.18.1.2:80", &trust, emulated).is_ok());
        assert!(Target::within(Protocol::H1, "http://198.20.0.1:80", &trust, emulated).is_err());
        assert!(
            Target::within(Protocol::H1, "http://10.1.2.3:80", &trust, Reach::Anywhere).is_ok()
        );
        let t = Target::new(Protocol::H1, "http://[::1]:8080/x", &trust).unwrap();
        assert_eq!(t.authority, "[::1]:8080");
        assert_eq!(t.origin(), "http://[::1]:8080");
        assert_eq!(t.websocket_path, None, "not a WebSocket arm");
        let ws = Target::new(Protocol::Ws, "ws://127.0.0.1:9/chat?room=a", &trust).unwrap();
        assert_eq!(ws.websocket_path.as_deref(), Some("/chat?room=a"));
        assert_eq!(ws.origin(), "http://127.0.0.1:9");
        let ws = Target::new(Protocol::Ws, "http://127.0.0.1:9", &trust).unwrap();
        assert_eq!(ws.websocket_path, None);
        assert!(Target::new(Protocol::Ws, "wss://127.0.0.1:9", &trust).is_err());
    }
}
