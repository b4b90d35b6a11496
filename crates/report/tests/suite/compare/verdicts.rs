//! What is a regression: each rule of the defaults and of the user's thresholds, on counters
//! and latencies, and what joins two reports' rows.

use super::*;

/// Identical reports: every judged line is `ok`, and every other line says why it was not judged:
/// `streams_requested` has no default threshold, and `post_rtt` has no samples where the h1
/// POSTs stall behind the ceiling (8 and 12 streams).
#[test]
fn identical_reports_do_not_regress() {
    let comparison = run(sweep("a", "ceiling"), sweep("b", "ceiling"));
    assert_eq!(comparison.verdict().unwrap(), Verdict::NoRegression);
    let mut unjudged = Vec::new();
    for line in &comparison.lines {
        match line.verdict {
            LineVerdict::Ok => {}
            LineVerdict::NotJudged(why) => unjudged.push((
                line.key.protocol,
                line.key.streams_per_client,
                line.key.metric.as_str(),
                why,
            )),
            other => panic!("{other:?}: {line:?}"),
        }
    }
    let mut expected = Vec::new();
    for protocol in [Protocol::H1, Protocol::H2] {
        for streams in [1, 4, 6, 8, 12] {
            expected.push((
                protocol,
                streams,
                "streams_requested",
                Unjudged::NoThreshold,
            ));
            if protocol == Protocol::H1 && streams > 6 {
                expected.extend([(protocol, streams, "post_rtt", Unjudged::NoSamples); 2]);
            }
        }
    }
    unjudged.sort_by_key(|u| format!("{u:?}"));
    expected.sort_by_key(|u| format!("{u:?}"));
    assert_eq!(unjudged, expected);
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
    let strict = compare(&[report_of("a", base)], &[report_of("b", new)], &options).unwrap();
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

    // No rule for streams_requested: shown, not judged, never fails.
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
    let comparison = compare(&[report_of("a", base)], &[report_of("b", new)], &options).unwrap();
    assert_eq!(comparison.verdict().unwrap(), Verdict::NoRegression);
    let unmatched: Vec<String> = comparison
        .unmatched_thresholds
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(unmatched, ["streams_opend=+0"]);
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
        &[report_of("emulated.csv", base.clone())],
        &[report_of("chromium.csv", chromium.clone())],
        &CompareOptions::default(),
    )
    .unwrap();
    assert!(strict.verdict().is_err());

    let options = CompareOptions {
        across_clients: true,
        ..CompareOptions::default()
    };
    let joined = compare(
        &[report_of("emulated.csv", base.clone())],
        &[report_of("chromium.csv", chromium.clone())],
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
        &[report_of("emulated.csv", base)],
        &[report_of("chromium.csv", chromium)],
        &options,
    )
    .unwrap();
    assert_eq!(disagree.verdict().unwrap(), Verdict::Regression);
}
