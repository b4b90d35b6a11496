//! Query strings of `GET /events`, `GET /ws`, `POST /messages` and the streamed answers' `POST`,
//! parsed strictly: an unknown
//! key, a repeated key or a value out of range is a 400 that names it, never a silent default.
//! The ranges keep a client from making the server send absurd values (a `retry:` of
//! 2^64 - 1 ms), sleep for centuries, or count past what a JavaScript number holds:
//!
//! | query key | range | unit |
//! |---|---|---|
//! | `interval_ms`, `heartbeat_ms` | 1 to [`MAX_PERIOD_MS`] (one day) | milliseconds |
//! | `retry_ms` | 0 to [`MAX_PERIOD_MS`] | milliseconds |
//! | `size` | 0 to [`MAX_TICK_SIZE`] (1 MiB) | bytes of tick data |
//! | `count` | 1 to [`MAX_COUNT`] | ticks |
//! | `channel` | 1 to [`MAX_CHANNEL_LEN`] bytes | UTF-8 |
//! | `ttft_ms`, `ttft_p99_ms`, `gap_ms`, `gap_p99_ms` (answers) | 0 to [`MAX_PERIOD_MS`] | milliseconds |
//! | `seed` (answers) | any `u64` | |

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use crate::config::EventDefaults;
use crate::config::{MAX_CHANNEL_LEN, MAX_COUNT, MAX_PERIOD_MS, MAX_TICK_SIZE};

const DEFAULT_CHANNEL: &str = "default";

/// A bad query string; its text is the 400 response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct QueryError(String);

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The parameters of one event stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct EventsQuery {
    pub(crate) channel: String,
    pub(crate) interval: Duration,
    pub(crate) size: usize,
    pub(crate) count: Option<u64>,
    pub(crate) heartbeat: Duration,
    pub(crate) retry_ms: u64,
}

/// Parses `GET /events?channel=&interval_ms=&size=&count=&heartbeat_ms=&retry_ms=`.
pub(crate) fn events_query(
    query: Option<&str>,
    defaults: &EventDefaults,
) -> Result<EventsQuery, QueryError> {
    let mut q = EventsQuery {
        channel: DEFAULT_CHANNEL.to_owned(),
        interval: defaults.interval,
        size: defaults.size,
        count: defaults.count,
        heartbeat: defaults.heartbeat,
        retry_ms: defaults.retry_ms,
    };
    const KEYS: &str = "channel, interval_ms, size, count, heartbeat_ms, retry_ms";
    for (key, value) in pairs(query, KEYS)? {
        match &*key {
            "channel" => q.channel = channel(value)?.into_owned(),
            "interval_ms" => q.interval = millis(&key, &value, 1)?,
            "size" => {
                let size = number(&key, &value, 0, MAX_TICK_SIZE as u64)?;
                q.size = usize::try_from(size).map_err(|_| bad(&key, &value, "too large"))?;
            }
            "count" => q.count = Some(number(&key, &value, 1, MAX_COUNT)?),
            "heartbeat_ms" => q.heartbeat = millis(&key, &value, 1)?,
            "retry_ms" => q.retry_ms = number(&key, &value, 0, MAX_PERIOD_MS)?,
            _ => return Err(unknown(&key, KEYS)),
        }
    }
    Ok(q)
}

/// What a streamed answer's query asks, each key absent unless given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct AnswerQuery {
    /// The time to first token: fixed, or the median with `ttft_p99`.
    pub(crate) ttft: Option<Duration>,
    pub(crate) ttft_p99: Option<Duration>,
    /// The gap between tokens: fixed, or the median with `gap_p99`.
    pub(crate) gap: Option<Duration>,
    pub(crate) gap_p99: Option<Duration>,
    pub(crate) seed: Option<u64>,
}

/// Parses a streamed answer's `?ttft_ms=&ttft_p99_ms=&gap_ms=&gap_p99_ms=&seed=`.
pub(crate) fn answer_query(query: Option<&str>) -> Result<AnswerQuery, QueryError> {
    let mut q = AnswerQuery::default();
    const KEYS: &str = "ttft_ms, ttft_p99_ms, gap_ms, gap_p99_ms, seed";
    for (key, value) in pairs(query, KEYS)? {
        let slot = match &*key {
            "ttft_ms" => &mut q.ttft,
            "ttft_p99_ms" => &mut q.ttft_p99,
            "gap_ms" => &mut q.gap,
            "gap_p99_ms" => &mut q.gap_p99,
            "seed" => {
                q.seed = Some(number(&key, &value, 0, u64::MAX)?);
                continue;
            }
            _ => return Err(unknown(&key, KEYS)),
        };
        *slot = Some(millis(&key, &value, 0)?);
    }
    Ok(q)
}

/// Parses `POST /messages?channel=NAME` and returns the channel.
pub(crate) fn messages_query(query: Option<&str>) -> Result<Cow<'_, str>, QueryError> {
    let mut name = Cow::Borrowed(DEFAULT_CHANNEL);
    for (key, value) in pairs(query, "channel")? {
        match &*key {
            "channel" => name = channel(value)?,
            _ => return Err(unknown(&key, "channel")),
        }
    }
    Ok(name)
}

