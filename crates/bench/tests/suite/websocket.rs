//! The WebSocket arms end to end through the `bench` binary: a tiny chat on `ws` and `wss`
//! against the embedded server, and against the `server` binary as an external WebSocket server
//! (the contract of scenarios/README.md: the URL from the target, the channel in the query), with
//! the server's memory read through `--server-pid`.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::io::{BufRead, BufReader};

use std::process::{Command, Stdio};

use common::{bench, report_rows, server_binary, temp_dir, write, KillOnDrop};
use report::Value;

const SCENARIO: &str = r#"
name = "tiny-ws"
protocols = ["ws", "wss"]
clients = 3
streams_per_client = 2
warmup = "500ms"
duration = "1500ms"
[posts]
rate_per_client = 4.0
[server]
event_interval = "100ms"
"#;

fn counter(rows: &[report::Row], protocol: &str, metric: &str) -> u64 {
    match rows
        .iter()
        .find(|r| r.key.protocol.as_str() == protocol && r.key.metric == metric)
        .map(|r| r.value)
    {
        Some(Value::Counter(n)) => n,
        other => panic!("{protocol} {metric}: {other:?}"),
    }
}

fn samples(rows: &[report::Row], protocol: &str, metric: &str) -> u64 {
    match rows
        .iter()
        .find(|r| r.key.protocol.as_str() == protocol && r.key.metric == metric)
        .map(|r| r.value)
    {
        Some(Value::Latency(l)) => l.count,
        other => panic!("{protocol} {metric}: {other:?}"),
    }
}

/// What every WebSocket point of the tiny chat must show: 6 sockets open, each on its own
/// connection, the messages echoed and fanned out to the 6 sockets, nothing lost.
fn check_chat(rows: &[report::Row], protocol: &str, page_connections: u64) {
    assert_eq!(counter(rows, protocol, "streams_requested"), 6);
    assert_eq!(counter(rows, protocol, "streams_opened"), 6);
    assert_eq!(counter(rows, protocol, "streams_queued_at_end"), 0);
    assert_eq!(
        counter(rows, protocol, "connections_carrying_requests"),
        6 + page_connections,
        "one connection per socket, plus the page's"
    );
    assert_eq!(samples(rows, protocol, "time_to_open"), 6);
    let scheduled = counter(rows, protocol, "posts_scheduled");
    assert_eq!(scheduled, 3 * 6, "floor(4 x 1.5) messages per client");
    let completed = counter(rows, protocol, "posts_completed");
    // No error: each message was echoed, or it was its client's last, still on its way.
    let pending = counter(rows, protocol, "posts_stalled_at_end");
    assert_eq!(
        completed + pending,
        scheduled,
        "{completed} of {scheduled} echoed"
    );
    assert!(pending <= 3, "{completed} of {scheduled} echoed");
    assert_eq!(samples(rows, protocol, "post_rtt"), scheduled);
    assert!(samples(rows, protocol, "fanout") >= completed * 6 - 6);
    assert!(
        counter(rows, protocol, "messages_expected") > 0,
        "a vacuous proof"
    );
    assert_eq!(counter(rows, protocol, "messages_lost"), 0);
    assert_eq!(counter(rows, protocol, "messages_duplicated"), 0);
    assert_eq!(counter(rows, protocol, "errors"), 0);
}

