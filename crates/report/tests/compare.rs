//! `bench compare`'s decisions: what is a regression, what is noise, what is unusable input.

// Helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

mod common;

use std::slice;

use common::{chain, key, latency, meta, sweep, write_rows, Scratch};
use report::{
    compare, compare_files, CompareError, CompareOptions, LatencyField, LatencySummary,
    LineVerdict, Protocol, Report, Row, TableFormat, ThresholdSpec, Value, Verdict,
};

fn report(name: &str, rows: Vec<Row>) -> Report {
    Report {
        path: name.into(),
        rows,
    }
}

/// `rows` with the value of one key replaced.
fn with(
    mut rows: Vec<Row>,
    protocol: Protocol,
    streams: u32,
    metric: &str,
    value: Value,
) -> Vec<Row> {
    let wanted = key("ceiling", protocol, streams, metric);
    let row = rows
        .iter_mut()
        .find(|row| row.key == wanted)
        .expect("key in sweep");
    row.value = value;
    rows
}

fn value_of(rows: &[Row], protocol: Protocol, streams: u32, metric: &str) -> Value {
    let wanted = key("ceiling", protocol, streams, metric);
    rows.iter()
        .find(|row| row.key == wanted)
        .expect("key in sweep")
        .value
}

fn run(base: Vec<Row>, new: Vec<Row>) -> report::Comparison {
    compare(
        &[report("base.csv", base)],
        &[report("new.csv", new)],
        &CompareOptions::default(),
    )
    .unwrap()
}

fn verdict_of(
    comparison: &report::Comparison,
    metric: &str,
    field: Option<LatencyField>,
) -> Vec<LineVerdict> {
    comparison
        .lines
        .iter()
        .filter(|line| line.key.metric == metric && line.field == field)
        .map(|line| line.verdict)
        .collect()
}

#[test]
fn identical_reports_do_not_regress() {
    let comparison = run(sweep("a", "ceiling"), sweep("b", "ceiling"));
    assert_eq!(comparison.verdict().unwrap(), Verdict::NoRegression);
    assert!(comparison
        .lines
        .iter()
        .all(|line| line.verdict == LineVerdict::Ok));
    // 2 arms x 5 points x (4 counters + 3 latencies x p50, p99).
    assert_eq!(comparison.lines.len(), 2 * 5 * (4 + 3 * 2));
}

#[test]
fn doubled_p99_is_a_regression() {
    let base = sweep("a", "ceiling");
    let Value::Latency(summary) = value_of(&base, Protocol::H2, 8, "time_to_first_event") else {
        panic!("latency expected");
    };
    let p99 = summary.p99.unwrap();
    assert!(p99 > 1_000, "the change must exceed the default floor");
    let doubled = LatencySummary {
        p99: Some(2 * p99),
        p999: Some(2 * p99),
        max: Some(2 * p99),
        ..summary
    };
    let new = with(
        sweep("b", "ceiling"),
        Protocol::H2,
        8,
        "time_to_first_event",
        Value::Latency(doubled),
    );
    let comparison = run(base, new);
    assert_eq!(comparison.verdict().unwrap(), Verdict::Regression);
    let regressed: Vec<_> = comparison
        .lines
        .iter()
        .filter(|line| line.verdict.is_regression())
        .map(|line| (line.key.to_string(), line.field))
        .collect();
    assert_eq!(
        regressed,
        [(
            "ceiling emulated h2 clients=1 streams_per_client=8 time_to_first_event".to_owned(),
            Some(LatencyField::P99)
        )]
    );
}

#[test]
fn microsecond_changes_stay_under_the_floor() {
    let base = with(
        sweep("a", "ceiling"),
        Protocol::H2,
        1,
        "queue_wait",
        latency(1, 1),
    );
    let new = with(
        sweep("b", "ceiling"),
        Protocol::H2,
        1,
        "queue_wait",
        latency(1, 2),
    );
    let comparison = run(base.clone(), new.clone());
    assert_eq!(comparison.verdict().unwrap(), Verdict::NoRegression);

    // Without the floor the same +100% is caught: the floor is what keeps it quiet.
    let options = CompareOptions {
        floor_us: 0,
        ..CompareOptions::default()
    };
    let strict = compare(&[report("a", base)], &[report("b", new)], &options).unwrap();
    assert_eq!(strict.verdict().unwrap(), Verdict::Regression);
}

