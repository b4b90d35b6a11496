//! The `server` binary's interface with the outside world (binary-only module): flags and their
//! conversion into a [`ServerConfig`] (the listener flags in `listeners`, the fault flags in
//! `faults`), logging to stderr, the `listening` lines on stdout, and the signal that stops the
//! server.

mod answers;
mod faults;
mod listeners;

use std::io::{IsTerminal, Write};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Parser;
use sse_server::logging::{RateLimitedFormat, WARN_EVERY};
use sse_server::{config, Protocol, RunningServer, ServerConfig, TlsSource};

use answers::AnswerArgs;
use faults::FaultArgs;
use listeners::Listeners;

/// ssebench's test server: Server-Sent Events and chat over HTTP/1.1, HTTP/2 and HTTP/3, cleartext
/// and TLS, each listener pinned to one protocol.
#[derive(Debug, Parser)]
#[command(name = "server", version, long_about = long_about())]
pub(crate) struct Args {
    #[command(flatten)]
    listeners: Listeners,

    /// Write the served certificate (PEM) to this file before printing the listening lines, for
    /// clients to trust (e.g. curl --cacert).
    #[arg(long, value_name = "PATH")]
    pub(crate) write_cert: Option<PathBuf>,
    /// PEM certificate chain to serve instead of a self-signed certificate (needs --key).
    #[arg(long, value_name = "PATH", requires = "key")]
    cert: Option<PathBuf>,
    /// PEM private key of --cert.
    #[arg(long, value_name = "PATH", requires = "cert")]
    key: Option<PathBuf>,

    /// HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS advertised to clients.
    #[arg(long, value_name = "N", default_value_t = config::DEFAULT_MAX_CONCURRENT_STREAMS)]
    max_concurrent_streams: u32,
    /// HTTP/2 initial stream receive window, bytes (65535..=2147483647).
    #[arg(long, value_name = "BYTES", default_value_t = config::DEFAULT_WINDOW)]
    initial_stream_window: u32,
    /// HTTP/2 initial connection receive window, bytes (65535..=2147483647).
    #[arg(long, value_name = "BYTES", default_value_t = config::DEFAULT_WINDOW)]
    initial_connection_window: u32,
    /// HTTP/3: the request streams a client may have open at once (QUIC's initial MAX_STREAMS
    /// for bidirectional streams, one more granted per stream that ends); a client waits for
    /// more.
    #[arg(long, value_name = "N", default_value_t = config::DEFAULT_HTTP3_MAX_STREAMS)]
    http3_max_streams: u32,

    /// Default time between tick events (e.g. 250ms, 1s; at most 1 day); query interval_ms
    /// overrides.
    #[arg(long, value_name = "DURATION", default_value_t = config::DEFAULT_EVENT_INTERVAL.into())]
    event_interval: humantime::Duration,
    /// Default tick event data size, bytes (at most 1048576); query size overrides.
    #[arg(long, value_name = "BYTES", default_value_t = config::DEFAULT_EVENT_SIZE)]
    event_size: usize,
    /// Default time between heartbeat comments (at most 1 day); query heartbeat_ms overrides.
    #[arg(long, value_name = "DURATION", default_value_t = config::DEFAULT_HEARTBEAT.into())]
    heartbeat: humantime::Duration,
    /// Default `retry:` value sent first on each stream, milliseconds (at most 86400000); query
    /// retry_ms overrides.
    #[arg(long, value_name = "MS", default_value_t = config::DEFAULT_RETRY_MS)]
    retry_ms: u64,

