//! Stage two: raw values to a validated [`Scenario`], every range checked.

use std::path::Path;
use std::time::Duration;

use loadgen::defaults::POST_BODY_BYTES;
use sse_server::FaultConfig;
use vocab::{BrowserProfile, PostPlan, Protocol, StreamKind};

use super::answers::{answers, stream_kind};
use super::checks::Ctx;
use super::faults::faults;
use super::network::network;
use super::raw::RawScenario;
use super::server::server_settings;
use super::target::file_target;
use super::{Scenario, ScenarioError};

pub(super) fn parse(path: &Path, text: &str) -> Result<Scenario, ScenarioError> {
    let cx = Ctx { path, text };
    let raw: RawScenario = toml::from_str(text).map_err(|e| {
        let message = syntax_message(&e);
        let at = e.span().map(|s| s.start);
        ScenarioError::Syntax {
            path: path.to_owned(),
            line: at.map_or(1, |offset| cx.line(offset)),
            message: match at.and_then(|offset| key_at(text, offset)) {
                Some(key) if !message.contains(&key) => format!("{key}: {message}"),
                _ => message,
            },
        }
    })?;

    let name = raw.name.get_ref().trim().to_owned();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err(cx.invalid(
            "name",
            &raw.name,
            "must be non-empty and use only letters, digits, '-', '_' and '.' (it names report files)",
        ));
    }
    let protocols = protocols(&cx, &raw)?;
    let clients = cx.sweep("clients", raw.clients.as_ref(), 1..=100_000)?;
    let stream_kind = stream_kind(&cx, &raw)?;
    let answers = answers(&cx, raw.answers.as_ref(), stream_kind)?;
    // Open-loop answers may run without any stream.
    let fewest_streams = if answers.rate_per_client > 0.0 { 0 } else { 1 };
    let streams_per_client = cx.sweep(
        "streams_per_client",
        raw.streams_per_client.as_ref(),
        fewest_streams..=10_000,
    )?;
    let duration = cx.duration("duration", &raw.duration)?;
    if duration.is_zero() || duration > Duration::from_secs(24 * 3600) {
        return Err(cx.invalid(
            "duration",
            &raw.duration,
            "must be more than 0s and at most 24h",
        ));
    }
    let hour = Duration::from_secs(3600);
    let warmup = cx.duration_in(
        "warmup",
        raw.warmup.as_ref(),
        Duration::from_secs(1),
        Duration::ZERO..=hour,
    )?;
    let browser = match &raw.browser {
        None => BrowserProfile::default(),
        Some(b) => b
            .get_ref()
            .parse()
            .map_err(|_| cx.invalid("browser", b, "expected \"chromium\" or \"firefox\""))?,
    };
    let reconnect_delay = cx.duration_in(
        "reconnect_delay",
        raw.reconnect_delay.as_ref(),
        loadgen::defaults::reconnect_delay(browser),
        Duration::ZERO..=hour,
    )?;
    let connect_timeout = cx.duration_in(
        "connect_timeout",
        raw.connect_timeout.as_ref(),
        Duration::from_secs(5),
        Duration::from_millis(1)..=Duration::from_secs(600),
    )?;
    let max_connections_per_origin = cx.int_in(
        "max_connections_per_origin",
        raw.max_connections_per_origin.as_ref(),
        6,
        1..=256,
    )? as usize;
    let channel = match &raw.channel {
        None => "bench".to_owned(),
        Some(c)
            if !c.get_ref().is_empty()
                && c.get_ref()
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || "-_.".contains(ch)) =>
        {
            c.get_ref().clone()
        }
        Some(c) => {
            return Err(cx.invalid(
                "channel",
                c,
                "must be non-empty and use only letters, digits, '-', '_' and '.'",
            ))
        }
    };
    let page = match &raw.page {
        None => None,
        Some(p) if p.get_ref().is_empty() || p.get_ref().starts_with('/') => {
            Some(p.get_ref().clone())
        }
        Some(p) => {
            return Err(cx.invalid(
                "page",
                p,
                "must be a path starting with '/', or \"\" for no page",
            ))
        }
    };
    let posts = posts(&cx, &raw)?;
    if let Some(k) = &raw.stream_kind {
        let websocket = protocols.iter().find(|a| a.is_websocket());
        if let (StreamKind::Answer, true, Some(arm)) =
            (stream_kind, posts.rate_per_client > 0.0, websocket)
        {
            return Err(cx.invalid(
                "stream_kind",
                k,
                format!(
                    "on {arm} the chat messages go out on each client's first WebSocket, and \
                     answer tabs open none: remove [posts] or the WebSocket arms"
                ),
            ));
        }
    }
    let target = match &raw.target {
        None => None,
        Some(t) => {
            let asks_answers =
                stream_kind == vocab::StreamKind::Answer || answers.rate_per_client > 0.0;
            Some(file_target(&cx, t, &protocols, asks_answers)?)
        }
    };
    let (default_client_threads, default_server_threads) = super::default_threads(target.is_some());
    let server = server_settings(&cx, raw.server.as_ref(), default_server_threads)?;
    let client_threads = cx.int_in(
        "client_threads",
        raw.client_threads.as_ref(),
        default_client_threads as i64,
        1..=1024,
    )? as usize;
    let network = match &raw.network {
        None => None,
        Some(n) => {
            if raw.target.is_some() {
                return Err(cx.at(
                    n.span().start,
                    "network",
                    "[network]",
                    "the emulated network runs between the clients and the embedded server, and [target] replaces it: remove one of the two tables",
                ));
            }
            Some(network(&cx, n.get_ref())?)
        }
    };
    let faults = match &raw.faults {
        None => FaultConfig::default(),
        Some(f) => {
            if raw.target.is_some() {
                return Err(cx.at(
                    f.span().start,
                    "faults",
                    "[faults]",
                    "faults are injected by the embedded server, and [target] replaces it: remove one of the two tables",
                ));
            }
            faults(&cx, f.get_ref(), &protocols)?
        }
    };
    Ok(Scenario {
        name,
        description: raw.description.map(|d| d.into_inner()).unwrap_or_default(),
        protocols,
        clients,
        streams_per_client,
        stream_kind,
        duration,
        warmup,
        max_connections_per_origin,
        browser,
        reconnect_delay,
        connect_timeout,
        channel,
        page,
        client_threads,
        posts,
        answers,
        server,
        target,
        faults,
        network,
    })
}

