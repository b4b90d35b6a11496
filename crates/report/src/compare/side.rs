//! One side of a comparison: several runs of the same scenarios reduced, key by key, to the
//! median of each value, so that one noisy run out of three cannot flip a verdict.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::error::CompareError;
use super::line::Side;
use crate::read::Report;
use crate::schema::{LatencyField, MetricKind, RowKey, Value};

/// The median over a side's runs of one row's value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Median {
    /// The median of a counter.
    Counter(f64),
    /// The median of each latency field, and how much it varied between the runs.
    Latency(Box<LatencyMedian>),
}

/// A latency row over a side's runs. Arrays are indexed like [`LatencyField::ALL`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct LatencyMedian {
    /// The median of each field; all but `count` are `None` when the median run had no samples.
    pub(crate) fields: [Option<f64>; 7],
    /// Each field's spread between the runs (largest minus smallest); 0 with one run.
    pub(crate) spread: [Option<f64>; 7],
    /// The fewest samples any run of the side had.
    pub(crate) fewest_samples: u64,
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
        let mut values: BTreeMap<&RowKey, Vec<(Value, &Path)>> = BTreeMap::new();
        for run in runs {
            if run.rows.is_empty() {
                return Err(CompareError::EmptyReport {
                    path: run.path.clone(),
                });
            }
            for row in &run.rows {
                values
                    .entry(&row.key)
                    .or_default()
                    .push((row.value, &run.path));
            }
        }
        for run in runs {
            let keys: BTreeSet<&RowKey> = run.rows.iter().map(|row| &row.key).collect();
            if let Some(key) = values.keys().find(|key| !keys.contains(*key)) {
                let present = values[*key][0].1.to_owned();
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
            let first_path = values[0].1;
            medians.insert(key, (median_of(key, &values)?, first_path));
        }
        Ok(Self {
            medians,
            paths: runs.iter().map(|run| run.path.clone()).collect(),
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

/// The median of one key's values over the runs of a side.
fn median_of(key: &RowKey, values: &[(Value, &Path)]) -> Result<Median, CompareError> {
    let (first_value, first_path) = values[0];
    if let Some((value, path)) = values
        .iter()
        .find(|(value, _)| value.kind() != first_value.kind())
    {
        return Err(CompareError::KindDiffers {
            key: Box::new(key.clone()),
            first: first_value.kind(),
            first_path: first_path.to_owned(),
            second: value.kind(),
            second_path: (*path).to_owned(),
        });
    }
    if let Value::Counter(_) = first_value {
        let counts = values.iter().filter_map(|(value, _)| match value {
            Value::Counter(count) => Some(*count as f64),
            Value::Latency(_) => None,
        });
        return Ok(Median::Counter(median(counts).unwrap_or_default()));
    }
    let summaries: Vec<_> = values
        .iter()
        .filter_map(|(value, _)| match value {
            Value::Latency(summary) => Some(summary),
            Value::Counter(_) => None,
        })
        .collect();
    let mut fields = [None; 7];
    let mut spread = [None; 7];
    fields[LatencyField::Count as usize] = median(summaries.iter().map(|s| s.count as f64));
    spread[LatencyField::Count as usize] = range(summaries.iter().map(|s| s.count as f64));
    let has_samples = fields[LatencyField::Count as usize].is_some_and(|count| count > 0.0);
    if has_samples {
        for field in LatencyField::ALL {
            if field != LatencyField::Count {
                fields[field as usize] = median(summaries.iter().filter_map(|s| s.get(field)));
                spread[field as usize] = range(summaries.iter().filter_map(|s| s.get(field)));
            }
        }
    }
    Ok(Median::Latency(Box::new(LatencyMedian {
        fields,
        spread,
        fewest_samples: summaries.iter().map(|s| s.count).min().unwrap_or(0),
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

/// True when the median run of a latency row had samples.
pub(crate) fn has_samples(median: &Median) -> bool {
    median
        .field(LatencyField::Count)
        .is_some_and(|count| count > 0.0)
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
