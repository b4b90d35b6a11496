//! Streamed answers from a target (the `server` binary in its own process, as a server we did not
//! write would be): asked in Anthropic's framing with the target's model; a target whose answers
//! path does not stream answers refused by the probe before any point (exit 2); and a buffering
//! proxy in front of the target named in the summary, which a direct run does not show.

#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::{bench, report_rows, start_server, temp_dir, write};
use report::Value;
use test_support::proxy::{self, Buffering};

/// One client with two tabs asking answers of 60 tokens in `framing`, for 2.5 s.
fn scenario(framing: &str, target: &str) -> String {
    format!(
        r#"
name = "answers-target"
protocols = ["h1"]
streams_per_client = 2
stream_kind = "answer"
warmup = "200ms"
duration = "2500ms"
[answers]
framing = "{framing}"
max_tokens = 60
think_time = "10s"
{target}
"#
    )
}

/// The server binary answering 50 tokens a second, first token at once.
fn server() -> (common::KillOnDrop, String) {
    let (server, urls, _) = start_server(&[
        "--h1",
        "127.0.0.1:0",
        "--time-to-first-token",
        "0s",
        "--token-gap",
        "20ms",
    ]);
    let url = urls[0].1.clone();
    (server, url)
}

fn counter(rows: &[report::Row], metric: &str) -> u64 {
    match rows
        .iter()
        .find(|r| r.key.metric == metric)
        .map(|r| r.value)
    {
        Some(Value::Counter(n)) => n,
        other => panic!("{metric}: {other:?}"),
    }
}

/// Runs `bench` on `text` against `url`: (exit code, stdout, stderr, rows if any).
fn run(name: &str, text: &str, url: &str) -> (Option<i32>, String, String, Vec<report::Row>) {
    let dir = temp_dir(name);
    let file = write(&dir, "answers.toml", text);
    let out = bench()
        .arg(&file)
        .args(["--no-plot", "--no-progress", "--target"])
        .arg(format!("h1={url}"))
        .arg("--out")
        .arg(dir.join("results"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let rows = if out.status.success() {
        report_rows(&dir.join("results"))
    } else {
        Vec::new()
    };
    (out.status.code(), stdout, stderr, rows)
}

#[test]
fn anthropic_answers_from_a_target_with_its_model() {
    let (_server, url) = server();
    let text = scenario("anthropic", "[target]\nanswers_model = \"their-model\"\n");
    let (code, stdout, stderr, rows) = run("answers-anthropic", &text, &url);
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    assert_eq!(counter(&rows, "answers_completed"), 2, "{stdout}");
    assert_eq!(counter(&rows, "tokens_received"), 120);
    assert_eq!(counter(&rows, "errors"), 0);
    assert!(stdout.contains("Streamed answers:"), "{stdout}");
    assert!(!stdout.contains("buffered stream"), "{stdout}");
}

#[test]
fn a_target_that_does_not_stream_answers_is_refused_before_any_point() {
    let (_server, url) = server();
    let text = scenario("openai", "[target]\nanswers_path = \"/health\"\n");
    let (code, stdout, stderr, _) = run("answers-refused", &text, &url);
    assert_eq!(code, Some(2), "stdout: {stdout}\nstderr: {stderr}");
    let line = stderr.lines().find(|l| l.starts_with("error: ")).unwrap();
    assert!(
        line.contains("--target h1=") && line.contains("answers (POST /health"),
        "{line}"
    );
    assert!(line.contains("405"), "{line}");
}

#[test]
fn a_buffering_proxy_in_front_of_the_target_is_named_in_the_summary() {
    let (_server, url) = server();
    let upstream = url.trim_start_matches("http://").parse().unwrap();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let proxy = runtime.block_on(proxy::buffering(
        upstream,
        Buffering {
            flush_bytes: 4096,
            flush_after: Some(Duration::from_millis(300)),
        },
    ));
    let text = scenario("openai", "");
    let (code, stdout, stderr, rows) = run("answers-buffered", &text, &format!("http://{proxy}"));
    assert_eq!(code, Some(0), "stdout: {stdout}\nstderr: {stderr}");
    let (bursts, tokens) = (
        counter(&rows, "tokens_in_bursts"),
        counter(&rows, "tokens_received"),
    );
    assert!(
        loadgen::looks_buffered(tokens, bursts),
        "{bursts} of {tokens}"
    );
    // Named as a buffered stream; on a machine so busy that the load generator itself ran late
    // (its warning), the line says the bursts may be the harness's instead.
    let line = stdout
        .lines()
        .find(|l| l.starts_with("buffered stream: ") || l.starts_with("bursts: "))
        .unwrap_or_else(|| panic!("no buffered stream line: {stdout}"));
    assert!(line.contains("h1 clients=1"), "{line}");
    let saturated = stdout.contains("the load generator was the bottleneck");
    assert!(
        line.contains(if saturated {
            "bottleneck"
        } else {
            "proxy_buffering"
        }),
        "{line}"
    );
    drop(runtime);
}
