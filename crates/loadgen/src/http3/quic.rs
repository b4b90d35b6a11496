//! Opening one QUIC connection as a browser does: its own UDP socket (each connection of a
//! browser has one; a loopback target's connections rotate over the source addresses TCP uses),
//! the browser's transport parameters ([`H3Rules`]), TLS 1.3 with ALPN `h3` only, and the check
//! that `h3` was negotiated. The time it takes is the `connect` metric on QUIC: from the first
//! Initial packet to the handshake complete with 1-RTT keys (`docs/measurement.md`, "What a
//! number means").

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use quinn::crypto::rustls::{HandshakeData, QuicClientConfig};

use super::rules::H3Rules;
use crate::connect::{check_alpn, source_for};
use crate::error::LoadError;
use crate::target::Target;

/// Connects to `target` over QUIC and returns the connection and the time the handshake took.
pub(crate) async fn connect(
    target: &Target,
    rules: &H3Rules,
    timeout: Duration,
) -> Result<(quinn::Connection, Duration), LoadError> {
    let addr = target.addr;
    let tls = target
        .tls
        .as_ref()
        .ok_or_else(|| LoadError::InvalidTarget {
            url: target.origin(),
            reason: "HTTP/3 needs TLS".into(),
        })?;
    let crypto = QuicClientConfig::try_from(tls.config.clone())
        .map_err(|e| LoadError::Trust(format!("the TLS configuration cannot run QUIC: {e}")))?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    config.transport_config(Arc::new(rules.transport()));
    let endpoint = endpoint(addr, rules).map_err(|source| LoadError::Connect { addr, source })?;
    let server_name = tls.server_name.to_str();
    let start = Instant::now();
    let connecting = endpoint
        .connect_with(config, addr, &server_name)
        .map_err(|e| LoadError::InvalidTarget {
            url: target.origin(),
            reason: format!("cannot start a QUIC connection: {e}"),
        })?;
    let connection = tokio::time::timeout(timeout, connecting)
        .await
        .map_err(|_| LoadError::Timeout {
            what: "QUIC handshake (no answer over UDP)",
            addr,
            after: timeout,
        })?
        .map_err(|source| LoadError::Quic { addr, source })?;
    let elapsed = start.elapsed();
    let negotiated = connection
        .handshake_data()
        .and_then(|data| data.downcast::<HandshakeData>().ok())
        .and_then(|data| data.protocol);
    if let Err(e) = check_alpn(target.arm, negotiated.as_deref()) {
        connection.close(quinn::VarInt::from_u32(H3_NO_ERROR), b"wrong ALPN");
        return Err(e);
    }
    Ok((connection, elapsed))
}

/// HTTP/3's `H3_NO_ERROR` (RFC 9114, 8.1), the code a browser closes an unused connection with.
pub(crate) const H3_NO_ERROR: u32 = 0x100;

/// An endpoint of its own for one connection: a UDP socket bound to the next loopback source (or
/// any address), with the browser's connection ID length and largest UDP payload.
fn endpoint(addr: SocketAddr, rules: &H3Rules) -> std::io::Result<quinn::Endpoint> {
    let bind = source_for(addr).unwrap_or(match addr.ip() {
        IpAddr::V4(_) => SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0),
        IpAddr::V6(_) => SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), 0),
    });
    let socket = std::net::UdpSocket::bind(bind)?;
    let mut config = quinn::EndpointConfig::default();
    if let Some(size) = rules.max_udp_payload_size {
        config
            .max_udp_payload_size(size)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
    }
    let len = rules.connection_id_len;
    config.cid_generator(move || Box::new(CidGenerator::new(len)));
    quinn::Endpoint::new(config, None, socket, Arc::new(quinn::TokioRuntime))
}

/// Connection IDs of a fixed length (zero-length as Chromium's): distinct per endpoint, which
/// carries one connection, so a counter mixed with the clock suffices.
#[derive(Debug)]
struct CidGenerator {
    len: usize,
    next: u64,
}

impl CidGenerator {
    fn new(len: usize) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        CidGenerator {
            len,
            next: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        }
    }
}

impl quinn::ConnectionIdGenerator for CidGenerator {
    fn generate_cid(&mut self) -> quinn::ConnectionId {
        self.next = self.next.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let bytes = self.next.to_be_bytes();
        quinn::ConnectionId::new(&bytes[..self.len.min(bytes.len())])
    }

    fn cid_len(&self) -> usize {
        self.len
    }

    fn cid_lifetime(&self) -> Option<Duration> {
        None
    }
}