#[test]
fn a_websocket_chat_against_the_embedded_server() {
    let dir = temp_dir("ws-embedded");
    let scenario = write(&dir, "tiny-ws.toml", SCENARIO);
    let out = bench()
        .arg(&scenario)
        .args(["--no-plot", "--no-progress", "--out"])
        .arg(dir.join("results"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = report_rows(&dir.join("results"));
    for protocol in ["ws", "wss"] {
        // The clients load their page first (`/health`), on a connection of its own.
        check_chat(&rows, protocol, 3);
        assert_eq!(
            counter(&rows, protocol, "server_connections_carrying_requests"),
            9
        );
        assert!(samples(&rows, protocol, "event_delivery") > 0);
    }
    assert!(
        !rows.iter().any(|r| r.key.metric == "server_rss_per_client"),
        "no memory figure without --server-pid"
    );
}

#[test]
fn a_websocket_chat_against_an_external_server() {
    let dir = temp_dir("ws-external");
    let scenario = write(&dir, "tiny-ws.toml", SCENARIO);
    let cert = dir.join("cert.pem");
    let mut child = Command::new(server_binary())
        .args([
            "--ws",
            "127.0.0.1:0",
            "--wss",
            "127.0.0.1:0",
            "--write-cert",
        ])
        .arg(&cert)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = KillOnDrop(child);
    let mut urls = Vec::new();
    for line in BufReader::new(stdout).lines().take(2) {
        let line = line.unwrap();
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words.first(), Some(&"listening"), "{line}");
        urls.push((words[1].to_owned(), words[2].to_owned()));
    }
    let url = |arm: &str| urls.iter().find(|(a, _)| a == arm).unwrap().1.clone();
    // ws: the origin URL (the sockets on /ws?channel=bench); wss: a wss:// URL naming its own
    // path and channel.
    let wss = format!(
        "{}/ws?channel=elsewhere",
        url("wss").replace("https://", "wss://")
    );
    let out = bench()
        .arg(&scenario)
        .args(["--no-plot", "--no-progress", "--cacert"])
        .arg(&cert)
        .arg("--target")
        .arg(format!("ws={}", url("ws")))
        .arg("--target")
        .arg(format!("wss={wss}"))
        .arg("--server-pid")
        .arg(server.0.id().to_string())
        .arg("--out")
        .arg(dir.join("results"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = report_rows(&dir.join("results"));
    for protocol in ["ws", "wss"] {
        // No page with a target.
        check_chat(&rows, protocol, 0);
        // Its memory was read: six sockets' state for three clients, some bytes each (the
        // figure itself depends on the allocator; a missing row fails `counter`).
        let per_client = counter(&rows, protocol, "server_rss_per_client");
        assert!(
            per_client < 64 << 20,
            "{protocol}: {per_client} B per client"
        );
    }
    drop(server);

    // --server-pid without a target, or naming no process: unusable input.
    let no_target = bench()
        .arg(&scenario)
        .args(["--no-plot", "--no-progress", "--server-pid", "1"])
        .output()
        .unwrap();
    assert_eq!(no_target.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&no_target.stderr).contains("needs a target"));
}

/// The same chat in Chromium (`bench browser`): every socket opens on a connection of its own,
/// the page's connection is counted as the emulation counts it, and the messages are echoed.
#[test]
fn a_websocket_chat_in_chromium() {
    let dir = temp_dir("ws-chromium");
    let scenario = write(&dir, "tiny-ws.toml", SCENARIO);
    let out = bench()
        .args([
            "browser",
            "--browser",
            "chromium",
            "--no-plot",
            "--no-progress",
            "--set",
            "protocols=[\"wss\"]",
            "--out",
        ])
        .arg(dir.join("results"))
        .arg(&scenario)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let rows = report_rows(&dir.join("results"));
    assert_eq!(counter(&rows, "wss", "streams_opened"), 6);
    assert_eq!(counter(&rows, "wss", "streams_queued_at_end"), 0);
    assert_eq!(counter(&rows, "wss", "connections_carrying_requests"), 9);
    assert_eq!(
        counter(&rows, "wss", "server_connections_carrying_requests"),
        9
    );
    assert_eq!(samples(&rows, "wss", "time_to_open"), 6);
    let scheduled = counter(&rows, "wss", "posts_scheduled");
    assert_eq!(scheduled, 3 * 6);
    let (completed, pending) = (
        counter(&rows, "wss", "posts_completed"),
        counter(&rows, "wss", "posts_stalled_at_end"),
    );
    assert_eq!(
        completed + pending,
        scheduled,
        "{completed} of {scheduled} echoed"
    );
    assert!(pending <= 3, "{completed} of {scheduled} echoed");
}