#[test]
fn more_streams_opened_is_a_behaviour_change() {
    let base = sweep("a", "ceiling");
    let new = with(
        sweep("b", "ceiling"),
        Protocol::H1,
        8,
        "streams_opened",
        Value::Counter(8),
    );
    let comparison = run(base, new);
    assert_eq!(comparison.verdict().unwrap(), Verdict::Regression);
    assert_eq!(
        verdict_of(&comparison, "streams_opened", None)
            .into_iter()
            .filter(|v| *v != LineVerdict::Ok)
            .collect::<Vec<_>>(),
        [LineVerdict::Changed]
    );
}

#[test]
fn counters_follow_their_rules() {
    let base = sweep("a", "ceiling");
    let more_posts = with(
        sweep("b", "ceiling"),
        Protocol::H2,
        1,
        "posts_completed",
        Value::Counter(21),
    );
    let comparison = run(base.clone(), more_posts);
    assert_eq!(comparison.verdict().unwrap(), Verdict::NoRegression);
    assert_eq!(comparison.count(LineVerdict::Improved), 1);

    let fewer_posts = with(
        sweep("b", "ceiling"),
        Protocol::H2,
        1,
        "posts_completed",
        Value::Counter(19),
    );
    assert_eq!(
        run(base.clone(), fewer_posts).verdict().unwrap(),
        Verdict::Regression
    );

    let an_error = with(
        sweep("b", "ceiling"),
        Protocol::H2,
        1,
        "errors",
        Value::Counter(1),
    );
    assert_eq!(
        run(base.clone(), an_error).verdict().unwrap(),
        Verdict::Regression
    );

    // No rule for streams_requested: shown, never fails.
    let requested = with(
        sweep("b", "ceiling"),
        Protocol::H2,
        1,
        "streams_requested",
        Value::Counter(99),
    );
    assert_eq!(
        run(base, requested).verdict().unwrap(),
        Verdict::NoRegression
    );
}

#[test]
fn losing_all_samples_is_a_regression() {
    let base = sweep("a", "ceiling");
    let new = with(
        sweep("b", "ceiling"),
        Protocol::H2,
        1,
        "post_rtt",
        Value::Latency(LatencySummary::EMPTY),
    );
    let comparison = run(base.clone(), new.clone());
    assert_eq!(comparison.verdict().unwrap(), Verdict::Regression);
    assert!(
        verdict_of(&comparison, "post_rtt", Some(LatencyField::Count))
            .contains(&LineVerdict::Regression)
    );
    // Gaining samples is not.
    assert_eq!(run(new, base).verdict().unwrap(), Verdict::NoRegression);
}

#[test]
fn a_missing_row_makes_the_input_unusable() {
    let base = sweep("a", "ceiling");
    let mut new = sweep("b", "ceiling");
    let gone = key("ceiling", Protocol::H2, 12, "errors");
    new.retain(|row| row.key != gone);
    let comparison = run(base.clone(), new.clone());
    let err = comparison.verdict().unwrap_err();
    assert!(matches!(err, CompareError::MissingRows { .. }));
    assert_eq!(
        err.to_string(),
        "reports do not cover the same rows: 1 row only in base: \
         `ceiling emulated h2 clients=1 streams_per_client=12 errors`"
    );
    assert_eq!(comparison.count(LineVerdict::BaseOnly), 1);

    let options = CompareOptions {
        allow_missing: true,
        ..CompareOptions::default()
    };
    let allowed = compare(&[report("a", base)], &[report("b", new)], &options).unwrap();
    assert_eq!(allowed.verdict().unwrap(), Verdict::NoRegression);
}

#[test]
fn reports_of_different_scenarios_are_unusable() {
    let err = compare(
        &[report("a", sweep("a", "ceiling"))],
        &[report("b", sweep("b", "fanout"))],
        &CompareOptions::default(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "base and new share no scenario: base has [\"ceiling\"], new has [\"fanout\"]"
    );
}

#[test]
fn unreadable_reports_name_file_and_line() {
    let dir = Scratch::new();
    let base = dir.path("base.csv");
    write_rows(&base, &sweep("a", "ceiling"));
    let text = std::fs::read_to_string(&base).unwrap();
    let broken = dir.write(
        "new.csv",
        &text.replacen(",h2,loopback,1,1,", ",h2,loopback,1,x,", 1),
    );
    let options = CompareOptions::default();
    let err =
        compare_files(slice::from_ref(&base), slice::from_ref(&broken), &options).unwrap_err();
    let line = text
        .lines()
        .position(|l| l.contains(",h2,loopback,1,1,"))
        .unwrap()
        + 1;
    assert_eq!(
        chain(&err),
        format!(
            "{}:{line}: column `streams_per_client`: bad value \"x\": not an unsigned integer",
            broken.display()
        )
    );

    let doubled = dir.write(
        "doubled.csv",
        &format!("{text}{}\n", text.lines().nth(1).unwrap()),
    );
    let err = compare_files(&[base], slice::from_ref(&doubled), &options).unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "{}:{}: duplicate row",
            doubled.display(),
            text.lines().count() + 1
        )),
        "{err}"
    );
}

