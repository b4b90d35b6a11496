//! The embedded server's settings for a scenario, shared by the emulated runner and the Chromium
//! runner so that both measure against the same server.

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
