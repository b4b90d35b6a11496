//! `[server]`: the embedded server's settings for a scenario. A key left out takes the server's
//! own default ([`sse_server::ServerConfig::default`]), so the scenario and the `server` binary
//! agree on every default.

use std::time::Duration;

use sse_server::{AnswerDefaults, Pace};
use toml::Spanned;

use super::checks::Ctx;
use super::raw::RawServer;
use super::{ScenarioError, ServerSettings};

pub(super) fn server_settings(
    cx: &Ctx<'_>,
    raw: Option<&RawServer>,
    default_threads: usize,
) -> Result<ServerSettings, ScenarioError> {
    let none = RawServer::default();
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
        answers: answer_defaults(cx, s, defaults.answers)?,
    })
}

/// How the server paces answers: `time_to_first_token` and `token_gap` fixed, or the medians of
/// log-normal draws with their `_p99` keys; `seed`.
fn answer_defaults(
    cx: &Ctx<'_>,
    s: &RawServer,
    defaults: AnswerDefaults,
) -> Result<AnswerDefaults, ScenarioError> {
    let pace = |key: &str,
                median: Option<&Spanned<String>>,
                p99: Option<&Spanned<String>>,
                default: Pace|
     -> Result<Pace, ScenarioError> {
        let hour = Duration::ZERO..=Duration::from_secs(3600);
        let m = cx.duration_in(key, median, default.median(), hour.clone())?;
        let Some(v) = p99 else {
            return Ok(median.map_or(default, |_| Pace::Fixed(m)));
        };
        let p99_key = format!("{key}_p99");
        let p = cx.duration_in(&p99_key, Some(v), Duration::ZERO, hour)?;
        if m.is_zero() || p < m {
            return Err(cx.invalid(
                &p99_key,
                v,
                format!(
                    "a distribution's p99 must be at least its median ({} = {}), and the median \
                     above 0",
                    key,
                    humantime::format_duration(m)
                ),
            ));
        }
        Ok(Pace::LogNormal { median: m, p99: p })
    };
    Ok(AnswerDefaults {
        time_to_first_token: pace(
            "server.time_to_first_token",
            s.time_to_first_token.as_ref(),
            s.time_to_first_token_p99.as_ref(),
            defaults.time_to_first_token,
        )?,
        token_gap: pace(
            "server.token_gap",
            s.token_gap.as_ref(),
            s.token_gap_p99.as_ref(),
            defaults.token_gap,
        )?,
        seed: cx.int_in(
            "server.seed",
            s.seed.as_ref(),
            defaults.seed as i64,
            0..=i64::MAX,
        )? as u64,
        ..defaults
    })
}
