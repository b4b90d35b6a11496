//! `[faults]`: what the embedded server injects, each fault's values carried together
//! ([`sse_server::FaultConfig`]).

use std::num::NonZeroU32;
use std::time::Duration;

use sse_server::{AnswerStall, CloseMode, CloseStreams, FaultConfig, Stall};
use toml::Spanned;
use vocab::Protocol;

use super::checks::Ctx;
use super::raw::RawFaults;
use super::ScenarioError;

/// `[faults]`: what the embedded server injects. Each key that needs another says so; none falls
/// back silently.
pub(super) fn faults(
    cx: &Ctx<'_>,
    f: &RawFaults,
    protocols: &[Protocol],
) -> Result<FaultConfig, ScenarioError> {
    let hour = Duration::from_secs(3600);
    let every = Duration::from_millis(10)..=hour;
    let close_streams_every = cx.optional_duration(
        "faults.close_streams_every",
        f.close_streams_every.as_ref(),
        every.clone(),
    )?;
    let close_mode = match &f.close_mode {
        None => CloseMode::Clean,
        Some(m) => {
            let mode: CloseMode = m.get_ref().parse().map_err(|_| {
                cx.invalid("faults.close_mode", m, "expected \"clean\" or \"reset\"")
            })?;
            if close_streams_every.is_none() {
                return Err(cx.invalid(
                    "faults.close_mode",
                    m,
                    "says how streams closed by close_streams_every end: set close_streams_every too",
                ));
            }
            mode
        }
    };
    let reset_connections_every = cx.optional_duration(
        "faults.reset_connections_every",
        f.reset_connections_every.as_ref(),
        every.clone(),
    )?;
    let goaway_every = cx.optional_duration(
        "faults.goaway_every",
        f.goaway_every.as_ref(),
        every.clone(),
    )?;
    if let Some(g) = &f.goaway_every {
        if !protocols.iter().any(|a| a.is_multiplexed()) {
            return Err(cx.invalid(
                "faults.goaway_every",
                g,
                "GOAWAY is HTTP/2's and HTTP/3's and the scenario runs no h2, h2c or h3 arm",
            ));
        }
    }
    let stall_every = cx.optional_duration("faults.stall_every", f.stall_every.as_ref(), every)?;
    let stall_for = cx.optional_duration(
        "faults.stall_for",
        f.stall_for.as_ref(),
        Duration::from_millis(1)..=hour,
    )?;
    let stall = match (stall_every, stall_for, &f.stall_every, &f.stall_for) {
        (None, None, _, _) => None,
        (Some(e), Some(d), _, Some(v)) if d >= e => {
            return Err(cx.invalid(
                "faults.stall_for",
                v,
                format!(
                    "must be shorter than stall_every ({}): a stall that long never ends",
                    humantime::format_duration(e)
                ),
            ))
        }
        (Some(every), Some(length), _, _) => Some(Stall { every, length }),
        (Some(_), None, Some(v), _) => {
            return Err(cx.invalid(
                "faults.stall_every",
                v,
                "needs stall_for, how long each stall lasts",
            ))
        }
        (None, Some(_), _, Some(v)) => {
            return Err(cx.invalid(
                "faults.stall_for",
                v,
                "needs stall_every, how often a stream stalls",
            ))
        }
        _ => unreachable!("a parsed duration has its raw value"),
    };
    let nth = |key: &str, v: Option<&Spanned<i64>>| -> Result<Option<NonZeroU32>, ScenarioError> {
        v.map(|v| {
            cx.int_in(key, Some(v), 1, 1..=1_000_000)
                .map(|n| NonZeroU32::new(n as u32).expect("at least 1"))
        })
        .transpose()
    };
    let delay = Duration::from_micros(1)..=Duration::from_secs(60);
    let delay_events = cx.optional_duration(
        "faults.delay_events",
        f.delay_events.as_ref(),
        delay.clone(),
    )?;
    let delay_posts =
        cx.optional_duration("faults.delay_posts", f.delay_posts.as_ref(), delay.clone())?;
    let delay_tls_handshake = cx.optional_duration(
        "faults.delay_tls_handshake",
        f.delay_tls_handshake.as_ref(),
        delay.clone(),
    )?;
    if let Some(d) = &f.delay_tls_handshake {
        if !protocols.iter().any(|a| a.is_tls()) {
            return Err(cx.invalid(
                "faults.delay_tls_handshake",
                d,
                "delays TLS handshakes and the scenario runs no TLS arm",
            ));
        }
    }
    let mut config = FaultConfig {
        close_streams: close_streams_every.map(|every| CloseStreams {
            every,
            mode: close_mode,
        }),
        reset_connections_every,
        goaway_every,
        stall,
        post_error_every_nth: nth(
            "faults.post_error_every_nth",
            f.post_error_every_nth.as_ref(),
        )?,
        stream_error_every_nth: nth(
            "faults.stream_error_every_nth",
            f.stream_error_every_nth.as_ref(),
        )?,
        delay_events,
        delay_posts,
        drop_ticks_every_nth: nth(
            "faults.drop_ticks_every_nth",
            f.drop_ticks_every_nth.as_ref(),
        )?,
        delay_tls_handshake,
        ..FaultConfig::default()
    };
    answer_faults(cx, f, delay, &mut config)?;
    Ok(config)
}

/// The faults of streamed answers, into `config`: `answer_stall_after` with `answer_stall_for`,
/// `answer_reset_after`, `slow_first_token`.
fn answer_faults(
    cx: &Ctx<'_>,
    f: &RawFaults,
    delay: std::ops::RangeInclusive<Duration>,
    config: &mut FaultConfig,
) -> Result<(), ScenarioError> {
    let tokens = |key: &str, v: Option<&Spanned<i64>>| {
        v.map(|v| {
            cx.int_in(
                key,
                Some(v),
                0,
                0..=i64::from(sse_server::config::MAX_ANSWER_TOKENS),
            )
        })
        .transpose()
        .map(|n| n.map(|n| n as u32))
    };
    let stall_after = tokens("faults.answer_stall_after", f.answer_stall_after.as_ref())?;
    let stall_for = cx.optional_duration(
        "faults.answer_stall_for",
        f.answer_stall_for.as_ref(),
        Duration::from_millis(1)..=Duration::from_secs(3600),
    )?;
    config.answer_stall = match (stall_after, stall_for) {
        (Some(after_tokens), Some(length)) => Some(AnswerStall {
            after_tokens,
            length,
        }),
        (None, None) => None,
        (Some(_), None) => {
            let v = f.answer_stall_after.as_ref().expect("parsed from it");
            return Err(cx.invalid(
                "faults.answer_stall_after",
                v,
                "needs answer_stall_for, how long each answer stalls",
            ));
        }
        (None, Some(_)) => {
            let v = f.answer_stall_for.as_ref().expect("parsed from it");
            return Err(cx.invalid(
                "faults.answer_stall_for",
                v,
                "needs answer_stall_after, after how many tokens each answer stalls",
            ));
        }
    };
    config.answer_reset_after = tokens("faults.answer_reset_after", f.answer_reset_after.as_ref())?;
    config.slow_first_token = cx.optional_duration(
        "faults.slow_first_token",
        f.slow_first_token.as_ref(),
        delay,
    )?;
    Ok(())
}
