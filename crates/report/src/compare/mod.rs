//! Comparing runs: did NEW regress against BASE?
//!
//! Rows are joined on their [`RowKey`]. Each side may hold several runs; a side's value for a key
//! is the median over its runs, field by field (see [`Side`]). Each joined value is held against
//! its [`Thresholds`] rule, giving one [`Line`] per counter and per compared latency field.
//!
//! What makes input unusable ([`CompareError`]) rather than a regression: an unreadable or
//! malformed report, a report with no rows, runs of one side covering different rows, a key that is
//! a counter in one place and a latency in another, two sides sharing no scenario, and (unless
//! [`CompareOptions::allow_missing`]) rows present on one side only.

use std::collections::BTreeSet;
use std::path::PathBuf;

mod error;
mod line;
mod side;

pub use error::CompareError;
pub use line::{Criterion, Line, LineVerdict, Side, Unjudged, Verdict};

use crate::error::ReportError;
use crate::read::Report;
use crate::schema::{LatencyField, MetricKind, RowKey};
use crate::thresholds::{
    Direction, Judgement, Origin, Rule, ThresholdSpec, Thresholds, DEFAULT_FLOOR_US,
    FLOOR_SHARE_OF_BASE, MIN_FLOOR_US,
};
use side::{has_samples, Median, SideMedians};

/// How to compare.
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// The rules; see [`Thresholds`].
    pub thresholds: Thresholds,
    /// A latency change of at most this many microseconds (or of at most
    /// [`FLOOR_SHARE_OF_BASE`] of the base value, when that is smaller, but never under
    /// [`MIN_FLOOR_US`]: [`floor_for`]) is neither a regression nor an improvement; 0 disables
    /// the floor.
    pub floor_us: u64,
    /// Rows present on one side only are listed but do not make the input unusable.
    pub allow_missing: bool,
    /// Join rows whatever their `client` column says, so that an emulated report and a Chromium
    /// report of the same scenario sit side by side. Every row takes the client kind of the first
    /// base row; since the two clients do not record the same metrics, it implies `allow_missing`.
    pub across_clients: bool,
    /// A percentile is compared only when each side has at least this many samples at or beyond
    /// it (see [`samples_needed`]): in its merged histogram, or, for runs without histograms, in
    /// every run; 0 compares whatever the sample count.
    pub min_tail_samples: u64,
}

/// The default [`CompareOptions::min_tail_samples`]: a percentile read from fewer than five
/// samples beyond it is one or two unlucky samples, not a distribution (the p99 of 8 samples is
/// their maximum).
pub const DEFAULT_MIN_TAIL_SAMPLES: u64 = 5;

/// The fewest samples each run needs for `field` to be compared: `min_tail` samples at or beyond
/// the percentile (p50: 2 x min_tail, p90: 10 x, p99: 100 x, p999: 1000 x; the mean as the p50).
/// `None` for `max`, which is always one sample; `Some(0)` for `count`.
pub fn samples_needed(field: LatencyField, min_tail: u64) -> Option<u64> {
    let per_tail_sample = match field {
        LatencyField::Count => return Some(0),
        LatencyField::Max => return if min_tail == 0 { Some(0) } else { None },
        LatencyField::Mean | LatencyField::P50 => 2,
        LatencyField::P90 => 10,
        LatencyField::P99 => 100,
        LatencyField::P999 => 1000,
    };
    Some(min_tail.saturating_mul(per_tail_sample))
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            thresholds: Thresholds::default(),
            floor_us: DEFAULT_FLOOR_US,
            allow_missing: false,
            across_clients: false,
            min_tail_samples: DEFAULT_MIN_TAIL_SAMPLES,
        }
    }
}

/// The result of [`compare`]: every line, and what the summary needs.
#[derive(Debug, Clone)]
pub struct Comparison {
    /// The BASE reports, in the order given.
    pub base_runs: Vec<PathBuf>,
    /// The NEW reports, in the order given.
    pub new_runs: Vec<PathBuf>,
    /// The latency floor used, microseconds.
    pub floor_us: u64,
    /// The samples beyond a percentile each side needed for it to be judged.
    pub min_tail_samples: u64,
    /// Whether every latency was read from the merged histograms of its runs (else, for rows
    /// without histograms, from the median of the runs' values).
    pub merged: bool,
    /// Every line, ordered by key and field.
    pub lines: Vec<Line>,
    /// Thresholds given by the user (not defaults) that match no metric of either side: most
    /// likely typos.
    pub unmatched_thresholds: Vec<ThresholdSpec>,
    allow_missing: bool,
}

impl Comparison {
    /// The overall verdict; an error if rows are one-sided and that is not allowed.
    pub fn verdict(&self) -> Result<Verdict, CompareError> {
        let only = |verdict| -> Vec<RowKey> {
            let keys: BTreeSet<&RowKey> = self
                .lines
                .iter()
                .filter(|line| line.verdict == verdict)
                .map(|line| &line.key)
                .collect();
            keys.into_iter().cloned().collect()
        };
        let (base_only, new_only) = (only(LineVerdict::BaseOnly), only(LineVerdict::NewOnly));
        let one_sided = !(base_only.is_empty() && new_only.is_empty());
        if one_sided && !self.allow_missing {
            return Err(CompareError::MissingRows {
                base_only,
                new_only,
            });
        }
        if self.lines.iter().any(|line| line.verdict.is_regression()) {
            Ok(Verdict::Regression)
        } else {
            Ok(Verdict::NoRegression)
        }
    }

