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
    let few = |have| {
        LineVerdict::NotJudged(Unjudged::FewSamples {
            needed: Some(500),
            have,
        })
    };
    assert_eq!(judge(499), (vec![few(499)], Verdict::NoRegression));
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
    assert_eq!(
        p50(9),
        [LineVerdict::NotJudged(Unjudged::FewSamples {
            needed: Some(10),
            have: 9
        })]
    );
    assert_eq!(p50(10), [LineVerdict::Regression]);
}

/// The floor is 1 ms, or half the base value when that is less, and never under 20 us: a doubled
/// loopback median is caught, however far under 1 ms it is (issue #23: the flat 1 ms floor let
/// a median of 0.1 ms grow tenfold unflagged).
#[test]
fn the_floor_scales_with_the_base_value() {
    assert_eq!(report::DEFAULT_FLOOR_US, 1_000);
    let p50_after = |base_p50: u64, new_p50: u64| {
        let base = with(
            sweep("a", "ceiling"),
            Protocol::H2,
            1,
            "post_rtt",
            latency_n(1_000, base_p50, 50_000),
        );
        let new = with(
            sweep("b", "ceiling"),
            Protocol::H2,
            1,
            "post_rtt",
            latency_n(1_000, new_p50, 50_000),
        );
        verdict_at(&run(base, new), Some(LatencyField::P50))
    };
    // A p50 of 100 us: the floor is 50 us and the rule, +50%, decides.
    assert_eq!(p50_after(100, 150), [LineVerdict::Ok]);
    assert_eq!(p50_after(100, 151), [LineVerdict::Regression]);
    assert_eq!(p50_after(100, 200), [LineVerdict::Regression], "doubled");
    // A p50 of 10 ms: the floor is 1 ms, and +50% (5 ms) decides.
    assert_eq!(p50_after(10_000, 15_000), [LineVerdict::Ok]);
    assert_eq!(p50_after(10_000, 15_001), [LineVerdict::Regression]);
    // A p50 of 3 us: the floor is 20 us, so 3 -> 23 us is noise, 3 -> 24 us is not.
    assert_eq!(p50_after(3, 23), [LineVerdict::Ok]);
    assert_eq!(p50_after(3, 24), [LineVerdict::Regression]);
    assert_eq!(report::floor_for(1_000, 100.0), 50.0);
    assert_eq!(report::floor_for(1_000, 10_000.0), 1_000.0);
    assert_eq!(report::floor_for(1_000, 3.0), report::MIN_FLOOR_US);
    assert_eq!(report::floor_for(0, 100.0), 0.0, "--floor-us 0 disables it");
    assert_eq!(report::floor_for(10, 3.0), 10.0, "never above --floor-us");
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
/// lines say so (`not judged: no samples in base`), never a regression, whatever NEW's count.
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
                (Some(LatencyField::P50), not_judged(Unjudged::NoBaseSamples)),
                (Some(LatencyField::P99), not_judged(Unjudged::NoBaseSamples))
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
