//! A tiny run of streamed answers end to end: the scenario's tabs and POST against the embedded
//! server on h1 and h2c, the answers' rows in the report and their table in the summary. Seven
//! tabs on HTTP/1.1: six answers hold the six connections for longer than the point, the seventh
//! and the POST wait to the end; on HTTP/2 nothing waits.

// Test helpers outside `#[test]` functions may panic on setup failures.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{bench, report_rows, temp_dir, write};
use report::Value;

#[test]
fn a_run_of_answer_tabs_reports_their_metrics() {
    let dir = temp_dir("answers");
    let scenario = write(
        &dir,
        "tabs.toml",
        r#"
name = "tabs"
protocols = ["h1", "h2c"]
streams_per_client = 7
stream_kind = "answer"
warmup = "300ms"
duration = "700ms"
[posts]
rate_per_client = 2.0
[answers]
think_time = "1s"
max_tokens = 500
[server]
time_to_first_token = "20ms"
token_gap = "20ms"
"#,
    );
    let out = bench()
        .arg(&scenario)
        .args(["--no-plot", "--no-progress", "--out"])
        .arg(dir.join("results"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("Streamed answers:"), "{stdout}");
    assert!(stdout.contains("tok/s"), "{stdout}");
    assert!(
        stderr.contains("answers 0/7"),
        "the progress line: {stderr}"
    );
    let rows = report_rows(&dir.join("results"));
    let value = |protocol: &str, metric: &str| {
        rows.iter()
            .find(|r| r.key.protocol.as_str() == protocol && r.key.metric == metric)
            .map(|r| r.value)
            .unwrap_or_else(|| panic!("no {protocol} {metric} row"))
    };
    let counter = |protocol, metric| match value(protocol, metric) {
        Value::Counter(n) => n,
        other => panic!("{metric}: {other:?}"),
    };
    let latency = |protocol, metric| match value(protocol, metric) {
        Value::Latency(l) => l,
        other => panic!("{metric}: {other:?}"),
    };
    assert_eq!(counter("h1", "answers_scheduled"), 7);
    assert_eq!(counter("h1", "answers_streaming_at_end"), 6);
    assert_eq!(counter("h1", "answers_queued_at_end"), 1);
    assert_eq!(counter("h1", "time_to_first_token_censored"), 1);
    assert_eq!(counter("h1", "posts_stalled_at_end"), 1);
    assert_eq!(counter("h2c", "answers_streaming_at_end"), 7);
    assert_eq!(counter("h2c", "answers_queued_at_end"), 0);
    assert_eq!(counter("h2c", "posts_completed"), 1);
    for arm in ["h1", "h2c"] {
        assert_eq!(
            counter(arm, "streams_requested"),
            0,
            "tabs are no EventSources"
        );
        assert!(counter(arm, "tokens_received") > 0, "{arm}");
        assert_eq!(counter(arm, "answers_failed_reset"), 0, "{arm}");
        let gap = latency(arm, "inter_token_gap");
        assert!(
            gap.count > 0 && gap.p50.unwrap() >= 15_000,
            "{arm}: {gap:?}"
        );
        assert_eq!(latency(arm, "answer_time").count, 7, "{arm}: all censored");
    }
}