    /// Largest POST /messages body, bytes; larger gets 413.
    #[arg(long, value_name = "BYTES", default_value_t = config::DEFAULT_MAX_BODY_BYTES)]
    max_body: usize,
    /// Messages kept per channel for Last-Event-ID replay.
    #[arg(long, value_name = "N", default_value_t = config::DEFAULT_REPLAY_RING)]
    replay_ring: usize,
    /// Events queued per subscriber; a subscriber whose queue is full has its stream closed (an
    /// HTTP/2 stream that does not end by itself within a second is reset).
    #[arg(long, value_name = "N", default_value_t = config::DEFAULT_SUBSCRIBER_QUEUE)]
    subscriber_queue: usize,
    /// Bytes of messages one connection's subscribers may have queued together (each message
    /// counted once); a message over it closes its subscriber's stream, as a full queue does.
    #[arg(long, value_name = "BYTES", default_value_t = config::DEFAULT_CONNECTION_QUEUE_BYTES)]
    connection_queue_bytes: usize,
    /// Channels that may exist at once; a request that would create one more displaces the least
    /// recently active channel without a subscriber, or gets 503 if there is none.
    #[arg(long, value_name = "N", default_value_t = config::DEFAULT_MAX_CHANNELS)]
    max_channels: usize,
    /// Channels one client address (IPv6: its /64) may have created that still exist; one more
    /// gets 503.
    #[arg(long, value_name = "N", default_value_t = config::DEFAULT_MAX_CHANNELS_PER_ADDRESS)]
    max_channels_per_address: usize,
    /// Bytes of replayable messages kept over all channels; a POST that does not fit displaces
    /// channels without a subscriber, or gets 503 if that is not enough.
    #[arg(long, value_name = "BYTES", default_value_t = config::DEFAULT_REPLAY_BUDGET_BYTES)]
    replay_budget: usize,
    /// Bytes of missed messages one reconnect (Last-Event-ID) is replayed, the newest; the older
    /// are reported in a replay-gap event.
    #[arg(long, value_name = "BYTES", default_value_t = config::DEFAULT_MAX_REPLAY_BYTES)]
    max_replay_bytes: usize,
    /// Replays that run at once; a reconnect that finds them all running waits for one to end.
    #[arg(long, value_name = "N", default_value_t = config::DEFAULT_MAX_CONCURRENT_REPLAYS)]
    max_concurrent_replays: usize,
    /// A channel with no subscriber and no message for this long is evicted with its ring.
    #[arg(long, value_name = "DURATION", default_value_t = config::DEFAULT_CHANNEL_IDLE_TIMEOUT.into())]
    channel_idle_timeout: humantime::Duration,
    /// Response bytes buffered per HTTP/1.1 connection and per HTTP/2 stream (8192..=16777216).
    #[arg(long, value_name = "BYTES", default_value_t = config::DEFAULT_SEND_BUFFER_BYTES)]
    send_buffer: usize,
    /// SO_SNDBUF of every accepted socket, bytes (4096..=67108864).
    #[arg(long, value_name = "BYTES", default_value_t = config::DEFAULT_SOCKET_SEND_BUFFER_SIZE)]
    socket_send_buffer: usize,
    /// Leave the accepted sockets' send buffer size to the kernel's autotuning (overrides
    /// --socket-send-buffer).
    #[arg(long)]
    autotune_socket_send_buffer: bool,

    /// Time allowed for a TLS handshake, the first bytes of a connection, an HTTP/1.1 request head
    /// (also the next one on a kept-alive connection) and an HTTP/2 connection's first request.
    #[arg(long, value_name = "DURATION", default_value_t = config::DEFAULT_HEADER_READ_TIMEOUT.into())]
    header_read_timeout: humantime::Duration,
    /// How long a request body may go without sending a byte before it gets 408.
    #[arg(long, value_name = "DURATION", default_value_t = config::DEFAULT_BODY_READ_TIMEOUT.into())]
    body_read_timeout: humantime::Duration,
    /// How long a whole request body may take before it gets 408.
    #[arg(long, value_name = "DURATION", default_value_t = config::DEFAULT_BODY_TOTAL_TIMEOUT.into())]
    body_total_timeout: humantime::Duration,
    /// How long output may wait for a client that stopped reading (a full socket, or a closed
    /// HTTP/2 window) before its connection is reset.
    #[arg(long, value_name = "DURATION", default_value_t = config::DEFAULT_WRITE_STALL_TIMEOUT.into())]
    write_stall_timeout: humantime::Duration,
    /// An HTTP/2 connection with no request in flight for this long gets GOAWAY and is closed.
    #[arg(long, value_name = "DURATION", default_value_t = config::DEFAULT_HTTP2_IDLE_TIMEOUT.into())]
    http2_idle_timeout: humantime::Duration,
    /// How often a silent HTTP/2 connection is sent a PING to check that the peer is alive.
    #[arg(long, value_name = "DURATION", default_value_t = config::DEFAULT_HTTP2_KEEPALIVE_INTERVAL.into())]
    http2_keepalive_interval: humantime::Duration,
    /// Send no HTTP/2 keep-alive PINGs (overrides --http2-keepalive-interval).
    #[arg(long)]
    no_http2_keepalive: bool,
    /// How long a PING may wait for its acknowledgement before the connection is closed as dead.
    #[arg(long, value_name = "DURATION", default_value_t = config::DEFAULT_HTTP2_KEEPALIVE_TIMEOUT.into())]
    http2_keepalive_timeout: humantime::Duration,
    /// Connections open at once, all listeners together. Over it, a connection that has made no
    /// progress for a while is closed to make room; if there is none, the new one is closed.
    #[arg(long, value_name = "N", default_value_t = config::DEFAULT_MAX_CONNECTIONS)]
    max_connections: usize,
    /// The connections one client address (IPv6: its /64) keeps once the server is full: a
    /// newcomer from another address takes the slot of one beyond it.
    #[arg(long, value_name = "N", default_value_t = config::DEFAULT_CONNECTION_SHARE_PER_ADDRESS)]
    connection_share_per_address: usize,
    /// A WebSocket from whose client nothing (no message, no pong) has arrived for this long is
    /// closed; the server pings it after half of it.
    #[arg(long, value_name = "DURATION", default_value_t = config::DEFAULT_WEBSOCKET_IDLE_TIMEOUT.into())]
    websocket_idle_timeout: humantime::Duration,