#[test]
fn median_of_three_runs_ignores_one_outlier() {
    let base = sweep("a", "ceiling");
    let outlier = with(
        sweep("n2", "ceiling"),
        Protocol::H2,
        8,
        "time_to_first_event",
        latency(5_000, 50_000),
    );
    let runs = [
        report("n1.csv", sweep("n1", "ceiling")),
        report("n2.csv", outlier.clone()),
        report("n3.csv", sweep("n3", "ceiling")),
    ];
    let options = CompareOptions::default();
    let comparison = compare(&[report("base.csv", base.clone())], &runs, &options).unwrap();
    assert_eq!(comparison.verdict().unwrap(), Verdict::NoRegression);
    assert_eq!(comparison.new_runs.len(), 3);
    // The outlier alone is a regression: the median is what absorbs it.
    assert_eq!(run(base, outlier).verdict().unwrap(), Verdict::Regression);
}

#[test]
fn runs_of_one_side_must_cover_the_same_rows() {
    let mut short = sweep("n2", "ceiling");
    short.pop();
    let err = compare(
        &[report("base.csv", sweep("a", "ceiling"))],
        &[
            report("n1.csv", sweep("n1", "ceiling")),
            report("n2.csv", short),
        ],
        &CompareOptions::default(),
    )
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("new runs do not cover the same rows: ceiling emulated h2"),
        "{err}"
    );
    assert!(
        err.to_string().ends_with("is in n1.csv but not in n2.csv"),
        "{err}"
    );
}

#[test]
fn user_thresholds_override_defaults() {
    let base = sweep("a", "ceiling");
    let new = with(
        sweep("b", "ceiling"),
        Protocol::H1,
        8,
        "streams_opened",
        Value::Counter(8),
    );
    let mut options = CompareOptions::default();
    options
        .thresholds
        .push(ThresholdSpec::parse_flag("streams_opened=off").unwrap());
    options
        .thresholds
        .push(ThresholdSpec::parse_flag("streams_opend=+0").unwrap());
    let comparison = compare(&[report("a", base)], &[report("b", new)], &options).unwrap();
    assert_eq!(comparison.verdict().unwrap(), Verdict::NoRegression);
    let unmatched: Vec<String> = comparison
        .unmatched_thresholds
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(unmatched, ["streams_opend=+0"]);
}

#[test]
fn tables_show_every_line_and_the_tally() {
    let base = sweep("a", "ceiling");
    let new = with(
        sweep("b", "ceiling"),
        Protocol::H1,
        8,
        "streams_opened",
        Value::Counter(8),
    );
    let comparison = run(base, new);

    let text = comparison.render(TableFormat::Text);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "base: 1 run (base.csv)");
    let header = lines
        .iter()
        .position(|l| l.starts_with("scenario"))
        .unwrap();
    let changed = lines.iter().find(|l| l.ends_with("CHANGED")).unwrap();
    // Columns line up: `verdict` starts where the verdicts start.
    assert_eq!(lines[header].find("verdict"), changed.find("CHANGED"));
    assert!(changed.contains("streams_opened"), "{changed}");
    assert!(changed.contains("+33.3%"), "{changed}");
    assert!(text.contains("\n100 lines: 99 ok, 1 CHANGED\n"), "{text}");
    // The failing line is repeated at the end, below its own header.
    let recap: Vec<&str> = text
        .split("failing lines:\n")
        .nth(1)
        .unwrap()
        .lines()
        .collect();
    assert_eq!(recap.len(), 4, "{recap:?}");
    assert!(recap[1].starts_with("scenario"), "{recap:?}");
    assert!(
        recap[3].contains("streams_opened") && recap[3].ends_with("CHANGED"),
        "{recap:?}"
    );
    let identical = run(sweep("a", "ceiling"), sweep("b", "ceiling")).render(TableFormat::Text);
    assert!(identical.ends_with("100 lines: 100 ok\n"), "{identical}");

    let markdown = comparison.render(TableFormat::Markdown);
    assert!(
        markdown.starts_with("- base: 1 run (base.csv)\n"),
        "{markdown}"
    );
    assert!(
        markdown.contains("\n| scenario | arm | clients |"),
        "{markdown}"
    );
    assert!(markdown.contains("|:---|:---|---:|"), "{markdown}");
    assert!(
        markdown.contains("| streams_opened | value | 6 | 8 | +2 | +33.3% | =0 | **CHANGED** |"),
        "{markdown}"
    );
}