    /// How many lines have this verdict.
    pub fn count(&self, verdict: LineVerdict) -> usize {
        self.lines
            .iter()
            .filter(|line| line.verdict == verdict)
            .count()
    }
}

/// Reads the reports and compares them; see [`compare`].
pub fn compare_files(
    base: &[PathBuf],
    new: &[PathBuf],
    options: &CompareOptions,
) -> Result<Comparison, CompareError> {
    let read = |paths: &[PathBuf]| -> Result<Vec<Report>, ReportError> {
        paths.iter().map(|path| Report::read(path)).collect()
    };
    compare(&read(base)?, &read(new)?, options)
}

/// Compares NEW against BASE. See the [module documentation](self).
pub fn compare(
    base: &[Report],
    new: &[Report],
    options: &CompareOptions,
) -> Result<Comparison, CompareError> {
    if options.across_clients {
        let client = base
            .iter()
            .flat_map(|r| r.rows.first())
            .map(|row| row.key.client)
            .next();
        if let Some(client) = client {
            let relabel = |reports: &[Report]| -> Vec<Report> {
                reports
                    .iter()
                    .map(|r| {
                        let mut r = r.clone();
                        for row in &mut r.rows {
                            row.key.client = client;
                        }
                        r
                    })
                    .collect()
            };
            let options = CompareOptions {
                across_clients: false,
                allow_missing: true,
                ..options.clone()
            };
            return compare(&relabel(base), &relabel(new), &options);
        }
    }
    let base_side = SideMedians::new(Side::Base, base)?;
    let new_side = SideMedians::new(Side::New, new)?;
    let (base_scenarios, new_scenarios) = (base_side.scenarios(), new_side.scenarios());
    if base_scenarios.is_disjoint(&new_scenarios) {
        let names = |set: BTreeSet<&str>| set.into_iter().map(str::to_owned).collect();
        return Err(CompareError::NoCommonScenario {
            base: names(base_scenarios),
            new: names(new_scenarios),
        });
    }

    let keys: BTreeSet<&RowKey> = base_side
        .medians
        .keys()
        .chain(new_side.medians.keys())
        .copied()
        .collect();
    let mut lines = Vec::new();
    for key in keys {
        match (base_side.medians.get(key), new_side.medians.get(key)) {
            (Some((base, base_path)), Some((new, new_path))) => {
                if base.kind() != new.kind() {
                    return Err(CompareError::KindDiffers {
                        key: Box::new(key.clone()),
                        first: base.kind(),
                        first_path: base_path.to_path_buf(),
                        second: new.kind(),
                        second_path: new_path.to_path_buf(),
                    });
                }
                compare_key(key, base, new, options, &mut lines);
            }
            (Some((base, _)), None) => lines.push(one_sided(key, base, Side::Base)),
            (None, Some((new, _))) => lines.push(one_sided(key, new, Side::New)),
            (None, None) => {}
        }
    }

    let metrics: BTreeSet<(&str, MetricKind)> = base_side
        .medians
        .iter()
        .chain(new_side.medians.iter())
        .map(|(key, (median, _))| (key.metric.as_str(), median.kind()))
        .collect();
    let unmatched_thresholds = options
        .thresholds
        .specs()
        .iter()
        .filter(|spec| spec.origin != Origin::Default)
        .filter(|spec| {
            !metrics
                .iter()
                .any(|(metric, kind)| spec.selector.matches(metric, *kind))
        })
        .cloned()
        .collect();

    let merged = base_side.merged() && new_side.merged();
    Ok(Comparison {
        base_runs: base_side.paths,
        new_runs: new_side.paths,
        floor_us: options.floor_us,
        min_tail_samples: options.min_tail_samples,
        merged,
        lines,
        unmatched_thresholds,
        allow_missing: options.allow_missing,
    })
}