/// `[posts]`: the open-loop chat POSTs.
fn posts(cx: &Ctx<'_>, raw: &RawScenario) -> Result<PostPlan, ScenarioError> {
    Ok(match &raw.posts {
        None => PostPlan {
            rate_per_client: 0.0,
            body_bytes: POST_BODY_BYTES,
        },
        Some(p) => {
            let rate = match &p.rate_per_client {
                None => 0.0,
                Some(r) if r.get_ref().is_finite() && (0.0..=10_000.0).contains(r.get_ref()) => {
                    *r.get_ref()
                }
                Some(r) => {
                    return Err(cx.invalid(
                        "posts.rate_per_client",
                        r,
                        "must be a number of POSTs per second from 0 to 10000",
                    ))
                }
            };
            PostPlan {
                rate_per_client: rate,
                body_bytes: cx.int_in(
                    "posts.body_size",
                    p.body_size.as_ref(),
                    POST_BODY_BYTES as i64,
                    0..=65_536,
                )? as usize,
            }
        }
    })
}

/// The dotted key whose value sits at `offset`: the key written at the start of that line,
/// under the nearest `[table]` header above it.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = text[line_start..].lines().next()?;
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    if key.is_empty() || key.starts_with('[') || key.starts_with('#') {
        return None;
    }
    let table = text[..line_start].lines().rev().find_map(|l| {
        let l = l.trim();
        (l.starts_with('[') && l.ends_with(']'))
            .then(|| l.trim_matches(['[', ']']).trim().to_owned())
    });
    Some(match table {
        Some(t) => format!("{t}.{key}"),
        None => key.to_owned(),
    })
}

/// toml's message without its multi-line source excerpt (we give the line ourselves).
fn syntax_message(e: &toml::de::Error) -> String {
    let joined = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join(": ");
    let msg = joined.as_str();
    if msg.contains("unknown field") {
        format!("{msg} (see scenarios/README.md for every key)")
    } else if msg.contains("did not match any variant of untagged enum OneOrMany") {
        "expected an integer or a list of integers, such as 4 or [1, 2, 4]".to_owned()
    } else {
        msg.to_owned()
    }
}

fn protocols(cx: &Ctx<'_>, raw: &RawScenario) -> Result<Vec<Protocol>, ScenarioError> {
    if raw.protocols.get_ref().is_empty() {
        return Err(cx.invalid(
            "protocols",
            &raw.protocols,
            format!(
                "give at least one of {}",
                <Protocol as vocab::Word>::accepted()
            ),
        ));
    }
    let mut out = Vec::new();
    for p in raw.protocols.get_ref() {
        let arm: Protocol = p.get_ref().parse().map_err(|e: vocab::UnknownWord| {
            cx.invalid("protocols", p, format!("expected one of {}", e.expected))
        })?;
        if out.contains(&arm) {
            return Err(cx.invalid("protocols", p, "listed twice"));
        }
        out.push(arm);
    }
    Ok(out)
}
