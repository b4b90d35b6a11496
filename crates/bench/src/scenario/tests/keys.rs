//! Every key of a scenario file: each parses, each bad value and each unknown key is named with
//! its file, line and key, and keys that need or contradict others are refused.

use std::time::Duration;

use vocab::Protocol;

use super::{error, parse, GOOD};

/// Every key of the embedded-server form, one per line (the line numbers matter).
const EVERY_KEY: &str = r#"name = "every"
description = "all keys"
protocols = ["h1", "h2"]
clients = [1, 2]
streams_per_client = 2
warmup = "1s"
duration = "2s"
max_connections_per_origin = 6
browser = "chromium"
reconnect_delay = "3s"
connect_timeout = "5s"
channel = "c"
page = "/health"

[posts]
rate_per_client = 1.0
body_size = 128

[server]
event_interval = "250ms"
event_size = 100
heartbeat = "15s"
max_concurrent_streams = 100
http3_max_streams = 100
replay_ring = 1024
subscriber_queue = 1024

[faults]
close_streams_every = "1s"
close_mode = "reset"
reset_connections_every = "2s"
goaway_every = "3s"
stall_every = "4s"
stall_for = "100ms"
post_error_every_nth = 10
stream_error_every_nth = 100
delay_events = "2ms"
delay_posts = "3ms"
drop_ticks_every_nth = 2
delay_tls_handshake = "5ms"
"#;

/// Every key of the `[target]` form, on every arm.
const EVERY_TARGET_KEY: &str = r#"name = "target"
protocols = ["h1", "h1-tls", "h2", "h2c"]
duration = "2s"

[target]
url = "https://127.0.0.1:443"
h1 = "http://127.0.0.1:80"
h1-tls = "https://127.0.0.1:444"
h2 = "https://127.0.0.1:445"
h2c = "http://127.0.0.1:81"
events_path = "/sse"
messages_path = "/chat"
cacert = "ca.pem"
insecure = false
send_stamp = "sent_us"
send_stamp_unit = "us"
"#;

#[test]
fn every_key_parses() {
    let s = parse(EVERY_KEY).unwrap();
    assert_eq!(s.clients, [1, 2]);
    assert_eq!(s.channel, "c");
    assert_eq!(s.server.subscriber_queue, 1024);
    let f = &s.faults;
    assert_eq!(
        f.close_streams,
        Some(sse_server::CloseStreams {
            every: Duration::from_secs(1),
            mode: sse_server::CloseMode::Reset
        })
    );
    assert_eq!(f.reset_connections_every, Some(Duration::from_secs(2)));
    assert_eq!(f.goaway_every, Some(Duration::from_secs(3)));
    assert_eq!(
        f.stall,
        Some(sse_server::Stall {
            every: Duration::from_secs(4),
            length: Duration::from_millis(100)
        })
    );
    assert_eq!(f.post_error_every_nth.map(|n| n.get()), Some(10));
    assert_eq!(f.stream_error_every_nth.map(|n| n.get()), Some(100));
    assert_eq!(f.delay_events, Some(Duration::from_millis(2)));
    assert_eq!(f.delay_posts, Some(Duration::from_millis(3)));
    assert_eq!(f.drop_ticks_every_nth.map(|n| n.get()), Some(2));
    assert_eq!(f.delay_tls_handshake, Some(Duration::from_millis(5)));
    let s = parse(EVERY_TARGET_KEY).unwrap();
    let t = crate::scenario::resolve_target(&s, &crate::scenario::TargetFlags::default())
        .unwrap()
        .unwrap();
    assert_eq!(t.urls.len(), 4);
    assert_eq!(
        t.urls[1],
        (Protocol::H1Tls, "https://127.0.0.1:444".to_owned())
    );
    assert_eq!(
        t.url_from(Protocol::H2),
        "x.toml:9: target.h2 = \"https://127.0.0.1:445\""
    );
    assert_eq!(t.events_path, "/sse");
    assert_eq!(
        t.send_stamp,
        sse_wire::stamp::SendStamp::new("sent_us", sse_wire::stamp::StampUnit::Us)
    );
    assert!(parse(GOOD).unwrap().faults.is_none());
}

