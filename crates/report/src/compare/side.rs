//! One side of a comparison: several runs of the same scenarios reduced, key by key, to one
//! value each: a counter to the median over the runs, so that one noisy run out of three cannot
//! flip a verdict; a latency to the percentiles of the runs' merged histograms (every sample of
//! every run, so that a latency of a few samples per run is read from all of them), or, when a
//! run carries no histogram, to the median of each field over the runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::error::CompareError;
use super::line::Side;
use crate::histogram;
use crate::read::Report;
use crate::schema::{LatencyField, MetricKind, RowKey, Value};

/// One row's value over a side's runs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Median {
    /// The median of a counter.
    Counter(f64),
    /// A latency's fields, and how much they varied between the runs.
    Latency(Box<LatencyMedian>),
}

/// A latency row over a side's runs. Arrays are indexed like [`LatencyField::ALL`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LatencyMedian {
    /// Each field: `count` is the median of the runs' counts; the others are read from the merged
    /// histogram when every run carries one, else they are the median of the runs' values (all
    /// `None` when the median run had no samples).
    pub(crate) fields: [Option<f64>; 7],
    /// Each field's spread between the runs (largest minus smallest); 0 with one run.
    pub(crate) spread: [Option<f64>; 7],
    /// The samples the fields were read from: all the runs' together when merged, else the
    /// fewest of any one run.
    pub(crate) samples: u64,
    /// Whether the fields were read from the merged histograms.
    pub(crate) merged: bool,
}

impl Median {
    pub(crate) fn kind(&self) -> MetricKind {
        match self {
            Median::Counter(_) => MetricKind::Counter,
            Median::Latency(_) => MetricKind::Latency,
        }
    }

    /// A latency field; `None` for a counter or without samples.
    pub(crate) fn field(&self, field: LatencyField) -> Option<f64> {
        match self {
            Median::Counter(_) => None,
            Median::Latency(latency) => latency.fields[field as usize],
        }
    }
}

/// A side reduced to medians, with the file each key was first seen in.
#[derive(Debug)]
pub(crate) struct SideMedians<'a> {
    pub(crate) medians: BTreeMap<&'a RowKey, (Median, &'a Path)>,
    pub(crate) paths: Vec<PathBuf>,
}

impl<'a> SideMedians<'a> {
    /// Reduces `runs` to medians. Every run must cover the same keys with the same kinds.
    pub(crate) fn new(side: Side, runs: &'a [Report]) -> Result<Self, CompareError> {
        if runs.is_empty() {
            return Err(CompareError::NoRuns { side });
        }
        let mut values: BTreeMap<&RowKey, Vec<RunValue<'a>>> = BTreeMap::new();
        for run in runs {
            if run.rows.is_empty() {
                return Err(CompareError::EmptyReport {
                    path: run.path.clone(),
                });
            }
            for row in &run.rows {
                values.entry(&row.key).or_default().push(RunValue {
                    value: row.value,
                    histogram: row.histogram.as_deref(),
                    path: &run.path,
                });
            }
        }
        for run in runs {
            let keys: BTreeSet<&RowKey> = run.rows.iter().map(|row| &row.key).collect();
            if let Some(key) = values.keys().find(|key| !keys.contains(*key)) {
                let present = values[*key][0].path.to_owned();
                return Err(CompareError::RunsDiffer {
                    side,
                    key: Box::new((*key).clone()),
                    present,
                    absent: run.path.clone(),
                });
            }
        }
        let mut medians = BTreeMap::new();
        for (key, values) in values {
            let first_path = values[0].path;
            medians.insert(key, (median_of(key, &values)?, first_path));
        }
        Ok(Self {
            medians,
            paths: runs.iter().map(|run| run.path.clone()).collect(),
        })
    }

    /// Whether every latency of this side was read from merged histograms.
    pub(crate) fn merged(&self) -> bool {
        self.medians.values().all(|(median, _)| match median {
            Median::Counter(_) => true,
            Median::Latency(latency) => latency.merged,
        })
    }

    /// The scenarios this side covers.
    pub(crate) fn scenarios(&self) -> BTreeSet<&'a str> {
        self.medians
            .keys()
            .map(|key| key.scenario.as_str())
            .collect()
    }
}

