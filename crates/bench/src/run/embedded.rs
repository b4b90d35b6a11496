//! The embedded server of a point: the scenario's `[server]` and `[faults]` settings (answers'
//! pacing included), one listener
//! for the point's arm, on its own runtime and threads (so a run measures a client against a
//! server, not two halves of one scheduler). The browser runner starts its server from the same
//! configuration, so both clients measure against the same server.

use std::sync::Arc;

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
    config.http3_max_streams = s.http3_max_streams;
    config.events.interval = s.event_interval;
    config.events.size = s.event_bytes;
    config.events.heartbeat = s.heartbeat;
    config.answers = s.answers;
    // The server's `retry:` is the scenario's reconnection delay, so the clients use it.
    config.events.retry_ms =
        u64::try_from(scenario.reconnect_delay.as_millis()).unwrap_or(u64::MAX);
    config
}

/// Starts a fresh server listening for `arm` only, on port 0, with `scenario.server.threads`
/// worker threads: on 127.0.0.1, or with an emulated network inside its server namespace, on the
/// server's address there.
pub async fn start(
    scenario: &Scenario,
    arm: Protocol,
    network: Option<&Arc<netem::Emulator>>,
) -> anyhow::Result<DedicatedServer> {
    let mut config = server_config(scenario);
    let ip = network.map_or(std::net::IpAddr::from([127, 0, 0, 1]), |n| {
        n.addr(netem::Side::Server)
    });
    config.listeners = vec![(arm, std::net::SocketAddr::new(ip, 0))];
    let threads = scenario.server.threads;
    let hook: Option<sse_server::ThreadStart> = network.map(|n| {
        let n = Arc::clone(n);
        Arc::new(move || {
            if let Err(e) = n.enter(netem::Side::Server) {
                tracing::error!("cannot enter the server's network namespace: {e}");
            }
        }) as sse_server::ThreadStart
    });
    tokio::task::spawn_blocking(move || DedicatedServer::start_with(config, threads, hook))
        .await
        .context("cannot start the embedded server")?
        .context("cannot start the embedded server")
}
