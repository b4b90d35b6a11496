//! What is noise: medians over runs, the floor, the baseline's own spread, and percentiles read
//! from too few samples.

use super::*;

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
        report_of("n1.csv", sweep("n1", "ceiling")),
        report_of("n2.csv", outlier.clone()),
        report_of("n3.csv", sweep("n3", "ceiling")),
    ];
    let options = CompareOptions::default();
    let comparison = compare(&[report_of("base.csv", base.clone())], &runs, &options).unwrap();
    assert_eq!(comparison.verdict().unwrap(), Verdict::NoRegression);
    assert_eq!(comparison.new_runs.len(), 3);
    // The outlier alone is a regression: the median is what absorbs it.
    assert_eq!(run(base, outlier).verdict().unwrap(), Verdict::Regression);
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
        report_of(
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
        [report_of(
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
        report_of(
            id,
            with(sweep(id, "ceiling"), Protocol::H2, 1, "post_rtt", value),
        )
    };
    let base = [
        base_run("a1", Value::Latency(LatencySummary::EMPTY)),
        base_run("a2", Value::Latency(LatencySummary::EMPTY)),
        base_run("a3", latency_n(1_000, 2_000, 4_000)),
    ];
    let new = [report_of("b", sweep("b", "ceiling"))];
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
