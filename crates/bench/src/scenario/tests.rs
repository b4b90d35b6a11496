use std::path::Path;
use std::time::Duration;

use vocab::Protocol;

use super::{Scenario, ScenarioError};

mod answers;
mod keys;

const GOOD: &str = r#"
name = "t"
protocols = ["h1-tls", "h2"]
clients = [1, 2]
streams_per_client = 8
duration = "2s"

[posts]
rate_per_client = 2.5
"#;

fn parse(text: &str) -> Result<Scenario, ScenarioError> {
    Scenario::parse(Path::new("x.toml"), text)
}

/// The error's one-line message, which must name the file and a line.
fn error(text: &str) -> String {
    let e = parse(text).expect_err("must be rejected");
    let msg = super::one_line(&e);
    assert!(msg.starts_with("x.toml:"), "{msg}");
    assert!(!msg.contains('\n'), "one line: {msg}");
    msg
}

#[test]
fn good_scenario_and_defaults() {
    let s = parse(GOOD).unwrap();
    assert_eq!(s.protocols, [Protocol::H1Tls, Protocol::H2]);
    assert_eq!(s.clients, [1, 2]);
    assert_eq!(s.streams_per_client, [8]);
    assert_eq!(s.duration, Duration::from_secs(2));
    assert_eq!(s.warmup, Duration::from_secs(1));
    assert_eq!(s.max_connections_per_origin, 6);
    assert_eq!(s.browser, vocab::BrowserProfile::Chromium);
    assert_eq!(s.reconnect_delay, Duration::from_secs(3));
    assert_eq!(s.posts.rate_per_client, 2.5);
    assert_eq!(s.server.max_concurrent_streams, 100);
    assert!(s.target.is_none());
    assert_eq!(s.points().len(), 4);
    let points: Vec<(u32, u32, Protocol)> = s
        .points()
        .iter()
        .map(|p| (p.clients, p.streams_per_client, p.arm))
        .collect();
    assert_eq!(points[0], (1, 8, Protocol::H1Tls));
    assert_eq!(points[1], (1, 8, Protocol::H2));
    assert!(s.points().iter().all(|p| p.network.is_none()));
}

#[test]
fn shipped_scenarios_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            Scenario::load_with(&path, &[]).unwrap_or_else(|e| panic!("{}", super::one_line(&e)));
            n += 1;
        }
    }
    assert!(n >= 4, "found {n} scenarios");
}

#[test]
fn each_bad_value_names_line_key_and_rule() {
    let cases: &[(&str, &str, &[&str])] = &[
        ("duration = \"2s\"", "duration = \"0s\"", &[":6:", "duration", "more than 0s"]),
        ("duration = \"2s\"", "duration = \"2 fortnights\"", &["duration", "unit"]),
        ("duration = \"2s\"", "duration = 2", &[":6:", "duration", "string"]),
        ("clients = [1, 2]", "clients = []", &[":4:", "clients", "empty sweep"]),
        ("clients = [1, 2]", "clients = 0", &[":4:", "clients", "from 1 to 100000"]),
        ("clients = [1, 2]", "clients = [1, 1]", &["clients", "twice"]),
        ("clients = [1, 2]", "clients = \"many\"", &[":4:", "integer or a list"]),
        ("protocols = [\"h1-tls\", \"h2\"]", "protocols = [\"h4\"]", &[":3:", "protocols", "h1, h1-tls, h2, h2c, ws, wss, h3"]),
        ("protocols = [\"h1-tls\", \"h2\"]", "protocols = []", &["protocols", "at least one"]),
        ("rate_per_client = 2.5", "rate_per_client = -1.0", &[":9:", "posts.rate_per_client"]),
        ("rate_per_client = 2.5", "rate_per_client = 2.5\nbody_size = 100000", &[":10:", "posts.body_size", "65536"]),
        ("rate_per_client = 2.5", "rate_per_clients = 2.5", &[":9:", "unknown field", "rate_per_clients"]),
        ("name = \"t\"", "name = \"a/b\"", &[":2:", "name"]),
        ("name = \"t\"\n", "", &["missing field", "name"]),
        ("streams_per_client = 8", "streams_per_client = 8\nmax_connections_per_origin = 0", &[":6:", "max_connections_per_origin"]),
        ("streams_per_client = 8", "streams_per_client = 8\nwarmup = \"2h\"", &["warmup", "from 0s to 1h"]),
        ("rate_per_client = 2.5", "rate_per_client = 2.5\n[server]\nmax_concurrent_streams = 0", &["server.max_concurrent_streams"]),
        ("rate_per_client = 2.5", "rate_per_client = 2.5\n[target]\nurl = \"ftp://127.0.0.1:1\"", &["target.url", "https://"]),
        ("rate_per_client = 2.5", "rate_per_client = 2.5\n[target]\nurl = \"https://127.0.0.1:1\"\ninsecure = true\ncacert = \"c.pem\"", &["target.insecure", "choose one"]),
        ("[posts]", "[posts", &["x.toml:"]),
    ];
    for (from, to, needles) in cases {
        assert!(GOOD.contains(from), "case pattern {from:?}");
        let msg = error(&GOOD.replacen(from, to, 1));
        for needle in *needles {
            assert!(msg.contains(needle), "{to:?}: {msg:?} lacks {needle:?}");
        }
    }
}