/// `text` with the value of `key` (in `table`, "" for the top level) replaced by `value`, and the
/// line it is on.
fn with_value(text: &str, table: &str, key: &str, value: &str) -> (String, usize) {
    let mut current = "";
    let mut found = None;
    let lines: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, line)| {
            if let Some(t) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                current = if t == table { table } else { "?" };
            }
            let is_key = line.split_once('=').is_some_and(|(k, _)| k.trim() == key);
            if current == table && is_key && found.is_none() {
                found = Some(i + 1);
                format!("{key} = {value}")
            } else {
                line.to_owned()
            }
        })
        .collect();
    let line = found.unwrap_or_else(|| panic!("no key {table}.{key}"));
    (lines.join("\n"), line)
}

/// Each case: (table, key, bad value, what the message must say besides file, line and key).
/// Every key gets a value of the wrong type, and every key with a range a value outside it.
const BAD_VALUES: &[(&str, &str, &str, &str)] = &[
    ("", "name", "1", "invalid type"),
    ("", "name", "\"\"", "non-empty"),
    ("", "name", "\"a b\"", "letters, digits"),
    ("", "description", "1", "invalid type"),
    ("", "protocols", "\"h1\"", "invalid type"),
    ("", "protocols", "[1]", "invalid type"),
    ("", "protocols", "[]", "at least one"),
    (
        "",
        "protocols",
        "[\"h4\"]",
        "h1, h1-tls, h2, h2c, ws, wss, h3",
    ),
    ("", "protocols", "[\"h1\", \"h1\"]", "listed twice"),
    ("", "clients", "\"many\"", "integer or a list"),
    ("", "clients", "[]", "empty sweep"),
    ("", "clients", "0", "from 1 to 100000"),
    ("", "clients", "[1, 100001]", "from 1 to 100000"),
    ("", "clients", "[2, 2]", "twice"),
    ("", "streams_per_client", "1.5", "integer or a list"),
    ("", "streams_per_client", "[]", "empty sweep"),
    ("", "streams_per_client", "0", "from 1 to 10000"),
    ("", "streams_per_client", "10001", "from 1 to 10000"),
    ("", "warmup", "1", "invalid type"),
    ("", "warmup", "\"soon\"", "unit"),
    ("", "warmup", "\"2h\"", "from 0s to 1h"),
    ("", "duration", "true", "invalid type"),
    ("", "duration", "\"0s\"", "more than 0s"),
    ("", "duration", "\"25h\"", "at most 24h"),
    ("", "duration", "\"2\"", "unit"),
    ("", "max_connections_per_origin", "\"6\"", "invalid type"),
    ("", "max_connections_per_origin", "0", "from 1 to 256"),
    ("", "max_connections_per_origin", "257", "from 1 to 256"),
    (
        "",
        "browser",
        "\"safari\"",
        "expected \"chromium\" or \"firefox\"",
    ),
    ("", "browser", "1", "invalid type"),
    ("", "reconnect_delay", "3", "invalid type"),
    ("", "reconnect_delay", "\"61m\"", "from 0s to 1h"),
    ("", "connect_timeout", "5", "invalid type"),
    ("", "connect_timeout", "\"0s\"", "from 1ms to 10m"),
    ("", "connect_timeout", "\"11m\"", "from 1ms to 10m"),
    ("", "channel", "1", "invalid type"),
    ("", "channel", "\"a/b\"", "letters, digits"),
    ("", "page", "1", "invalid type"),
    ("", "page", "\"index.html\"", "starting with '/'"),
    ("posts", "rate_per_client", "\"1\"", "invalid type"),
    ("posts", "rate_per_client", "-1.0", "from 0 to 10000"),
    ("posts", "rate_per_client", "10000.5", "from 0 to 10000"),
    ("posts", "rate_per_client", "nan", "from 0 to 10000"),
    ("posts", "body_size", "1.5", "invalid type"),
    ("posts", "body_size", "-1", "from 0 to 65536"),
    ("posts", "body_size", "65537", "from 0 to 65536"),
    ("server", "event_interval", "250", "invalid type"),
    ("server", "event_interval", "\"0s\"", "from 1ms to 1h"),
    ("server", "event_interval", "\"2h\"", "from 1ms to 1h"),
    ("server", "event_size", "\"100\"", "invalid type"),
    ("server", "event_size", "63", "from 64 to 1048576"),
    ("server", "event_size", "1048577", "from 64 to 1048576"),
    ("server", "heartbeat", "15", "invalid type"),
    ("server", "heartbeat", "\"9ms\"", "from 10ms to 1h"),
    ("server", "max_concurrent_streams", "true", "invalid type"),
    ("server", "max_concurrent_streams", "0", "from 1 to 1000000"),
    (
        "server",
        "max_concurrent_streams",
        "1000001",
        "from 1 to 1000000",
    ),
    ("server", "http3_max_streams", "\"3\"", "invalid type"),
    ("server", "http3_max_streams", "0", "from 1 to 1000000"),
    ("server", "replay_ring", "[1]", "invalid type"),
    ("server", "replay_ring", "0", "from 1 to 1000000"),
    ("server", "subscriber_queue", "\"big\"", "invalid type"),
    ("server", "subscriber_queue", "0", "from 1 to 1000000"),
    ("faults", "close_streams_every", "1", "invalid type"),
    (
        "faults",
        "close_streams_every",
        "\"9ms\"",
        "from 10ms to 1h",
    ),
    ("faults", "close_streams_every", "\"2h\"", "from 10ms to 1h"),
    ("faults", "close_mode", "true", "invalid type"),
    (
        "faults",
        "close_mode",
        "\"abrupt\"",
        "\"clean\" or \"reset\"",
    ),
    ("faults", "reset_connections_every", "2", "invalid type"),
    (
        "faults",
        "reset_connections_every",
        "\"0s\"",
        "from 10ms to 1h",
    ),
    ("faults", "goaway_every", "3", "invalid type"),
    ("faults", "goaway_every", "\"1ms\"", "from 10ms to 1h"),
    ("faults", "stall_every", "4", "invalid type"),
    ("faults", "stall_every", "\"5h\"", "from 10ms to 1h"),
    ("faults", "stall_for", "100", "invalid type"),
    ("faults", "stall_for", "\"0s\"", "from 1ms to 1h"),
    ("faults", "stall_for", "\"4s\"", "shorter than stall_every"),
    ("faults", "post_error_every_nth", "\"10\"", "invalid type"),
    ("faults", "post_error_every_nth", "0", "from 1 to 1000000"),
    (
        "faults",
        "post_error_every_nth",
        "1000001",
        "from 1 to 1000000",
    ),
    ("faults", "stream_error_every_nth", "1.0", "invalid type"),
    (
        "faults",
        "stream_error_every_nth",
        "-3",
        "from 1 to 1000000",
    ),
    ("faults", "delay_events", "2", "invalid type"),
    ("faults", "delay_events", "\"0s\"", "from 1us to 1m"),
    ("faults", "delay_posts", "\"2m\"", "from 1us to 1m"),
    ("faults", "drop_ticks_every_nth", "0", "from 1 to 1000000"),
    ("faults", "delay_tls_handshake", "5", "invalid type"),
    ("faults", "delay_tls_handshake", "\"0s\"", "from 1us to 1m"),
];