/// A query's keys and values, in order.
type Pairs<'q> = Vec<(Cow<'q, str>, Cow<'q, str>)>;

/// Splits and percent-decodes `k=v&k=v`, rejecting repeated keys. A key or value with nothing
/// escaped is borrowed, not copied: a POST's `?channel=NAME` is parsed without allocating
/// (`scripts/profile-posts.sh` counted 1,100 instructions per POST for this parse before).
fn pairs<'q>(query: Option<&'q str>, keys: &str) -> Result<Pairs<'q>, QueryError> {
    let mut out = Pairs::new();
    for part in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let (k, v) = (decode(k)?, decode(v)?);
        if out.iter().any(|(seen, _)| *seen == k) {
            return Err(QueryError(format!(
                "query key {k:?} given twice (keys: {keys})"
            )));
        }
        out.push((k, v));
    }
    Ok(out)
}

fn decode(s: &str) -> Result<Cow<'_, str>, QueryError> {
    if !s.bytes().any(|b| b == b'+' || b == b'%') {
        return Ok(Cow::Borrowed(s));
    }
    let mut bytes = Vec::with_capacity(s.len());
    let mut rest = s.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        rest = tail;
        match b {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = rest
                    .get(..2)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| QueryError(format!("bad percent-encoding in query {s:?}")))?;
                bytes.push(hex);
                rest = &rest[2..];
            }
            _ => bytes.push(b),
        }
    }
    String::from_utf8(bytes)
        .map(Cow::Owned)
        .map_err(|_| QueryError(format!("query {s:?} is not UTF-8")))
}

fn channel(value: Cow<'_, str>) -> Result<Cow<'_, str>, QueryError> {
    if value.is_empty() || value.len() > MAX_CHANNEL_LEN {
        return Err(bad(
            "channel",
            &value,
            &format!("must be 1 to {MAX_CHANNEL_LEN} bytes"),
        ));
    }
    Ok(value)
}

/// An integer from `min` to `max`, inclusive.
fn number(key: &str, value: &str, min: u64, max: u64) -> Result<u64, QueryError> {
    value
        .parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| {
            bad(
                key,
                value,
                &format!("must be an integer from {min} to {max}"),
            )
        })
}

/// A duration in milliseconds, from `min` to one day.
fn millis(key: &str, value: &str, min: u64) -> Result<Duration, QueryError> {
    number(key, value, min, MAX_PERIOD_MS).map(Duration::from_millis)
}

fn bad(key: &str, value: &str, reason: &str) -> QueryError {
    QueryError(format!("invalid query {key}={value:?}: {reason}"))
}

fn unknown(key: &str, keys: &str) -> QueryError {
    QueryError(format!("unknown query key {key:?} (keys: {keys})"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_and_defaults() {
        let d = EventDefaults::default();
        let q = events_query(Some("channel=a%20b+c&interval_ms=250&count=3"), &d).unwrap();
        assert_eq!(q.channel, "a b c");
        assert_eq!(q.interval, Duration::from_millis(250));
        assert_eq!((q.count, q.size, q.heartbeat), (Some(3), 100, d.heartbeat));
        assert_eq!(events_query(None, &d).unwrap().channel, "default");
        assert_eq!(messages_query(Some("channel=x")).unwrap(), "x");
    }

    #[test]
    fn bad_values_are_named() {
        let d = EventDefaults::default();
        let err = |q| events_query(Some(q), &d).unwrap_err().to_string();
        assert!(err("interval_ms=0").contains("interval_ms=\"0\""));
        for too_big in [
            "retry_ms=18446744073709551615",
            "retry_ms=86400001",
            "interval_ms=86400001",
            "heartbeat_ms=99999999999",
            "count=1000000001",
            "size=1048577",
            "size=99999999999999999999",
        ] {
            assert!(
                err(too_big).contains("must be an integer from"),
                "{too_big}"
            );
        }
        let q = events_query(Some("retry_ms=86400000&count=1000000000"), &d).unwrap();
        assert_eq!((q.retry_ms, q.count), (86_400_000, Some(1_000_000_000)));
        assert!(err("size=abc").contains("size"));
        assert!(err("interval=5").contains("unknown query key \"interval\""));
        assert!(err("count=1&count=2").contains("twice"));
        assert!(err("channel=%zz").contains("percent"));
        assert!(err("channel=").contains("channel"));
        assert!(messages_query(Some("size=1")).is_err());
    }

    #[test]
    fn answer_queries() {
        let q = answer_query(Some("ttft_ms=0&gap_ms=20&gap_p99_ms=80&seed=7")).unwrap();
        let ms = Duration::from_millis;
        assert_eq!(
            q,
            AnswerQuery {
                ttft: Some(ms(0)),
                ttft_p99: None,
                gap: Some(ms(20)),
                gap_p99: Some(ms(80)),
                seed: Some(7),
            }
        );
        assert_eq!(answer_query(None).unwrap(), AnswerQuery::default());
        let err = |q| answer_query(Some(q)).unwrap_err().to_string();
        assert!(err("tokens=5").contains("unknown query key \"tokens\""));
        assert!(err("gap_ms=86400001").contains("gap_ms"));
        assert!(err("seed=-1").contains("seed"));
        assert!(err("seed=1&seed=2").contains("twice"));
    }
}
