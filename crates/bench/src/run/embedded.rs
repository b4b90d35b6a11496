//! The embedded server of a point: the scenario's `[server]` and `[faults]` settings, one listener
//! for the point's arm, on its own runtime and threads (so a run measures a client against a
//! server, not two halves of one scheduler). The browser runner starts its server from the same
//! configuration, so both clients measure against the same server.

use anyhow::Context as _;
use sse_server::DedicatedServer;
use vocab::Protocol;

use crate::scenario::Scenario;

/// Everything but the listeners, which each point sets for its own arm.
pub fn server_config(scenario: &Scenario) -> sse_server::ServerConfig {
    let s = &scenario.server;
    let mut config = sse_server::ServerConfig {
        listeners: Vec::new(),
        replay_ring: s.replay_ring,
        subscriber_queue: s.subscriber_queue,
        faults: scenario.faults.clone(),
        // The load generator is the only client: never refuse it.
        max_connections: 1_000_000,
        ..sse_server::ServerConfig::default()
    };
    config.http2.max_concurrent_streams = s.max_concurrent_streams;
    config.events.interval = s.event_interval;
    config.events.size = s.event_bytes;
    config.events.heartbeat = s.heartbeat;
    // The server's `retry:` is the scenario's reconnection delay, so the clients use it.
    config.events.retry_ms =
        u64::try_from(scenario.reconnect_delay.as_millis()).unwrap_or(u64::MAX);
    config
}

/// Starts a fresh server listening for `arm` only, on 127.0.0.1 port 0, with
/// `scenario.server.threads` worker threads.
pub async fn start(scenario: &Scenario, arm: Protocol) -> anyhow::Result<DedicatedServer> {
    let mut config = server_config(scenario);
    config.listeners = vec![(arm, std::net::SocketAddr::from(([127, 0, 0, 1], 0)))];
    let threads = scenario.server.threads;
    tokio::task::spawn_blocking(move || DedicatedServer::start(config, threads))
        .await
        .context("cannot start the embedded server")?
        .context("cannot start the embedded server")
}