const BAD_TARGET_VALUES: &[(&str, &str, &str, &str)] = &[
    ("target", "send_stamp", "\"a b\"", "JSON field name"),
    ("target", "send_stamp_unit", "\"min\"", "\"ns\", \"us\""),
    ("target", "url", "1", "invalid type"),
    ("target", "url", "\"ftp://127.0.0.1:1\"", "https://"),
    ("target", "h1", "8080", "invalid type"),
    ("target", "h1", "\"https://127.0.0.1:1\"", "http://"),
    ("target", "h1-tls", "[]", "invalid type"),
    ("target", "h1-tls", "\"http://127.0.0.1:1\"", "https://"),
    ("target", "h2", "{}", "invalid type"),
    ("target", "h2", "\"http://127.0.0.1:1\"", "https://"),
    ("target", "h2c", "false", "invalid type"),
    ("target", "h2c", "\"https://127.0.0.1:1\"", "http://"),
    ("target", "events_path", "1", "invalid type"),
    ("target", "events_path", "\"events\"", "start with '/'"),
    ("target", "messages_path", "1", "invalid type"),
    ("target", "messages_path", "\"x\"", "start with '/'"),
    ("target", "cacert", "1", "invalid type"),
    ("target", "cacert", "\"\"", "path to a PEM file"),
    ("target", "insecure", "\"yes\"", "invalid type"),
    ("target", "insecure", "true", "choose one"),
];

