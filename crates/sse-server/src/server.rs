//! Starting and stopping a server: bind every listener first (so a port in use fails `start`
//! before anything runs), then spawn one accept loop per listener on a task tracker.
//!
//! Shutdown is graceful and bounded: event streams end cleanly, listeners stop accepting,
//! connections finish their current responses (HTTP/2: GOAWAY), and whatever is still open after
//! [`SHUTDOWN_GRACE`] is dropped. Dropping a [`RunningServer`] without calling
//! [`RunningServer::shutdown`] stops it at once, without the wait.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use rustls_pki_types::CertificateDer;
use tokio::net::{TcpListener, TcpSocket};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::App;
use crate::app::BodyLimits;
use crate::config::ServerConfig;
use crate::config::SHUTDOWN_GRACE;
use crate::error::ServerError;
use crate::faults::Faults;
use crate::hub::{Hub, HubLimits};
use crate::listen::{
    bind_quic, Certificate, Limits, Listener, QuicListener, QuicSettings, Registry, Server,
};
use crate::stats::{ListenerCounters, Stats};
use vocab::{Protocol, Transport};

/// How long it then waits for the dropped connections' tasks to end.
const FORCE_WAIT: Duration = Duration::from_secs(1);
/// The listen backlog, as `TcpListener::bind` sets it.
const LISTEN_BACKLOG: u32 = 1024;

/// A bound listener's socket: TCP (with the TLS configuration of the TLS arms), or QUIC's
/// endpoint on UDP.
enum Bound {
    Tcp(TcpListener, Option<Arc<rustls::ServerConfig>>),
    Quic(quinn::Endpoint),
}

/// A server whose listeners are accepting. See the module documentation for shutdown.
#[derive(Debug)]
pub struct RunningServer {
    listeners: Vec<(Protocol, SocketAddr)>,
    certificate: Certificate,
    app: Arc<App>,
    force: CancellationToken,
    tracker: TaskTracker,
}

/// Binds every configured listener and starts serving. Must run inside a tokio runtime.
pub async fn start(config: ServerConfig) -> Result<RunningServer, ServerError> {
    config.validate()?;
    let listen_ips: Vec<IpAddr> = config.listeners.iter().map(|(_, a)| a.ip()).collect();
    let certificate = Certificate::load(&config.tls, &listen_ips)?;
    let mut bound = Vec::with_capacity(config.listeners.len());
    for &(protocol, addr) in &config.listeners {
        let bind_error = |source| ServerError::Bind {
            protocol,
            addr,
            source,
        };
        let (socket, local) = match protocol.transport() {
            Transport::Tcp => {
                let socket = bind(addr, config.socket_send_buffer_bytes)
                    .await
                    .map_err(bind_error)?;
                let local = socket.local_addr().map_err(bind_error)?;
                let tls = if protocol.is_tls() {
                    Some(certificate.server_config(protocol)?)
                } else {
                    None
                };
                (Bound::Tcp(socket, tls), local)
            }
            Transport::Udp => {
                let endpoint = bind_quic(addr, protocol, &certificate, &config)?;
                let local = endpoint.local_addr().map_err(bind_error)?;
                (Bound::Quic(endpoint), local)
            }
        };
        let counters = Arc::new(ListenerCounters::new(protocol, local));
        bound.push((socket, counters));
    }

    let app = Arc::new(App {
        hub: Arc::new(Hub::new(HubLimits {
            ring_capacity: config.replay_ring,
            queue_capacity: config.subscriber_queue,
            max_channels: config.max_channels,
            max_channels_per_address: config.max_channels_per_address,
            replay_budget: config.replay_budget_bytes,
            max_replay_bytes: config.max_replay_bytes,
            max_concurrent_replays: config.max_concurrent_replays,
        })),
        events: config.events,
        answers: config.answers,
        answers_started: AtomicU64::new(0),
        body: BodyLimits {
            max_bytes: config.max_body_bytes,
            read_timeout: config.body_read_timeout,
            total_timeout: config.body_total_timeout,
        },
        faults: Faults::new(config.faults.clone()),
        websocket_idle_timeout: config.websocket_idle_timeout,
        listeners: bound.iter().map(|(_, c)| Arc::clone(c)).collect(),
        shutdown: CancellationToken::new(),
    });
    let tracker = TaskTracker::new();
    tracker
        .spawn(Arc::clone(&app.hub).sweep_idle(config.channel_idle_timeout, app.shutdown.clone()));
    let force = CancellationToken::new();
    let server = Arc::new(Server::new(
        &config,
        Arc::clone(&app),
        force.clone(),
        tracker.clone(),
    ));
    let limits = Limits {
        header_read_timeout: config.header_read_timeout,
        write_stall_timeout: config.write_stall_timeout,
        registry: Arc::new(Registry::new(
            config.max_connections,
            config.connection_share_per_address,
        )),
    };
    let listeners = app
        .listeners
        .iter()
        .map(|c| (c.protocol, c.address))
        .collect();
    let quic = QuicSettings::new(&config);
    for (socket, counters) in bound {
        let server = Arc::clone(&server);
        let limits = limits.clone();
        match socket {
            Bound::Tcp(socket, tls) => {
                let listener = Listener {
                    socket,
                    counters,
                    tls,
                    server,
                    limits,
                };
                tracker.spawn(listener.run(tracker.clone()));
            }
            Bound::Quic(endpoint) => {
                let listener = QuicListener {
                    endpoint,
                    counters,
                    server,
                    limits,
                    settings: quic,
                };
                tracker.spawn(listener.run(tracker.clone()));
            }
        }
    }
    Ok(RunningServer {
        listeners,
        certificate,
        app,
        force,
        tracker,
    })
}