#[test]
fn meta_is_not_part_of_the_key() {
    // Same rows from different hosts and revisions still join.
    let mut new = sweep("b", "ceiling");
    for row in &mut new {
        row.meta = report::RunMeta {
            host: "other".into(),
            ..meta("b")
        };
    }
    assert_eq!(
        run(sweep("a", "ceiling"), new).verdict().unwrap(),
        Verdict::NoRegression
    );
}

#[test]
fn across_clients_joins_emulated_and_chromium_rows() {
    let base = sweep("a", "ceiling");
    // The Chromium side: same keys relabelled, one metric fewer, streams_opened off by one.
    let mut chromium: Vec<Row> = sweep("b", "ceiling")
        .into_iter()
        .map(|mut row| {
            row.key.client = report::ClientKind::Chromium;
            row
        })
        .collect();
    let dropped = chromium.pop().unwrap().key.metric;

    // Joined on the client column, nothing lines up: unusable input.
    let strict = compare(
        &[report("emulated.csv", base.clone())],
        &[report("chromium.csv", chromium.clone())],
        &CompareOptions::default(),
    )
    .unwrap();
    assert!(strict.verdict().is_err());

    let options = CompareOptions {
        across_clients: true,
        ..CompareOptions::default()
    };
    let joined = compare(
        &[report("emulated.csv", base.clone())],
        &[report("chromium.csv", chromium.clone())],
        &options,
    )
    .unwrap();
    assert_eq!(joined.verdict().unwrap(), Verdict::NoRegression);
    assert_eq!(
        joined.count(LineVerdict::BaseOnly),
        1,
        "{dropped} is emulated-only"
    );
    assert_eq!(joined.count(LineVerdict::NewOnly), 0);

    // A real disagreement still shows.
    let streams = value_of(&base, Protocol::H1, 8, "streams_opened");
    let Value::Counter(n) = streams else {
        panic!("counter")
    };
    let chromium = chromium
        .into_iter()
        .map(|mut row| {
            if row.key.metric == "streams_opened"
                && row.key.protocol == Protocol::H1
                && row.key.streams_per_client == 8
            {
                row.value = Value::Counter(n + 1);
            }
            row
        })
        .collect();
    let disagree = compare(
        &[report("emulated.csv", base)],
        &[report("chromium.csv", chromium)],
        &options,
    )
    .unwrap();
    assert_eq!(disagree.verdict().unwrap(), Verdict::Regression);
}

/// The verdicts of `post_rtt` at h2, 1 stream per client (the row the tests below change).
fn verdict_at(comparison: &report::Comparison, field: Option<LatencyField>) -> Vec<LineVerdict> {
    let wanted = key("ceiling", Protocol::H2, 1, "post_rtt");
    comparison
        .lines
        .iter()
        .filter(|line| line.key == wanted && line.field == field)
        .map(|line| line.verdict)
        .collect()
}

/// A latency row with `count` samples and its p50 at `p50_us` (every other field consistent).
fn latency_n(count: u64, p50_us: u64, p99_us: u64) -> Value {
    let Value::Latency(summary) = latency(p50_us, p99_us) else {
        unreachable!("latency() is a latency")
    };
    Value::Latency(LatencySummary { count, ..summary })
}

#[test]
fn samples_needed_per_field_are_pinned() {
    use report::samples_needed;
    let needed = |field| samples_needed(field, report::DEFAULT_MIN_TAIL_SAMPLES);
    assert_eq!(report::DEFAULT_MIN_TAIL_SAMPLES, 5);
    assert_eq!(needed(LatencyField::Count), Some(0));
    assert_eq!(needed(LatencyField::Mean), Some(10));
    assert_eq!(needed(LatencyField::P50), Some(10));
    assert_eq!(needed(LatencyField::P90), Some(50));
    assert_eq!(needed(LatencyField::P99), Some(500));
    assert_eq!(needed(LatencyField::P999), Some(5000));
    assert_eq!(
        needed(LatencyField::Max),
        None,
        "max is one sample, never enough"
    );
    assert_eq!(samples_needed(LatencyField::Max, 0), Some(0));
}

