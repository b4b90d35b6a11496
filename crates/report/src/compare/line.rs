//! The words of a comparison: its two sides, one compared value and its verdict, and what the
//! whole comparison concluded.

use std::fmt;

use crate::schema::{LatencyField, MetricKind, RowKey};
use crate::thresholds::Rule;

/// The outcome of a usable comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every line is `ok`, `improved` or (with `allow_missing`) one-sided.
    NoRegression,
    /// At least one line is `REGRESSION` or `CHANGED`.
    Regression,
}

/// The verdict of one line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LineVerdict {
    /// Within the threshold, or no threshold applies.
    Ok,
    /// Beyond the threshold in the good direction.
    Improved,
    /// Beyond the threshold in the bad direction, or NEW has no samples where BASE had some.
    Regression,
    /// Beyond an either-way (`=`) threshold: a behaviour change, counted as a regression.
    Changed,
    /// Too few samples for this percentile on one side: shown, not judged.
    FewSamples,
    /// The key is in BASE only.
    BaseOnly,
    /// The key is in NEW only.
    NewOnly,
}

impl LineVerdict {
    /// The word shown in the table.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Improved => "improved",
            Self::Regression => "REGRESSION",
            Self::Changed => "CHANGED",
            Self::FewSamples => "few-samples",
            Self::BaseOnly => "base-only",
            Self::NewOnly => "new-only",
        }
    }

    /// Whether this line makes the comparison a regression.
    pub fn is_regression(self) -> bool {
        matches!(self, Self::Regression | Self::Changed)
    }
}

/// What a line was held against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Criterion {
    /// No threshold applies: shown, never fails.
    None,
    /// A counter's (or a latency `count`'s) rule.
    Rule(Rule),
    /// A latency field's rule, above the noise: a change of at most `noise` microseconds (the
    /// larger of the floor and the spread between BASE's runs) never counts.
    RuleAboveNoise {
        /// The rule.
        rule: Rule,
        /// The absolute floor, microseconds.
        floor: u64,
        /// The spread of BASE's runs for this field (largest minus smallest), microseconds.
        spread: f64,
    },
    /// Too few samples: each run needs this many for the field.
    SamplesNeeded(Option<u64>),
    /// NEW must have samples where BASE had some.
    HasSamples,
}

/// One compared value.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The row.
    pub key: RowKey,
    /// Counter or latency.
    pub kind: MetricKind,
    /// The latency field compared; `None` for a counter.
    pub field: Option<LatencyField>,
    /// BASE's median; `None` if missing or without samples.
    pub base: Option<f64>,
    /// NEW's median; `None` if missing or without samples.
    pub new: Option<f64>,
    /// What it was held against.
    pub criterion: Criterion,
    /// The outcome.
    pub verdict: LineVerdict,
}

/// Which side of a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// The reference runs.
    Base,
    /// The runs under test.
    New,
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Base => "base",
            Side::New => "new",
        })
    }
}
