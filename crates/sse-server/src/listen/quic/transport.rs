//! The HTTP/3 listener's QUIC endpoint: the certificate every TLS listener serves, TLS 1.3 with
//! ALPN `h3` only, and the transport parameters the server's settings map to (each field of
//! [`ServerConfig`] says what it means on HTTP/3).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use quinn::crypto::rustls::QuicServerConfig;
use quinn::{Endpoint, IdleTimeout, TransportConfig, VarInt};

use crate::config::{ServerConfig, QUIC_DEFAULT_SEND_WINDOW, QUIC_RECEIVE_WINDOW};
use crate::error::ServerError;
use crate::listen::Certificate;
use vocab::Protocol;

/// Unidirectional streams a client may open: HTTP/3 needs three (control, QPACK encoder and
/// decoder, RFC 9114 §6.2 and RFC 9204 §4.2); a few more for the GREASE streams browsers open.
const MAX_UNI_STREAMS: u32 = 16;
/// Largest request head (HTTP/3 `SETTINGS_MAX_FIELD_SECTION_SIZE`), bytes: as hyper's HTTP/2
/// server's `max_header_list_size` default.
pub(crate) const MAX_FIELD_SECTION_SIZE: u64 = 16 * 1024;

/// What each HTTP/3 connection is served with, besides the shared [`crate::listen::Server`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct QuicSettings {
    /// The head of each request stream, and the first request, must arrive within this.
    pub(crate) header_read_timeout: Duration,
    /// A connection with no request in flight for this long gets GOAWAY.
    pub(crate) idle_timeout: Duration,
    /// `goaway_every`: how long after its first packet a connection gets a GOAWAY.
    pub(crate) goaway_every: Option<Duration>,
    /// What one connection's subscribers may hold queued, all streams together.
    pub(crate) connection_queue_bytes: usize,
}

impl QuicSettings {
    pub(crate) fn new(config: &ServerConfig) -> QuicSettings {
        QuicSettings {
            header_read_timeout: config.header_read_timeout,
            idle_timeout: config.http2_idle_timeout,
            goaway_every: config.faults.goaway_every,
            connection_queue_bytes: config.connection_queue_bytes,
        }
    }
}

/// The UDP socket of `protocol`'s listener on `addr`, with quinn's endpoint on it.
pub(crate) fn bind(
    addr: SocketAddr,
    protocol: Protocol,
    certificate: &Certificate,
    config: &ServerConfig,
) -> Result<Endpoint, ServerError> {
    let tls = certificate.server_config(protocol)?;
    let crypto =
        QuicServerConfig::try_from(tls).map_err(|source| ServerError::QuicTls { source })?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    server.transport_config(Arc::new(transport(config)));
    Endpoint::server(server, addr).map_err(|source| ServerError::Bind {
        protocol,
        addr,
        source,
    })
}

/// The transport parameters and limits of every connection.
fn transport(config: &ServerConfig) -> TransportConfig {
    let mut t = TransportConfig::default();
    t.max_concurrent_bidi_streams(VarInt::from_u32(config.http3_max_streams))
        .max_concurrent_uni_streams(VarInt::from_u32(MAX_UNI_STREAMS))
        .stream_receive_window(VarInt::from_u32(QUIC_RECEIVE_WINDOW))
        .receive_window(VarInt::from_u32(QUIC_RECEIVE_WINDOW))
        .send_window(
            config
                .socket_send_buffer_bytes
                .map_or(QUIC_DEFAULT_SEND_WINDOW, |bytes| bytes as u64),
        )
        .keep_alive_interval(config.http2_keepalive_interval)
        .max_idle_timeout(Some(idle_timeout(config)))
        // No HTTP/3 datagrams are served: none are buffered.
        .datagram_receive_buffer_size(None);
    t
}

/// QUIC's idle timeout: a peer from which nothing arrives for this long is dropped. With PINGs,
/// their interval plus the time an acknowledgement may take; without, the idle timeout.
fn idle_timeout(config: &ServerConfig) -> IdleTimeout {
    let idle = match config.http2_keepalive_interval {
        Some(interval) => interval + config.http2_keepalive_timeout,
        None => config.http2_idle_timeout,
    };
    // QUIC carries milliseconds in a varint (2^62): a day is far within it.
    let idle = idle.min(Duration::from_secs(24 * 60 * 60));
    IdleTimeout::try_from(idle).unwrap_or(IdleTimeout::from(VarInt::MAX))
}