#[test]
fn unreadable_file_is_named() {
    let e = Scenario::load_with(Path::new("/nonexistent/s.toml"), &[]).unwrap_err();
    let msg = super::one_line(&e);
    assert!(
        msg.contains("/nonexistent/s.toml") && msg.contains("No such file"),
        "{msg}"
    );
}

#[test]
fn the_page_defaults_to_the_embedded_servers_document_and_to_none_elsewhere() {
    let parse = |extra: &str| {
        Scenario::parse(
            Path::new("p.toml"),
            &format!("name = \"p\"\nprotocols = [\"h2\"]\nduration = \"1s\"\n{extra}"),
        )
        .expect("a valid scenario")
    };
    let unset = parse("");
    assert_eq!(unset.page_path(true).as_deref(), Some("/health"));
    assert_eq!(unset.page_path(false), None);
    let set = parse("page = \"/app\"");
    assert_eq!(set.page_path(false).as_deref(), Some("/app"));
    let none = parse("page = \"\"");
    assert_eq!(none.page_path(true), None);
}

/// `browser = "firefox"`: the emulation follows Firefox, whose EventSource waits 5 s before
/// reconnecting (Chromium 3 s); an explicit `reconnect_delay` still wins.
#[test]
fn the_browser_profile_sets_the_reconnect_delay() {
    let firefox = parse(&format!("browser = \"firefox\"\n{GOOD}")).unwrap();
    assert_eq!(firefox.browser, vocab::BrowserProfile::Firefox);
    assert_eq!(firefox.reconnect_delay, Duration::from_secs(5));
    let set = parse(&format!(
        "browser = \"firefox\"\nreconnect_delay = \"1s\"\n{GOOD}"
    ))
    .unwrap();
    assert_eq!(set.reconnect_delay, Duration::from_secs(1));
}

/// A point's workload is the scenario's, with the point's clients and streams and the channel's
/// paths: what the emulation and the browsers both run.
#[test]
fn a_points_workload_comes_from_the_scenario() {
    let s = parse(&GOOD.replacen("[posts]", "channel = \"room\"\n\n[posts]", 1)).unwrap();
    let point = s.points()[3];
    let w = s.workload(&point);
    assert_eq!((w.clients, w.streams_per_client), (point.clients, 8));
    assert_eq!(w.clients, 2);
    assert_eq!((w.warmup, w.duration), (s.warmup, Duration::from_secs(2)));
    assert_eq!(w.posts.rate_per_client, 2.5);
    assert_eq!(w.posts.body_bytes, loadgen::defaults::POST_BODY_BYTES);
    assert_eq!(w.paths, vocab::Paths::for_channel("room"));
    assert_eq!(w.paths.events, "/events?channel=room");
    assert_eq!(w.reconnect_delay, s.reconnect_delay);
}