    #[command(flatten)]
    answers: AnswerArgs,

    #[command(flatten)]
    faults: FaultArgs,
}

/// The help's description: the routes, with the ranges of their query values, and the
/// listeners.
fn long_about() -> String {
    let max_period = config::MAX_PERIOD_MS;
    let websocket: Vec<&str> = Protocol::ALL
        .into_iter()
        .filter(|p| p.is_websocket())
        .map(Protocol::as_str)
        .collect();
    let flags: Vec<String> = Protocol::ALL.iter().map(|p| format!("--{p}")).collect();
    format!(
        "ssebench's test server: Server-Sent Events and chat over HTTP/1.1, HTTP/2 and HTTP/3 \
         (QUIC on UDP), cleartext and TLS, each listener pinned to one protocol.\n\n\
         Routes: GET /events?channel=&interval_ms=&size=&count=&heartbeat_ms=&retry_ms= \
         (interval_ms, heartbeat_ms 1..={max_period}; retry_ms 0..={max_period}; size 0..={}; \
         count 1..={}), POST /messages?channel=, {}, GET /stats, GET /health, GET / (chat demo \
         page); on the {} listeners also GET /ws?channel= (a WebSocket: each text message \
         received is published to the channel; every message of the channel, and a tick per \
         interval, is sent).\n\
         Each listener flag takes an IP:PORT (e.g. 127.0.0.1:8080; port 0 picks a free one); \
         without any of {}, all {} listen on 127.0.0.1 on free ports.\n\
         Prints `listening <protocol> <url>` for each listener once all are bound; Ctrl-C stops \
         it.",
        config::MAX_TICK_SIZE,
        config::MAX_COUNT,
        answers::route(),
        websocket.join(" and "),
        flags.join(", "),
        Protocol::ALL.len(),
    )
}