/// The lines of a key present on both sides.
fn compare_key(
    key: &RowKey,
    base: &Median,
    new: &Median,
    options: &CompareOptions,
    lines: &mut Vec<Line>,
) {
    let line = |field, base, new, criterion, verdict| Line {
        key: key.clone(),
        kind: base_kind(field),
        field,
        base,
        new,
        criterion,
        verdict,
    };
    let rule_of = |spec: Option<&ThresholdSpec>| match spec.map(|spec| spec.rule) {
        None => Err(LineVerdict::NotJudged(Unjudged::NoThreshold)),
        Some(Rule::Off) => Err(LineVerdict::NotJudged(Unjudged::ThresholdOff)),
        Some(rule) => Ok(rule),
    };
    match (base, new) {
        (Median::Counter(base), Median::Counter(new)) => {
            let (criterion, verdict) = match rule_of(options.thresholds.counter_rule(&key.metric)) {
                Err(unjudged) => (Criterion::None, unjudged),
                Ok(rule) => (Criterion::Rule(rule), judge(&rule, *base, *new)),
            };
            lines.push(line(None, Some(*base), Some(*new), criterion, verdict));
        }
        (Median::Latency(base_latency), Median::Latency(new_latency)) => {
            let count = Some(LatencyField::Count);
            let base_count = base.field(LatencyField::Count);
            let new_count = new.field(LatencyField::Count);
            if has_samples(base) && !has_samples(new) {
                let verdict = LineVerdict::Regression;
                lines.push(line(
                    count,
                    base_count,
                    new_count,
                    Criterion::HasSamples,
                    verdict,
                ));
                return;
            }
            let fewest = base_latency.samples.min(new_latency.samples);
            for (field, spec) in options.thresholds.latency_rules(&key.metric) {
                let spread = base_latency.spread[field as usize].unwrap_or(0.0);
                let (base, new) = (base.field(field), new.field(field));
                let rule = match rule_of(Some(spec)) {
                    Ok(rule) => rule,
                    Err(unjudged) => {
                        lines.push(line(Some(field), base, new, Criterion::None, unjudged));
                        continue;
                    }
                };
                let (criterion, verdict) = match (base, new) {
                    _ if field == LatencyField::Count => {
                        let verdict = both(base, new, |b, n| judge(&rule, b, n));
                        (Criterion::Rule(rule), verdict)
                    }
                    (None, None) => (Criterion::None, not_judged(Unjudged::NoSamples)),
                    (None, Some(_)) => (Criterion::None, not_judged(Unjudged::NoBaseSamples)),
                    (Some(b), Some(n)) => {
                        let needed = samples_needed(field, options.min_tail_samples);
                        if needed.is_none_or(|needed| fewest < needed) {
                            let few = Unjudged::FewSamples {
                                needed,
                                have: fewest,
                            };
                            (Criterion::None, not_judged(few))
                        } else {
                            let floor = floor_for(options.floor_us, b);
                            let verdict = if (n - b).abs() <= spread.max(floor) {
                                LineVerdict::Ok
                            } else {
                                judge(&rule, b, n)
                            };
                            let criterion = Criterion::RuleAboveNoise {
                                rule,
                                floor,
                                spread,
                            };
                            (criterion, verdict)
                        }
                    }
                    // has_samples(base) && !has_samples(new) returned above.
                    (Some(_), None) => (Criterion::HasSamples, LineVerdict::Regression),
                };
                lines.push(line(Some(field), base, new, criterion, verdict));
            }
        }
        // compare() checks the kinds before calling.
        _ => {}
    }
}

fn not_judged(why: Unjudged) -> LineVerdict {
    LineVerdict::NotJudged(why)
}

/// The floor of a latency line whose BASE value is `base`: [`FLOOR_SHARE_OF_BASE`] of `base`,
/// so that a doubling of a value far under the `--floor-us` floor is still beyond it, but at
/// most that floor and at least [`MIN_FLOOR_US`] (or the floor, when it is lower: 0 disables it).
pub fn floor_for(floor_us: u64, base: f64) -> f64 {
    let most = floor_us as f64;
    (base.abs() * FLOOR_SHARE_OF_BASE).clamp(MIN_FLOOR_US.min(most), most)
}

fn base_kind(field: Option<LatencyField>) -> MetricKind {
    match field {
        None => MetricKind::Counter,
        Some(_) => MetricKind::Latency,
    }
}

/// Judges a `count` pair (always both present for a latency row).
fn both(
    base: Option<f64>,
    new: Option<f64>,
    judge: impl Fn(f64, f64) -> LineVerdict,
) -> LineVerdict {
    match (base, new) {
        (Some(base), Some(new)) => judge(base, new),
        _ => LineVerdict::Ok,
    }
}

fn judge(rule: &Rule, base: f64, new: f64) -> LineVerdict {
    match rule.judge(base, new) {
        Judgement::Within => LineVerdict::Ok,
        Judgement::Improved => LineVerdict::Improved,
        Judgement::Beyond => match rule {
            Rule::Limit {
                direction: Direction::Either,
                ..
            } => LineVerdict::Changed,
            _ => LineVerdict::Regression,
        },
    }
}

/// The line of a key present on one side only: a counter's value, or a latency's sample count.
fn one_sided(key: &RowKey, median: &Median, side: Side) -> Line {
    let (field, value) = match median {
        Median::Counter(value) => (None, Some(*value)),
        Median::Latency(_) => (Some(LatencyField::Count), median.field(LatencyField::Count)),
    };
    let (base, new, verdict) = match side {
        Side::Base => (value, None, LineVerdict::BaseOnly),
        Side::New => (None, value, LineVerdict::NewOnly),
    };
    Line {
        key: key.clone(),
        kind: median.kind(),
        field,
        base,
        new,
        criterion: Criterion::None,
        verdict,
    }
}
