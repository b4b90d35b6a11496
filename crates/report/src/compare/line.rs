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
    /// Within the threshold.
    Ok,
    /// Beyond the threshold in the good direction.
    Improved,
    /// Beyond the threshold in the bad direction, or NEW has no samples where BASE had some.
    Regression,
    /// Beyond an either-way (`=`) threshold: a behaviour change, counted as a regression.
    Changed,
    /// Shown, not judged, for this reason.
    NotJudged(Unjudged),
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
            Self::NotJudged(_) => "not-judged",
            Self::BaseOnly => "base-only",
            Self::NewOnly => "new-only",
        }
    }

    /// Whether this line makes the comparison a regression.
    pub fn is_regression(self) -> bool {
        matches!(self, Self::Regression | Self::Changed)
    }

    /// What the table prints: the word, or `not judged: ` and the reason.
    pub fn describe(self) -> String {
        match self {
            Self::NotJudged(why) => format!("not judged: {why}"),
            other => other.as_str().to_owned(),
        }
    }
}

/// Why a line is shown but not judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Unjudged {
    /// No threshold names the metric (or, for a latency, this field of it).
    NoThreshold,
    /// The threshold that applies is `off`.
    ThresholdOff,
    /// Too few samples to read the field: it needs `needed` (`None`: never enough, as for
    /// `max`), and the side with fewer had `have`.
    FewSamples {
        /// The samples the field needs.
        needed: Option<u64>,
        /// The samples of the side with fewer.
        have: u64,
    },
    /// Neither side has samples.
    NoSamples,
    /// BASE has no samples, so there is nothing to hold NEW against.
    NoBaseSamples,
}

impl fmt::Display for Unjudged {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoThreshold => f.write_str("no threshold"),
            Self::ThresholdOff => f.write_str("threshold off, shown only"),
            Self::FewSamples {
                needed: Some(needed),
                have,
            } => write!(f, "{have} samples, {needed} needed"),
            Self::FewSamples { needed: None, .. } => f.write_str("one sample, never enough"),
            Self::NoSamples => f.write_str("no samples"),
            Self::NoBaseSamples => f.write_str("no samples in base"),
        }
    }
}

/// What a line was held against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Criterion {
    /// Nothing: the line is not judged (its verdict says why).
    None,
    /// A counter's (or a latency `count`'s) rule.
    Rule(Rule),
    /// A latency field's rule, above the noise: a change of at most the larger of `floor` and
    /// `spread` never counts.
    RuleAboveNoise {
        /// The rule.
        rule: Rule,
        /// This line's floor, microseconds: the `--floor-us` floor, or a share of BASE's value
        /// when that is smaller ([`crate::thresholds::FLOOR_SHARE_OF_BASE`]).
        floor: f64,
        /// The spread of BASE's runs for this field (largest minus smallest), microseconds.
        spread: f64,
    },
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