impl Args {
    /// The server configuration these flags describe.
    pub(crate) fn config(&self) -> anyhow::Result<ServerConfig> {
        let defaults = ServerConfig::default();
        let mut listeners = self.listeners.0.clone();
        if listeners.is_empty() {
            let any_port = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
            listeners = Protocol::ALL.map(|p| (p, any_port)).to_vec();
        }
        let tls = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => TlsSource::Files {
                cert: cert.clone(),
                key: key.clone(),
            },
            _ => TlsSource::SelfSigned,
        };
        let config = ServerConfig {
            listeners,
            tls,
            http2: sse_server::Http2Settings {
                max_concurrent_streams: self.max_concurrent_streams,
                initial_stream_window: self.initial_stream_window,
                initial_connection_window: self.initial_connection_window,
            },
            http3_max_streams: self.http3_max_streams,
            events: sse_server::EventDefaults {
                interval: self.event_interval.into(),
                size: self.event_size,
                heartbeat: self.heartbeat.into(),
                retry_ms: self.retry_ms,
                count: defaults.events.count,
            },
            answers: self.answers.config(),
            max_body_bytes: self.max_body,
            replay_ring: self.replay_ring,
            subscriber_queue: self.subscriber_queue,
            connection_queue_bytes: self.connection_queue_bytes,
            max_channels: self.max_channels,
            max_channels_per_address: self.max_channels_per_address,
            replay_budget_bytes: self.replay_budget,
            max_replay_bytes: self.max_replay_bytes,
            max_concurrent_replays: self.max_concurrent_replays,
            channel_idle_timeout: self.channel_idle_timeout.into(),
            send_buffer_bytes: self.send_buffer,
            socket_send_buffer_bytes: (!self.autotune_socket_send_buffer)
                .then_some(self.socket_send_buffer),
            header_read_timeout: self.header_read_timeout.into(),
            body_read_timeout: self.body_read_timeout.into(),
            body_total_timeout: self.body_total_timeout.into(),
            write_stall_timeout: self.write_stall_timeout.into(),
            http2_idle_timeout: self.http2_idle_timeout.into(),
            http2_keepalive_interval: (!self.no_http2_keepalive)
                .then(|| self.http2_keepalive_interval.into()),
            http2_keepalive_timeout: self.http2_keepalive_timeout.into(),
            max_connections: self.max_connections,
            connection_share_per_address: self.connection_share_per_address,
            websocket_idle_timeout: self.websocket_idle_timeout.into(),
            faults: self.faults.config(),
        };
        config.validate().context("invalid flags")?;
        Ok(config)
    }
}

/// The whole `server` program after its allocator is chosen: parse the flags, start, announce the
/// listeners, serve until Ctrl-C or SIGTERM (src/main.rs, and examples/heap_server.rs with the
/// system allocator).
pub(crate) async fn main() -> std::process::ExitCode {
    init_logging();
    match serve(Args::parse()).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn serve(args: Args) -> anyhow::Result<()> {
    let config = args.config()?;
    // Listened for before the listening lines are printed: a script that reads them and at once
    // sends SIGTERM must get a graceful stop, not the signal's default action (the process killed
    // by it, which `tests/cli.rs` saw on a busy machine when the handler came after the lines).
    let stop = StopSignal::listen()?;
    let server = sse_server::start(config)
        .await
        .context("cannot start the server")?;
    announce(&server, args.write_cert.as_deref())?;
    stop.wait().await?;
    server.shutdown().await;
    Ok(())
}

/// Logs to stderr; `RUST_LOG` filters (default `info`). Each call site's WARN and ERROR lines,
/// the server's and those of hyper and h2 alike, appear at most once per
/// [`sse_server::logging::WARN_EVERY`], the next one counting those suppressed.
pub(crate) fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let format = RateLimitedFormat::new(tracing_subscriber::fmt::format(), WARN_EVERY);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .event_format(format)
        .init();
}

/// Writes the certificate if asked, then one `listening <protocol> <url>` line per listener on
/// stdout, flushed: scripts read the ports from these lines, and the certificate is in place by
/// the time they see them.
pub(crate) fn announce(server: &RunningServer, write_cert: Option<&Path>) -> anyhow::Result<()> {
    if let Some(path) = write_cert {
        std::fs::write(path, server.cert_pem())
            .with_context(|| format!("cannot write the certificate to {}", path.display()))?;
    }
    let mut out = std::io::stdout().lock();
    for (protocol, _) in server.listeners() {
        let url = server.url(protocol).unwrap_or_default();
        writeln!(out, "listening {protocol} {url}")?;
    }
    out.flush()?;
    Ok(())
}

