//! Latencies read from the merged histograms of each side's runs: every sample of every run, so
//! that a latency with a handful of samples per run is judged on all of them, and its percentiles
//! are those of the union, not a median of each run's.

use super::*;

/// A run of the sweep whose h2 `connect` (one point) holds exactly `samples`, with its histogram.
fn run_with_connect(id: &str, samples: &[u64]) -> Report {
    let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
    for &s in samples {
        h.record(s).unwrap();
    }
    let mut rows = sweep(id, "ceiling");
    rows.push(Row {
        meta: common::meta(id),
        key: key("ceiling", Protocol::H2, 1, "connect"),
        value: Value::Latency(report::histogram::summary(&h)),
        histogram: Some(report::histogram::encode(&h)),
    });
    report_of(id, rows)
}

fn connect_p50(base: &[Report], new: &[Report]) -> (Option<f64>, Option<f64>, LineVerdict) {
    let comparison = compare(base, new, &CompareOptions::default()).unwrap();
    let wanted = key("ceiling", Protocol::H2, 1, "connect");
    let line = comparison
        .lines
        .iter()
        .find(|line| line.key == wanted && line.field == Some(LatencyField::P50))
        .unwrap();
    (line.base, line.new, line.verdict)
}

#[test]
fn a_few_samples_per_run_are_judged_together() {
    // 4 samples per run: too few for a p50 (10 needed) in any one run, 12 on each side merged.
    let base: Vec<Report> = ["a1", "a2", "a3"]
        .iter()
        .map(|id| run_with_connect(id, &[900, 1_000, 1_100, 1_200]))
        .collect();
    let same: Vec<Report> = ["b1", "b2", "b3"]
        .iter()
        .map(|id| run_with_connect(id, &[950, 1_000, 1_050, 1_150]))
        .collect();
    let (b, _, verdict) = connect_p50(&base, &same);
    assert_eq!(verdict, LineVerdict::Ok);
    assert_eq!(b, Some(1_000.0), "the p50 of the 12 samples");
    let slower: Vec<Report> = ["c1", "c2", "c3"]
        .iter()
        .map(|id| run_with_connect(id, &[5_900, 6_000, 6_100, 6_200]))
        .collect();
    assert_eq!(connect_p50(&base, &slower).2, LineVerdict::Regression);
    // One run alone has 4 samples: not judged, and the line says how many it needed.
    assert_eq!(
        connect_p50(&base[..1], &slower[..1]).2,
        LineVerdict::NotJudged(Unjudged::FewSamples {
            needed: Some(10),
            have: 4
        })
    );
}

#[test]
fn merged_percentiles_are_those_of_the_union() {
    // Two fast runs of 10 samples and one slow run of 30: the median of the three runs' p50s is
    // a fast run's, the p50 of all 50 samples is the slow run's.
    let base = [
        run_with_connect("a1", &[100; 10]),
        run_with_connect("a2", &[100; 10]),
        run_with_connect("a3", &[5_000; 30]),
    ];
    let (b, _, _) = connect_p50(&base, &base);
    assert_eq!(b, Some(5_003.0), "5,000 us in HDR's 3-digit buckets");
    // Without histograms the same runs give the median run's p50.
    let bare: Vec<Report> = base
        .iter()
        .cloned()
        .map(|mut r| {
            for row in &mut r.rows {
                row.histogram = None;
            }
            r
        })
        .collect();
    assert_eq!(connect_p50(&bare, &bare).0, Some(100.0));
}

#[test]
fn the_comparison_says_whether_every_latency_was_merged() {
    let with_histograms: Vec<Report> = ["a1", "a2"]
        .iter()
        .map(|id| run_with_connect(id, &[1_000; 12]))
        .collect();
    // The sweep's other latencies carry no histogram: only the merged connect rows do.
    let all_merged = |reports: &[Report]| -> Vec<Report> {
        reports
            .iter()
            .cloned()
            .map(|mut r| {
                r.rows.retain(|row| {
                    row.histogram.is_some() || !matches!(row.value, Value::Latency(_))
                });
                r
            })
            .collect()
    };
    let merged = all_merged(&with_histograms);
    let both = compare(&merged, &merged, &CompareOptions::default()).unwrap();
    assert!(both.merged);
    let bare: Vec<Report> = merged
        .iter()
        .cloned()
        .map(|mut r| {
            for row in &mut r.rows {
                row.histogram = None;
            }
            r
        })
        .collect();
    for (base, new) in [(&merged, &bare), (&bare, &merged)] {
        let one_side = compare(base, new, &CompareOptions::default()).unwrap();
        assert!(!one_side.merged, "one side without histograms");
        assert!(one_side
            .render(TableFormat::Text)
            .contains("medians over each side's runs"));
    }
    assert!(both
        .render(TableFormat::Text)
        .contains("read from the merged histograms"));
}

/// A sample count is a count, not a latency: its rule applies as it is, with no floor.
#[test]
fn a_count_rule_has_no_latency_floor() {
    let base = [run_with_connect("a", &[1_000; 1_000])];
    let fewer = [run_with_connect("b", &[1_000; 990])];
    let mut options = CompareOptions::default();
    options
        .thresholds
        .push(ThresholdSpec::parse_flag("connect.count=-0").unwrap());
    let comparison = compare(&base, &fewer, &options).unwrap();
    let wanted = key("ceiling", Protocol::H2, 1, "connect");
    let count: Vec<LineVerdict> = comparison
        .lines
        .iter()
        .filter(|line| line.key == wanted && line.field == Some(LatencyField::Count))
        .map(|line| line.verdict)
        .collect();
    assert_eq!(count, [LineVerdict::Regression], "10 samples fewer");
}