#[test]
fn percentiles_of_few_samples_are_shown_not_judged() {
    // A p99 read from 499 samples (4 beyond it) moves a lot by chance: shown, never a regression.
    let judge = |count: u64| {
        let base = with(
            sweep("a", "ceiling"),
            Protocol::H2,
            1,
            "post_rtt",
            latency_n(count, 2_000, 4_000),
        );
        let new = with(
            sweep("b", "ceiling"),
            Protocol::H2,
            1,
            "post_rtt",
            latency_n(count, 2_000, 40_000),
        );
        let comparison = run(base, new);
        let verdicts = verdict_at(&comparison, Some(LatencyField::P99));
        (verdicts, comparison.verdict().unwrap())
    };
    assert_eq!(
        judge(499),
        (vec![LineVerdict::FewSamples], Verdict::NoRegression)
    );
    assert_eq!(
        judge(500),
        (vec![LineVerdict::Regression], Verdict::Regression)
    );
    // The p50 of 9 samples is not judged; of 10 it is.
    let p50 = |count: u64| {
        let base = with(
            sweep("a", "ceiling"),
            Protocol::H2,
            1,
            "post_rtt",
            latency_n(count, 2_000, 4_000),
        );
        let new = with(
            sweep("b", "ceiling"),
            Protocol::H2,
            1,
            "post_rtt",
            latency_n(count, 9_000, 9_000),
        );
        verdict_at(&run(base, new), Some(LatencyField::P50))
    };
    assert_eq!(p50(9), [LineVerdict::FewSamples]);
    assert_eq!(p50(10), [LineVerdict::Regression]);
}

#[test]
fn the_floor_is_one_millisecond_and_its_boundary_is_ok() {
    assert_eq!(report::DEFAULT_FLOOR_US, 1_000);
    // A p50 of 100 us: +1000 us is +1000% but within the floor; +1001 us is beyond it.
    let p50_after = |new_p50: u64| {
        let base = with(
            sweep("a", "ceiling"),
            Protocol::H2,
            1,
            "post_rtt",
            latency_n(1_000, 100, 5_000),
        );
        let new = with(
            sweep("b", "ceiling"),
            Protocol::H2,
            1,
            "post_rtt",
            latency_n(1_000, new_p50, 5_000),
        );
        verdict_at(&run(base, new), Some(LatencyField::P50))
    };
    assert_eq!(p50_after(1_100), [LineVerdict::Ok]);
    assert_eq!(p50_after(1_101), [LineVerdict::Regression]);
}

#[test]
fn changes_within_the_baselines_spread_do_not_count() {
    // Three baseline runs whose p50 spans 2 ms to 5 ms (spread 3 ms, median 3 ms).
    let base_run = |id: &str, p50: u64| {
        report(
            id,
            with(
                sweep(id, "ceiling"),
                Protocol::H2,
                1,
                "post_rtt",
                latency_n(1_000, p50, 20_000),
            ),
        )
    };
    let base = [
        base_run("a1", 2_000),
        base_run("a2", 5_000),
        base_run("a3", 3_000),
    ];
    let new_side = |p50: u64| {
        [report(
            "b",
            with(
                sweep("b", "ceiling"),
                Protocol::H2,
                1,
                "post_rtt",
                latency_n(1_000, p50, 20_000),
            ),
        )]
    };
    let p50 = |new_p50: u64| {
        let comparison = compare(&base, &new_side(new_p50), &CompareOptions::default()).unwrap();
        verdict_at(&comparison, Some(LatencyField::P50))
    };
    // +3 ms is +100%, beyond p50's +50%, but no more than the baseline's own spread.
    assert_eq!(p50(6_000), [LineVerdict::Ok]);
    assert_eq!(p50(6_001), [LineVerdict::Regression]);
}