/// Every key, every kind of bad value: one line naming the file, the line and the key.
#[test]
fn every_key_rejects_bad_values_naming_file_line_and_key() {
    for (base, cases) in [
        (EVERY_KEY, BAD_VALUES),
        (EVERY_TARGET_KEY, BAD_TARGET_VALUES),
    ] {
        for &(table, key, value, needle) in cases {
            let (text, line) = with_value(base, table, key, value);
            let msg = error(&text);
            let dotted = if table.is_empty() {
                key.to_owned()
            } else {
                format!("{table}.{key}")
            };
            let context = format!("{dotted} = {value}: {msg}");
            assert!(msg.starts_with(&format!("x.toml:{line}: ")), "{context}");
            assert!(msg.contains(&dotted), "{context}");
            assert!(msg.contains(needle), "{context}: lacks {needle:?}");
        }
    }
}

/// An unknown key in every table, and at the top level.
#[test]
fn unknown_keys_are_named_in_every_table() {
    for (table, after) in [
        ("", "channel = \"c\""),
        ("posts", "body_size = 128"),
        ("server", "subscriber_queue = 1024"),
        ("faults", "delay_posts = \"3ms\""),
    ] {
        let text = EVERY_KEY.replacen(after, &format!("{after}\nbogus_key = 1"), 1);
        let line = text
            .lines()
            .position(|l| l.starts_with("bogus_key"))
            .unwrap()
            + 1;
        let msg = error(&text);
        assert!(
            msg.starts_with(&format!("x.toml:{line}: ")),
            "{table}: {msg}"
        );
        assert!(
            msg.contains("unknown field") && msg.contains("bogus_key"),
            "{msg}"
        );
    }
    let text = EVERY_TARGET_KEY.replacen("insecure = false", "insecure = false\nh4 = \"x\"", 1);
    let msg = error(&text);
    assert!(
        msg.starts_with("x.toml:15: ") && msg.contains("`h4`"),
        "{msg}"
    );
    let msg = error(&EVERY_KEY.replacen("[faults]", "[fault]", 1));
    assert!(msg.contains("unknown field `fault`"), "{msg}");
}

/// Keys that need another key, or that contradict the rest of the scenario.
#[test]
fn keys_that_need_or_contradict_others() {
    let cases: &[(&str, &str, &str, &str)] = &[
        // (replace, with, key, reason)
        (
            "close_streams_every = \"1s\"\n",
            "",
            "faults.close_mode",
            "set close_streams_every",
        ),
        (
            "stall_for = \"100ms\"\n",
            "",
            "faults.stall_every",
            "needs stall_for",
        ),
        (
            "stall_every = \"4s\"\n",
            "",
            "faults.stall_for",
            "needs stall_every",
        ),
        (
            "protocols = [\"h1\", \"h2\"]",
            "protocols = [\"h1\", \"h1-tls\"]",
            "faults.goaway_every",
            "no h2, h2c or h3 arm",
        ),
        (
            "protocols = [\"h1\", \"h2\"]",
            "protocols = [\"h1\", \"h2c\"]",
            "faults.delay_tls_handshake",
            "no TLS arm",
        ),
        (
            "[faults]",
            "[target]\nh1 = \"http://127.0.0.1:1\"\nh2 = \"https://127.0.0.1:1\"\n[faults]",
            "faults",
            "remove one",
        ),
    ];
    for (from, to, key, reason) in cases {
        assert!(EVERY_KEY.contains(from), "{from:?}");
        let msg = error(&EVERY_KEY.replacen(from, to, 1));
        assert!(
            msg.contains(key) && msg.contains(reason),
            "{from:?} -> {to:?}: {msg}"
        );
    }
    // A URL for an arm the scenario does not run is a mistake, not a silent no-op.
    let text = EVERY_TARGET_KEY.replacen(
        "protocols = [\"h1\", \"h1-tls\", \"h2\", \"h2c\"]",
        "protocols = [\"h2\"]",
        1,
    );
    let msg = error(&text);
    assert!(msg.starts_with("x.toml:7: target.h1 = "), "{msg}");
    assert!(msg.contains("does not run h1"), "{msg}");
}
