//! The ways starting a server can fail. Messages are lowercase, name the offending value and leave
//! the cause to `source()`.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

use vocab::Protocol;

/// Why [`crate::start`] failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// A configuration value the server cannot honour.
    #[error("invalid {key} {value}: {reason}")]
    InvalidConfig {
        key: &'static str,
        value: String,
        reason: String,
    },
    /// Binding a listener failed.
    #[error("cannot listen on {addr} for {protocol}: {}", bind_reason(source))]
    Bind {
        protocol: Protocol,
        addr: SocketAddr,
        source: io::Error,
    },
    /// A certificate or key file could not be read or holds no usable PEM item.
    #[error("cannot load {what} from {}", path.display())]
    Pem {
        what: &'static str,
        path: PathBuf,
        source: rustls_pki_types::pem::Error,
    },
    /// The certificate file holds no certificate.
    #[error("no certificate in {}", path.display())]
    NoCertificate { path: PathBuf },
    /// Generating the self-signed certificate failed.
    #[error("cannot generate a self-signed certificate")]
    SelfSigned { source: rcgen::Error },
    /// rustls rejected the certificate and key (for example a key that does not match).
    #[error("invalid tls certificate or key")]
    Tls { source: rustls::Error },
    /// rustls's configuration has no cipher suite QUIC's Initial packets can use.
    #[error("no tls cipher suite for quic's initial packets")]
    QuicTls {
        source: quinn::crypto::rustls::NoInitialCipherSuite,
    },
    /// The runtime or thread of a [`crate::DedicatedServer`] could not be created.
    #[error("cannot start the server's runtime")]
    Runtime(#[source] io::Error),
}

impl ServerError {
    /// The configuration value `key` is `value`, which the server cannot honour for `reason`.
    pub(crate) fn invalid(
        key: &'static str,
        value: impl ToString,
        reason: impl Into<String>,
    ) -> ServerError {
        ServerError::InvalidConfig {
            key,
            value: value.to_string(),
            reason: reason.into(),
        }
    }
}

fn bind_reason(e: &io::Error) -> &'static str {
    match e.kind() {
        io::ErrorKind::AddrInUse => "address in use",
        io::ErrorKind::AddrNotAvailable => "address not available on this host",
        io::ErrorKind::PermissionDenied => "permission denied",
        _ => "bind failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_message_names_address_and_protocol() {
        let e = ServerError::Bind {
            protocol: Protocol::H2,
            addr: "127.0.0.1:8443".parse().unwrap(),
            source: io::Error::from(io::ErrorKind::AddrInUse),
        };
        assert_eq!(
            e.to_string(),
            "cannot listen on 127.0.0.1:8443 for h2: address in use"
        );
    }
}
