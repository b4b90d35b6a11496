//! `[server]`: the embedded server's settings for a scenario. A key left out takes the server's
//! own default ([`sse_server::ServerConfig::default`]), so the scenario and the `server` binary
//! agree on every default.

use std::time::Duration;

use super::checks::Ctx;
use super::raw::RawServer;
use super::{ScenarioError, ServerSettings};

pub(super) fn server_settings(
    cx: &Ctx<'_>,
    raw: Option<&RawServer>,
    default_threads: usize,
) -> Result<ServerSettings, ScenarioError> {
    let none = RawServer {
        event_interval: None,
        event_size: None,
        heartbeat: None,
        max_concurrent_streams: None,
        http3_max_streams: None,
        replay_ring: None,
        subscriber_queue: None,
        threads: None,
    };
    let s = raw.unwrap_or(&none);
    let hour = Duration::from_secs(3600);
    let defaults = sse_server::ServerConfig::default();
    Ok(ServerSettings {
        event_interval: cx.duration_in(
            "server.event_interval",
            s.event_interval.as_ref(),
            defaults.events.interval,
            Duration::from_millis(1)..=hour,
        )?,
        event_bytes: cx.int_in(
            "server.event_size",
            s.event_size.as_ref(),
            defaults.events.size as i64,
            64..=1 << 20,
        )? as usize,
        heartbeat: cx.duration_in(
            "server.heartbeat",
            s.heartbeat.as_ref(),
            defaults.events.heartbeat,
            Duration::from_millis(10)..=hour,
        )?,
        max_concurrent_streams: cx.int_in(
            "server.max_concurrent_streams",
            s.max_concurrent_streams.as_ref(),
            i64::from(defaults.http2.max_concurrent_streams),
            1..=1_000_000,
        )? as u32,
        http3_max_streams: cx.int_in(
            "server.http3_max_streams",
            s.http3_max_streams.as_ref(),
            i64::from(defaults.http3_max_streams),
            1..=1_000_000,
        )? as u32,
        replay_ring: cx.int_in(
            "server.replay_ring",
            s.replay_ring.as_ref(),
            defaults.replay_ring as i64,
            1..=1_000_000,
        )? as usize,
        subscriber_queue: cx.int_in(
            "server.subscriber_queue",
            s.subscriber_queue.as_ref(),
            defaults.subscriber_queue as i64,
            1..=1_000_000,
        )? as usize,
        threads: cx.int_in(
            "server.threads",
            s.threads.as_ref(),
            default_threads.max(1) as i64,
            1..=1024,
        )? as usize,
    })
}
