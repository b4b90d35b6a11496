//! Opening one connection: TCP (with `TCP_NODELAY`), then TLS with the arm's single ALPN
//! protocol, then the check that the negotiated protocol is the one the arm pins.
//!
//! Source addresses: one source address reaches about 28,000 connections to one target before
//! the ephemeral ports run out (and closed connections keep theirs in TIME_WAIT for a minute). To
//! an IPv4 loopback target, connections therefore rotate over [`LOOPBACK_SOURCES`] source
//! addresses (127.0.0.1 to 127.0.0.16, all local on Linux), so that descriptors, not ports, are
//! what limits a run. IPv6 has one loopback address: there the kernel picks the source.
//!
//! A benchmark must never fall back silently: a server that negotiates anything else fails the run.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use tokio::net::{TcpSocket, TcpStream};
use tokio_util::either::Either;

use crate::error::LoadError;
use crate::target::Target;
use vocab::Protocol;

/// A connected transport, plain or TLS.
pub(crate) type Io = Either<TcpStream, tokio_rustls::client::TlsStream<TcpStream>>;

/// Connects and returns the transport and the time it took (TCP + TLS, the `connect` metric).
pub(crate) async fn connect(
    target: &Target,
    timeout: Duration,
) -> Result<(Io, Duration), LoadError> {
    let start = Instant::now();
    let addr = target.addr;
    let tcp = tokio::time::timeout(timeout, tcp_connect(addr))
        .await
        .map_err(|_| LoadError::Timeout {
            what: "TCP connect",
            addr,
            after: timeout,
        })?
        .map_err(|source| LoadError::Connect { addr, source })?;
    tcp.set_nodelay(true)
        .map_err(|source| LoadError::Connect { addr, source })?;
    let Some(tls) = &target.tls else {
        return Ok((Either::Left(tcp), start.elapsed()));
    };
    let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
    let left = timeout.saturating_sub(start.elapsed());
    let stream = tokio::time::timeout(left, connector.connect(tls.server_name.clone(), tcp))
        .await
        .map_err(|_| LoadError::Timeout {
            what: "TLS handshake",
            addr,
            after: timeout,
        })?
        .map_err(|source| LoadError::Tls { addr, source })?;
    check_alpn(target.arm, stream.get_ref().1.alpn_protocol())?;
    Ok((Either::Right(stream), start.elapsed()))
}

/// Loopback source addresses an IPv4 loopback target's connections rotate over.
pub const LOOPBACK_SOURCES: u32 = 16;

/// The source address of the next connection to `addr`, if the client picks one.
pub(crate) fn source_for(addr: SocketAddr) -> Option<SocketAddr> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    match addr.ip() {
        IpAddr::V4(ip) if ip.is_loopback() => {
            let n = NEXT.fetch_add(1, Ordering::Relaxed) % LOOPBACK_SOURCES;
            let source = Ipv4Addr::new(127, 0, 0, 1 + n as u8);
            Some(SocketAddr::new(IpAddr::V4(source), 0))
        }
        _ => None,
    }
}

async fn tcp_connect(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let Some(source) = source_for(addr) else {
        return TcpStream::connect(addr).await;
    };
    let socket = TcpSocket::new_v4()?;
    socket.bind(source)?;
    socket.connect(addr).await
}

/// A TLS arm must negotiate its one ALPN protocol ([`Protocol::alpn`]), or nothing on the
/// HTTP/1.1 arms: TLS without ALPN means HTTP/1.1, so a server that ignores ALPN still speaks
/// their protocol.
pub(crate) fn check_alpn(arm: Protocol, negotiated: Option<&[u8]>) -> Result<(), LoadError> {
    let expected = arm.alpn();
    let ok = match negotiated {
        Some(protocol) => Some(protocol) == expected,
        None => arm.alpn_id() == "http/1.1",
    };
    if ok {
        return Ok(());
    }
    Err(LoadError::AlpnMismatch {
        arm,
        expected: expected
            .and_then(|p| std::str::from_utf8(p).ok())
            .unwrap_or("none"),
        negotiated: negotiated.map_or_else(
            || "no ALPN".to_owned(),
            |p| format!("{:?}", String::from_utf8_lossy(p)),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alpn_rules() {
        assert!(check_alpn(Protocol::H2, Some(b"h2")).is_ok());
        assert!(check_alpn(Protocol::H2, None).is_err());
        assert!(check_alpn(Protocol::H2, Some(b"http/1.1")).is_err());
        assert!(check_alpn(Protocol::H1Tls, Some(b"http/1.1")).is_ok());
        assert!(check_alpn(Protocol::H1Tls, None).is_ok());
        assert!(check_alpn(Protocol::H1Tls, Some(b"h2")).is_err());
        assert!(check_alpn(Protocol::H3, Some(b"h3")).is_ok());
        assert!(check_alpn(Protocol::H3, None).is_err());
        assert!(check_alpn(Protocol::H3, Some(b"h2")).is_err());
        for arm in Protocol::ALL.into_iter().filter(|a| a.is_tls()) {
            assert!(check_alpn(arm, arm.alpn()).is_ok(), "{arm}");
            for other in Protocol::ALL.into_iter().filter_map(|o| o.alpn()) {
                let result = check_alpn(arm, Some(other));
                assert_eq!(result.is_ok(), arm.alpn() == Some(other), "{arm}");
            }
        }
        let err = check_alpn(Protocol::H2, Some(b"http/1.1")).expect_err("a mismatch");
        assert_eq!(
            err.to_string(),
            "protocol mismatch on h2: expected ALPN \"h2\", the server negotiated \"http/1.1\""
        );
    }

    #[test]
    fn loopback_connections_rotate_over_sources() {
        let target: SocketAddr = "127.0.0.1:80".parse().unwrap();
        let sources: std::collections::BTreeSet<IpAddr> = (0..LOOPBACK_SOURCES * 2)
            .filter_map(|_| source_for(target))
            .map(|s| s.ip())
            .collect();
        assert_eq!(sources.len(), LOOPBACK_SOURCES as usize);
        assert!(sources.iter().all(|ip| ip.is_loopback()));
        assert_eq!(source_for("[::1]:80".parse().unwrap()), None);
    }
}