/// One run's value of a key.
#[derive(Debug, Clone, Copy)]
struct RunValue<'a> {
    value: Value,
    /// A latency row's `histogram` cell, if the run wrote it.
    histogram: Option<&'a str>,
    path: &'a Path,
}

/// One key's value over the runs of a side.
fn median_of(key: &RowKey, values: &[RunValue<'_>]) -> Result<Median, CompareError> {
    let first = values[0];
    if let Some(other) = values
        .iter()
        .find(|run| run.value.kind() != first.value.kind())
    {
        return Err(CompareError::KindDiffers {
            key: Box::new(key.clone()),
            first: first.value.kind(),
            first_path: first.path.to_owned(),
            second: other.value.kind(),
            second_path: other.path.to_owned(),
        });
    }
    if let Value::Counter(_) = first.value {
        let counts = values.iter().filter_map(|run| match run.value {
            Value::Counter(count) => Some(count as f64),
            Value::Latency(_) => None,
        });
        return Ok(Median::Counter(median(counts).unwrap_or_default()));
    }
    let summaries: Vec<_> = values
        .iter()
        .filter_map(|run| match run.value {
            Value::Latency(summary) => Some(summary),
            Value::Counter(_) => None,
        })
        .collect();
    let mut fields = [None; 7];
    let mut spread = [None; 7];
    fields[LatencyField::Count as usize] = median(summaries.iter().map(|s| s.count as f64));
    spread[LatencyField::Count as usize] = range(summaries.iter().map(|s| s.count as f64));
    for field in LatencyField::ALL {
        if field != LatencyField::Count {
            spread[field as usize] = range(summaries.iter().filter_map(|s| s.get(field)));
        }
    }
    // The reader has checked that every histogram cell decodes.
    let histograms: Option<Vec<_>> = values
        .iter()
        .map(|run| run.histogram.and_then(|cell| histogram::decode(cell).ok()))
        .collect();
    if let Some(merged) = histograms.as_ref().and_then(histogram::merge) {
        let summary = histogram::summary(&merged);
        for field in LatencyField::ALL {
            if field != LatencyField::Count {
                fields[field as usize] = summary.get(field);
            }
        }
        return Ok(Median::Latency(Box::new(LatencyMedian {
            fields,
            spread,
            samples: summary.count,
            merged: true,
        })));
    }
    let has_samples = fields[LatencyField::Count as usize].is_some_and(|count| count > 0.0);
    if has_samples {
        for field in LatencyField::ALL {
            if field != LatencyField::Count {
                fields[field as usize] = median(summaries.iter().filter_map(|s| s.get(field)));
            }
        }
    }
    Ok(Median::Latency(Box::new(LatencyMedian {
        fields,
        spread,
        samples: summaries.iter().map(|s| s.count).min().unwrap_or(0),
        merged: false,
    })))
}

/// Largest minus smallest; `None` if empty.
fn range(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(low, high), v| {
        (low.min(v), high.max(v))
    });
    (low <= high).then_some(high - low)
}

/// The median; of an even number of values, the mean of the middle two. `None` if empty.
pub(crate) fn median(values: impl Iterator<Item = f64>) -> Option<f64> {
    let mut values: Vec<f64> = values.collect();
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    match values.len() {
        0 => None,
        n if n % 2 == 1 => Some(values[mid]),
        _ => Some((values[mid - 1] + values[mid]) / 2.0),
    }
}

/// True when a latency row has percentiles: its merged histogram, or its median run, had
/// samples.
pub(crate) fn has_samples(median: &Median) -> bool {
    median.field(LatencyField::P50).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn medians() {
        assert_eq!(median([].into_iter()), None);
        assert_eq!(median([3.0].into_iter()), Some(3.0));
        assert_eq!(median([9.0, 1.0, 3.0].into_iter()), Some(3.0));
        assert_eq!(median([4.0, 1.0, 3.0, 100.0].into_iter()), Some(3.5));
        assert_eq!(range([].into_iter()), None);
        assert_eq!(range([3.0].into_iter()), Some(0.0));
        assert_eq!(range([9.0, 1.0, 3.0].into_iter()), Some(8.0));
    }
}