/// Ctrl-C (SIGINT) or, on Unix, SIGTERM, listened for from [`StopSignal::listen`] on: on Unix a
/// signal that comes before [`StopSignal::wait`] is kept, not lost, and does not kill the process
/// (elsewhere Ctrl-C is listened for from `wait` on).
pub(crate) struct StopSignal {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl StopSignal {
    /// Installs the handlers now (tokio's `ctrl_c()` would install its own only when first
    /// polled).
    pub(crate) fn listen() -> anyhow::Result<StopSignal> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Ok(StopSignal {
                term: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
                interrupt: signal(SignalKind::interrupt()).context("cannot listen for Ctrl-C")?,
            })
        }
        #[cfg(not(unix))]
        Ok(StopSignal {})
    }

    /// Resolves at the first of the signals (at once if one came since [`StopSignal::listen`]).
    pub(crate) async fn wait(self) -> anyhow::Result<()> {
        #[cfg(unix)]
        {
            let StopSignal {
                mut term,
                mut interrupt,
            } = self;
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        tokio::signal::ctrl_c()
            .await
            .context("cannot listen for Ctrl-C")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;
    use std::time::Duration;

    use clap::CommandFactory;
    use sse_server::{CloseMode, CloseStreams, FaultConfig, Stall};

    use super::*;

    #[test]
    fn flags_are_consistent_and_default_to_all_listeners() {
        Args::command().debug_assert();
        let config = Args::parse_from(["server", "--event-interval", "250ms"])
            .config()
            .unwrap();
        assert_eq!(config.listeners.len(), Protocol::ALL.len());
        assert_eq!(config.events.interval, Duration::from_millis(250));
        let config = Args::parse_from(["server", "--h2", "127.0.0.1:0"])
            .config()
            .unwrap();
        assert_eq!(config.listeners.len(), 1);
        assert_eq!(config.faults, FaultConfig::default());
        let config = Args::parse_from([
            "server",
            "--fault-close-streams-every=2s",
            "--fault-close-mode=reset",
            "--fault-stall-every=1s",
            "--fault-stall-for=300ms",
            "--fault-post-error-every-nth=5",
            "--fault-delay-events=2ms",
        ])
        .config()
        .unwrap();
        assert_eq!(
            config.faults,
            FaultConfig {
                close_streams: Some(CloseStreams {
                    every: Duration::from_secs(2),
                    mode: CloseMode::Reset,
                }),
                stall: Some(Stall {
                    every: Duration::from_secs(1),
                    length: Duration::from_millis(300),
                }),
                post_error_every_nth: NonZeroU32::new(5),
                delay_events: Some(Duration::from_millis(2)),
                ..FaultConfig::default()
            }
        );
        assert!(Args::try_parse_from(["server", "--fault-stall-every=1s"]).is_err());
    }

    #[test]
    fn every_protocol_has_its_listener_flag() {
        let help = Args::command().render_long_help().to_string();
        for protocol in Protocol::ALL {
            let flag = format!("--{protocol}");
            assert!(help.contains(&format!("{flag} <ADDR>")), "{help}");
            let config = Args::parse_from(["server", &flag, "127.0.0.1:0"])
                .config()
                .unwrap();
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
            assert_eq!(config.listeners, [(protocol, addr)]);
        }
    }

    /// The ranges the help states are the library's (typed in the doc comments clap reads, so
    /// checked here).
    #[test]
    fn help_states_the_library_ranges() {
        let help = Args::command().render_long_help().to_string();
        let flat = help.split_whitespace().collect::<Vec<_>>().join(" ");
        for stated in [
            format!("window, bytes ({:?})", config::WINDOW_RANGE),
            format!("stream ({:?})", config::SEND_BUFFER_RANGE),
            format!("bytes ({:?})", config::SOCKET_SEND_BUFFER_RANGE),
            format!("bytes (at most {})", config::MAX_TICK_SIZE),
            format!("milliseconds (at most {})", config::MAX_PERIOD_MS),
            format!("heartbeat_ms 1..={}", config::MAX_PERIOD_MS),
            format!("size 0..={}", config::MAX_TICK_SIZE),
            format!("count 1..={}", config::MAX_COUNT),
        ] {
            assert!(flat.contains(&stated), "the help lacks {stated:?}: {help}");
        }
    }

    #[test]
    fn flag_defaults_are_the_library_defaults() {
        let from_flags = Args::parse_from(["server"]).config().unwrap();
        let defaults = ServerConfig::default();
        // Everything but the listeners (the flags leave them to the same loopback default).
        assert_eq!(format!("{from_flags:?}"), format!("{defaults:?}"));
        let off = Args::parse_from(["server", "--no-http2-keepalive", "--max-channels=5"])
            .config()
            .unwrap();
        assert_eq!((off.http2_keepalive_interval, off.max_channels), (None, 5));
        let h3 = Args::parse_from(["server", "--http3-max-streams=3"])
            .config()
            .unwrap();
        assert_eq!(h3.http3_max_streams, 3);
    }
}