/// The loss proof must not go vacuous: `messages_expected` falling to 0 where the base owed
/// messages means nothing was proven, whatever `messages_lost` says.
#[test]
fn a_loss_proof_owed_nothing_is_a_regression() {
    let proof = |expected: u64| {
        let mut rows = sweep("a", "ceiling");
        for (metric, value) in [("messages_expected", expected), ("messages_lost", 0)] {
            rows.push(Row {
                meta: meta("a"),
                key: key("ceiling", Protocol::H2, 1, metric),
                value: Value::Counter(value),
                histogram: None,
            });
        }
        rows
    };
    let verdict = |base: u64, new: u64| {
        let comparison = run(proof(base), proof(new));
        (
            verdict_of(&comparison, "messages_expected", None),
            comparison.verdict().unwrap(),
        )
    };
    assert_eq!(
        verdict(120, 0),
        (vec![LineVerdict::Regression], Verdict::Regression)
    );
    assert_eq!(
        verdict(120, 3),
        (vec![LineVerdict::Ok], Verdict::NoRegression)
    );
    assert_eq!(
        verdict(0, 0),
        (vec![LineVerdict::Ok], Verdict::NoRegression)
    );
}

/// `--format json`: one object whose shape is a contract.
#[test]
fn json_output_has_every_line_and_the_verdict() {
    let base = sweep("a", "ceiling");
    let new = with(
        sweep("b", "ceiling"),
        Protocol::H1,
        8,
        "streams_opened",
        Value::Counter(8),
    );
    let comparison = run(base, new);
    let json: serde_json::Value =
        serde_json::from_str(&comparison.render(TableFormat::Json)).expect("valid JSON");
    assert_eq!(json["verdict"], "regression");
    assert_eq!(json["floor_us"], 1000);
    assert_eq!(json["base_runs"][0], "base.csv");
    let lines = json["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), comparison.lines.len());
    let changed: Vec<&serde_json::Value> =
        lines.iter().filter(|l| l["verdict"] == "CHANGED").collect();
    assert_eq!(changed.len(), 1);
    let line = changed[0];
    assert_eq!(line["metric"], "streams_opened");
    assert_eq!(line["protocol"], "h1");
    assert_eq!(line["network"], "loopback");
    assert_eq!(line["streams_per_client"], 8);
    assert_eq!(
        (line["base"].as_f64(), line["new"].as_f64()),
        (Some(6.0), Some(8.0))
    );
    assert_eq!(line["threshold"], "=0");
}

/// A latency that gains samples (none in BASE) has nothing to be judged against: its percentile
/// lines are `ok` (shown), neither `few-samples` nor a regression, whatever NEW's count.
#[test]
fn gaining_samples_leaves_the_percentiles_unjudged() {
    let base = sweep("a", "ceiling");
    assert_eq!(
        value_of(&base, Protocol::H1, 8, "post_rtt"),
        Value::Latency(LatencySummary::EMPTY)
    );
    for count in [3, 1_000] {
        let new = with(
            sweep("b", "ceiling"),
            Protocol::H1,
            8,
            "post_rtt",
            latency_n(count, 2_000, 4_000),
        );
        let comparison = run(base.clone(), new);
        let wanted = key("ceiling", Protocol::H1, 8, "post_rtt");
        let lines: Vec<(Option<LatencyField>, LineVerdict)> = comparison
            .lines
            .iter()
            .filter(|line| line.key == wanted)
            .map(|line| (line.field, line.verdict))
            .collect();
        assert_eq!(
            lines,
            [
                (Some(LatencyField::P50), LineVerdict::Ok),
                (Some(LatencyField::P99), LineVerdict::Ok)
            ],
            "{count} samples"
        );
    }
}

/// A side's value is its median run's: when the median run of a latency had no samples, the side
/// has no percentiles, even if another run had some.
#[test]
fn a_median_run_without_samples_gives_no_percentiles() {
    let base_run = |id: &str, value: Value| {
        report(
            id,
            with(sweep(id, "ceiling"), Protocol::H2, 1, "post_rtt", value),
        )
    };
    let base = [
        base_run("a1", Value::Latency(LatencySummary::EMPTY)),
        base_run("a2", Value::Latency(LatencySummary::EMPTY)),
        base_run("a3", latency_n(1_000, 2_000, 4_000)),
    ];
    let new = [report("b", sweep("b", "ceiling"))];
    let comparison = compare(&base, &new, &CompareOptions::default()).unwrap();
    let wanted = key("ceiling", Protocol::H2, 1, "post_rtt");
    let base_values: Vec<(Option<LatencyField>, Option<f64>)> = comparison
        .lines
        .iter()
        .filter(|line| line.key == wanted)
        .map(|line| (line.field, line.base))
        .collect();
    assert_eq!(
        base_values,
        [
            (Some(LatencyField::P50), None),
            (Some(LatencyField::P99), None)
        ]
    );
}
