//! Which threshold applies where (`report::thresholds`, whose module documentation is the
//! specification): the most specific key wins, the defaults come from the metric catalog, a
//! thresholds file's lines keep their origin, and a user's key that matches nothing is reported.

// Helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{key, latency, meta, Scratch};
use report::thresholds::Origin;
use report::{
    compare, default_thresholds, CompareOptions, Protocol, Report, Row, ThresholdError,
    ThresholdSpec, Thresholds, Value,
};

fn spec(text: &str) -> ThresholdSpec {
    ThresholdSpec::parse_flag(text).unwrap()
}

/// The rule of each compared field of a latency metric, as `field:rule`.
fn latency_rules(thresholds: &Thresholds, metric: &str) -> Vec<String> {
    thresholds
        .latency_rules(metric)
        .iter()
        .map(|(field, spec)| format!("{field}:{}", spec.rule))
        .collect()
}

fn counter_rule(thresholds: &Thresholds, metric: &str) -> Option<String> {
    thresholds
        .counter_rule(metric)
        .map(|spec| spec.rule.to_string())
}

/// A field key (`p90`) applies to that field only, of every latency without a more specific key.
#[test]
fn a_field_key_applies_to_its_field_only() {
    let mut thresholds = Thresholds::default();
    thresholds.push(spec("p90=+30%"));
    assert_eq!(
        latency_rules(&thresholds, "post_rtt"),
        ["p50:+50%", "p90:+30%", "p99:+75%"]
    );
}

/// An exact name wins over any pattern, a longer pattern over a shorter, whatever their order.
#[test]
fn exact_names_beat_patterns_and_longer_patterns_beat_shorter_ones() {
    let mut thresholds = Thresholds::empty();
    thresholds.push(spec("errors_reset=+1"));
    thresholds.push(spec("errors_rst*=+2"));
    thresholds.push(spec("errors_*=+5"));
    assert_eq!(
        counter_rule(&thresholds, "errors_reset").as_deref(),
        Some("+1")
    );
    assert_eq!(
        counter_rule(&thresholds, "errors_rst_stream").as_deref(),
        Some("+2")
    );
    assert_eq!(
        counter_rule(&thresholds, "errors_goaway").as_deref(),
        Some("+5")
    );
}

/// The harness's own health (`client_lag`, `server_lag`: shown, never judged in the catalog) is
/// kept out of the default p50/p99 rules; a measured latency is not.
#[test]
fn the_harness_health_is_shown_not_judged_by_default() {
    let thresholds = Thresholds::default();
    for metric in ["client_lag", "server_lag"] {
        assert_eq!(
            latency_rules(&thresholds, metric),
            ["p50:off", "p99:off"],
            "{metric}"
        );
    }
    assert_eq!(
        latency_rules(&thresholds, "queue_wait"),
        ["p50:+50%", "p99:+75%"]
    );
}

/// The error classes share one default rule, as one `errors_*` pattern (which a user's
/// `errors_*` then overrides), not one line per class.
#[test]
fn the_error_classes_share_one_default_pattern() {
    let text = default_thresholds();
    let error_lines: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("errors"))
        .collect();
    assert_eq!(error_lines, ["errors=+0", "errors_*=+0"], "{text}");
}

/// A thresholds file: one `KEY=RULE` per line, comments and blank lines skipped, each threshold
/// remembering its file and line (shown when it matches nothing); a missing file is an error.
#[test]
fn a_thresholds_file_keeps_each_line_and_its_origin() {
    let dir = Scratch::new();
    let path = dir.write(
        "thresholds.txt",
        "# tighter tails\n\np99=+20%\nfanout.p50=off # not this one\n",
    );
    let mut thresholds = Thresholds::empty();
    thresholds.extend_from_file(&path).unwrap();
    let specs = thresholds.specs();
    let shown: Vec<String> = specs
        .iter()
        .map(|spec| format!("{spec} from {}", spec.origin))
        .collect();
    assert_eq!(
        shown,
        [
            format!("p99=+20% from {}:3", path.display()),
            format!("fanout.p50=off from {}:4", path.display()),
        ]
    );
    assert_eq!(Origin::Flag.to_string(), "--threshold");
    assert_eq!(Origin::Default.to_string(), "the defaults");

    let missing = dir.path("missing.txt");
    let err = thresholds.extend_from_file(&missing).unwrap_err();
    assert!(matches!(err, ThresholdError::Io { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("{}: cannot read thresholds", missing.display())
    );
}

fn report(name: &str, rows: Vec<Row>) -> Report {
    Report {
        path: name.into(),
        rows,
    }
}

fn row(metric: &str, value: Value) -> Row {
    Row {
        meta: meta("a"),
        key: key("edge", Protocol::H2, 1, metric),
        value,
        histogram: None,
    }
}

/// The user's keys that match no metric of either report, as shown in the warning.
fn unmatched(rows: Vec<Row>, user: &[&str]) -> Vec<String> {
    let mut options = CompareOptions::default();
    for text in user {
        options.thresholds.push(spec(text));
    }
    let comparison = compare(
        &[report("base.csv", rows.clone())],
        &[report("new.csv", rows)],
        &options,
    )
    .unwrap();
    comparison
        .unmatched_thresholds
        .iter()
        .map(ToString::to_string)
        .collect()
}

/// A field key matches latencies only; `metric.field` a latency of that name only.
#[test]
fn keys_that_match_nothing_are_reported() {
    let with_latency = vec![
        row("errors", Value::Counter(0)),
        row("post_rtt", latency(2_000, 9_000)),
    ];
    let user = [
        "p90=+10%",
        "post_rtt.p90=+10%",
        "post_rt.p90=+10%",
        "errors.p99=+1",
    ];
    assert_eq!(
        unmatched(with_latency, &user),
        ["post_rt.p90=+10%", "errors.p99=+1"]
    );
    let counters_only = vec![row("errors", Value::Counter(0))];
    assert_eq!(
        unmatched(counters_only, &["p90=+10%", "errors=+1"]),
        ["p90=+10%"]
    );
}
