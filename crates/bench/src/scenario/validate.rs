//! Stage two: raw values to a validated [`Scenario`], every range checked.

use std::num::NonZeroU32;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use loadgen::Arm;
use toml::Spanned;

use sse_server::{CloseMode, CloseStreams, FaultConfig, Stall};

use super::raw::{OneOrMany, RawFaults, RawScenario, RawServer, RawTarget};
use super::{Posts, Scenario, ScenarioError, ServerSettings, TargetSpec, TrustSpec};

struct Ctx<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Ctx<'_> {
    fn line(&self, offset: usize) -> usize {
        let end = offset.min(self.text.len());
        self.text.as_bytes()[..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1
    }

    fn invalid<T: std::fmt::Debug>(
        &self,
        key: &str,
        value: &Spanned<T>,
        reason: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError::Invalid {
            path: self.path.to_owned(),
            line: self.line(value.span().start),
            key: key.to_owned(),
            value: format!("{:?}", value.get_ref()),
            reason: reason.into(),
        }
    }

    fn duration(&self, key: &str, v: &Spanned<String>) -> Result<Duration, ScenarioError> {
        humantime::parse_duration(v.get_ref().trim()).map_err(|_| {
            self.invalid(
                key,
                v,
                "expected a duration with a unit, such as \"500ms\", \"3s\" or \"1m\"",
            )
        })
    }

    fn duration_in(
        &self,
        key: &str,
        v: Option<&Spanned<String>>,
        default: Duration,
        range: RangeInclusive<Duration>,
    ) -> Result<Duration, ScenarioError> {
        let Some(v) = v else { return Ok(default) };
        let d = self.duration(key, v)?;
        if !range.contains(&d) {
            return Err(self.invalid(
                key,
                v,
                format!(
                    "must be from {} to {}",
                    humantime::format_duration(*range.start()),
                    humantime::format_duration(*range.end())
                ),
            ));
        }
        Ok(d)
    }

    /// An error at `offset` for a key whose value is not a single spanned value.
    fn at(
        &self,
        offset: usize,
        key: &str,
        value: &str,
        reason: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError::Invalid {
            path: self.path.to_owned(),
            line: self.line(offset),
            key: key.to_owned(),
            value: value.to_owned(),
            reason: reason.into(),
        }
    }

    /// An optional duration that must lie in `range` when given.
    fn optional_duration(
        &self,
        key: &str,
        v: Option<&Spanned<String>>,
        range: RangeInclusive<Duration>,
    ) -> Result<Option<Duration>, ScenarioError> {
        v.map(|v| self.duration_in(key, Some(v), Duration::ZERO, range.clone()))
            .transpose()
    }

    fn int_in(
        &self,
        key: &str,
        v: Option<&Spanned<i64>>,
        default: i64,
        range: RangeInclusive<i64>,
    ) -> Result<i64, ScenarioError> {
        let Some(v) = v else { return Ok(default) };
        if !range.contains(v.get_ref()) {
            return Err(self.invalid(
                key,
                v,
                format!(
                    "must be an integer from {} to {}",
                    range.start(),
                    range.end()
                ),
            ));
        }
        Ok(*v.get_ref())
    }

    fn sweep(
        &self,
        key: &str,
        v: Option<&Spanned<OneOrMany>>,
        range: RangeInclusive<i64>,
    ) -> Result<Vec<u32>, ScenarioError> {
        let Some(v) = v else { return Ok(vec![1]) };
        let values = match v.get_ref() {
            OneOrMany::One(n) => vec![*n],
            OneOrMany::Many(list) => list.clone(),
        };
        if values.is_empty() {
            return Err(self.invalid(
                key,
                v,
                "an empty sweep runs nothing: give at least one value",
            ));
        }
        let mut out: Vec<u32> = Vec::with_capacity(values.len());
        for n in values {
            if !range.contains(&n) {
                return Err(self.invalid(
                    key,
                    v,
                    format!(
                        "{n} is out of range: each value must be from {} to {}",
                        range.start(),
                        range.end()
                    ),
                ));
            }
            let n = n as u32;
            if out.contains(&n) {
                return Err(self.invalid(key, v, format!("{n} appears twice in the sweep")));
            }
            out.push(n);
        }
        Ok(out)
    }
}

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
    let streams_per_client = cx.sweep(
        "streams_per_client",
        raw.streams_per_client.as_ref(),
        1..=10_000,
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
    let reconnect_delay = cx.duration_in(
        "reconnect_delay",
        raw.reconnect_delay.as_ref(),
        Duration::from_secs(3),
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
    let posts = match &raw.posts {
        None => Posts {
            rate_per_client: 0.0,
            body_bytes: 128,
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
            Posts {
                rate_per_client: rate,
                body_bytes: cx.int_in("posts.body_size", p.body_size.as_ref(), 128, 0..=65_536)?
                    as usize,
            }
        }
    };
    let target = match &raw.target {
        None => None,
        Some(t) => Some(target(&cx, t, &protocols, &channel)?),
    };
    let (default_client_threads, default_server_threads) = super::default_threads(target.is_some());
    let server = server_settings(&cx, raw.server.as_ref(), default_server_threads)?;
    let client_threads = cx.int_in(
        "client_threads",
        raw.client_threads.as_ref(),
        default_client_threads as i64,
        1..=1024,
    )? as usize;
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
        duration,
        warmup,
        max_connections_per_origin,
        reconnect_delay,
        connect_timeout,
        channel,
        client_threads,
        posts,
        server,
        target,
        faults,
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

fn protocols(cx: &Ctx<'_>, raw: &RawScenario) -> Result<Vec<Arm>, ScenarioError> {
    if raw.protocols.get_ref().is_empty() {
        return Err(cx.invalid(
            "protocols",
            &raw.protocols,
            "give at least one of h1, h1-tls, h2, h2c",
        ));
    }
    let mut out = Vec::new();
    for p in raw.protocols.get_ref() {
        let arm: Arm = p
            .get_ref()
            .parse()
            .map_err(|_| cx.invalid("protocols", p, "expected one of h1, h1-tls, h2, h2c"))?;
        if out.contains(&arm) {
            return Err(cx.invalid("protocols", p, "listed twice"));
        }
        out.push(arm);
    }
    Ok(out)
}

fn server_settings(
    cx: &Ctx<'_>,
    raw: Option<&RawServer>,
    default_threads: usize,
) -> Result<ServerSettings, ScenarioError> {
    let none = RawServer {
        event_interval: None,
        event_size: None,
        heartbeat: None,
        max_concurrent_streams: None,
        replay_ring: None,
        subscriber_queue: None,
        threads: None,
    };
    let s = raw.unwrap_or(&none);
    let hour = Duration::from_secs(3600);
    Ok(ServerSettings {
        event_interval: cx.duration_in(
            "server.event_interval",
            s.event_interval.as_ref(),
            Duration::from_millis(250),
            Duration::from_millis(1)..=hour,
        )?,
        event_bytes: cx.int_in(
            "server.event_size",
            s.event_size.as_ref(),
            100,
            64..=1 << 20,
        )? as usize,
        heartbeat: cx.duration_in(
            "server.heartbeat",
            s.heartbeat.as_ref(),
            Duration::from_secs(15),
            Duration::from_millis(10)..=hour,
        )?,
        max_concurrent_streams: cx.int_in(
            "server.max_concurrent_streams",
            s.max_concurrent_streams.as_ref(),
            100,
            1..=1_000_000,
        )? as u32,
        replay_ring: cx.int_in(
            "server.replay_ring",
            s.replay_ring.as_ref(),
            1024,
            1..=1_000_000,
        )? as usize,
        subscriber_queue: cx.int_in(
            "server.subscriber_queue",
            s.subscriber_queue.as_ref(),
            1024,
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

fn target(
    cx: &Ctx<'_>,
    spanned: &Spanned<RawTarget>,
    protocols: &[Arm],
    channel: &str,
) -> Result<TargetSpec, ScenarioError> {
    let t = spanned.get_ref();
    if let Some(url) = &t.url {
        if !["http://", "https://"]
            .iter()
            .any(|s| url.get_ref().starts_with(s))
        {
            return Err(cx.invalid(
                "target.url",
                url,
                "must be an http:// or https:// origin URL",
            ));
        }
    }
    let mut urls = Vec::new();
    let mut url_from = Vec::new();
    for arm in Arm::ALL {
        let specific = match arm {
            Arm::H1 => &t.h1,
            Arm::H1Tls => &t.h1_tls,
            Arm::H2 => &t.h2,
            Arm::H2c => &t.h2c,
        };
        if !protocols.contains(&arm) {
            if let Some(v) = specific {
                return Err(cx.invalid(
                    &format!("target.{arm}"),
                    v,
                    format!(
                        "the scenario does not run {arm}: add it to `protocols` or remove this key"
                    ),
                ));
            }
            continue;
        }
        let (key, v) = match (specific, &t.url) {
            (Some(v), _) => (format!("target.{arm}"), v),
            (None, Some(v)) => ("target.url".to_owned(), v),
            (None, None) => {
                return Err(cx.at(
                    spanned.span().start,
                    &format!("target.{arm}"),
                    "(missing)",
                    format!("protocol {arm} needs a URL: set target.url or target.{arm}"),
                ))
            }
        };
        let scheme_ok = v.get_ref().starts_with(&format!("{}://", arm.scheme()));
        if !scheme_ok {
            return Err(cx.invalid(
                &key,
                v,
                format!("protocol {arm} needs an {}:// URL", arm.scheme()),
            ));
        }
        urls.push((arm, v.get_ref().clone()));
        url_from.push((
            arm,
            format!(
                "{}:{}: {key} = {:?}",
                cx.path.display(),
                cx.line(v.span().start),
                v.get_ref()
            ),
        ));
    }
    // The arms in the scenario's order.
    urls.sort_by_key(|(arm, _)| protocols.iter().position(|p| p == arm));
    let path = |key: &str,
                v: &Option<Spanned<String>>,
                default: String|
     -> Result<String, ScenarioError> {
        match v {
            None => Ok(default),
            Some(p) if p.get_ref().starts_with('/') => Ok(p.get_ref().clone()),
            Some(p) => Err(cx.invalid(key, p, "must start with '/'")),
        }
    };
    let trust = match (&t.cacert, &t.insecure) {
        (Some(c), Some(i)) if *i.get_ref() => {
            return Err(cx.invalid(
                "target.insecure",
                i,
                format!(
                    "conflicts with target.cacert = {:?}: choose one",
                    c.get_ref()
                ),
            ))
        }
        (Some(c), _) if c.get_ref().trim().is_empty() => {
            return Err(cx.invalid("target.cacert", c, "must be a path to a PEM file"))
        }
        (Some(c), _) => TrustSpec::CaFile(PathBuf::from(c.get_ref())),
        (None, Some(i)) if *i.get_ref() => TrustSpec::Insecure,
        _ => TrustSpec::None,
    };
    Ok(TargetSpec {
        urls,
        url_from,
        events_path: path(
            "target.events_path",
            &t.events_path,
            format!("/events?channel={channel}"),
        )?,
        messages_path: path(
            "target.messages_path",
            &t.messages_path,
            format!("/messages?channel={channel}"),
        )?,
        trust,
    })
}

/// `[faults]`: what the embedded server injects. Each key that needs another says so; none falls
/// back silently.
fn faults(cx: &Ctx<'_>, f: &RawFaults, protocols: &[Arm]) -> Result<FaultConfig, ScenarioError> {
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
        if !protocols.iter().any(|a| a.is_http2()) {
            return Err(cx.invalid(
                "faults.goaway_every",
                g,
                "GOAWAY is HTTP/2 only and the scenario runs no h2 or h2c arm",
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
    let delay_posts = cx.optional_duration("faults.delay_posts", f.delay_posts.as_ref(), delay)?;
    Ok(FaultConfig {
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
    })
}