/// A listening socket on `addr`; with `send_buffer`, its `SO_SNDBUF`, which the sockets it
/// accepts inherit (and with it the end of the kernel's autotuning for them).
async fn bind(addr: SocketAddr, send_buffer: Option<usize>) -> io::Result<TcpListener> {
    let Some(size) = send_buffer else {
        return TcpListener::bind(addr).await;
    };
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does.
    socket.set_reuseaddr(true)?;
    socket.set_send_buffer_size(u32::try_from(size).unwrap_or(u32::MAX))?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

impl RunningServer {
    /// The bound address of a protocol's listener.
    pub fn addr(&self, protocol: Protocol) -> Option<SocketAddr> {
        self.listeners
            .iter()
            .find(|(p, _)| *p == protocol)
            .map(|&(_, addr)| addr)
    }

    /// The base URL of a protocol's listener, such as `https://127.0.0.1:43211`. It names the IP
    /// (covered by the self-signed certificate's IP SANs); an unspecified address (`0.0.0.0`,
    /// `::`) is replaced by the loopback address.
    pub fn url(&self, protocol: Protocol) -> Option<String> {
        let mut addr = self.addr(protocol)?;
        if addr.ip().is_unspecified() {
            addr.set_ip(match addr.ip() {
                IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
                IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            });
        }
        Some(format!("{}://{addr}", protocol.scheme()))
    }

    /// Every listener with its bound address, in configuration order.
    pub fn listeners(&self) -> Vec<(Protocol, SocketAddr)> {
        self.listeners.clone()
    }

    /// The served certificate chain, PEM.
    pub fn cert_pem(&self) -> &str {
        self.certificate.pem()
    }

    /// The served leaf certificate, DER: what a client adds to its roots.
    pub fn cert_der(&self) -> CertificateDer<'static> {
        self.certificate.leaf().clone()
    }

    /// A snapshot of the counters, the same data as `GET /stats`.
    pub fn stats(&self) -> Stats {
        self.app.stats()
    }

    /// Stops gracefully: event streams end cleanly, listeners close, connections finish; after
    /// [`SHUTDOWN_GRACE`] whatever is left is dropped.
    pub async fn shutdown(&self) {
        self.app.shutdown.cancel();
        self.tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "{} tasks still running after {SHUTDOWN_GRACE:?}, dropping their connections",
                self.tracker.len()
            );
            self.force.cancel();
            let _ = tokio::time::timeout(FORCE_WAIT, self.tracker.wait()).await;
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.app.shutdown.cancel();
        self.force.cancel();
    }
}
