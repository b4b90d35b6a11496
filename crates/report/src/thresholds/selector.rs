//! What a threshold applies to: a latency field, a metric (or a `*` pattern of metrics), or one
//! field of matching metrics.

use std::fmt;
use std::str::FromStr;

use crate::schema::{LatencyField, MetricKind};

/// A metric name, or a prefix of names when written with a trailing `*`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricPattern {
    name: String,
    is_prefix: bool,
}

impl MetricPattern {
    /// Whether `metric` matches.
    pub fn matches(&self, metric: &str) -> bool {
        if self.is_prefix {
            metric.starts_with(&self.name)
        } else {
            metric == self.name
        }
    }

    /// Ranks matches: an exact name above any pattern, a longer pattern above a shorter.
    pub(super) fn specificity(&self) -> usize {
        if self.is_prefix {
            self.name.len()
        } else {
            usize::MAX
        }
    }
}

impl FromStr for MetricPattern {
    type Err = &'static str;

    fn from_str(text: &str) -> Result<Self, &'static str> {
        let (name, is_prefix) = match text.strip_suffix('*') {
            Some(name) => (name, true),
            None => (text, false),
        };
        let chars_ok = name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !chars_ok || (name.is_empty() && !is_prefix) {
            return Err("a metric pattern is a-z, 0-9 and _, with an optional trailing *");
        }
        Ok(Self {
            name: name.to_owned(),
            is_prefix,
        })
    }
}

impl fmt::Display for MetricPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let star = if self.is_prefix { "*" } else { "" };
        write!(f, "{}{star}", self.name)
    }
}

/// What a threshold applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    /// `p99`: one field of every latency metric.
    Field(LatencyField),
    /// `errors`, `errors_*`: a counter, or every compared field of a latency metric.
    Metric(MetricPattern),
    /// `fanout.p99`: one field of matching latency metrics.
    MetricField(MetricPattern, LatencyField),
}

impl Selector {
    /// Whether the selector applies to a metric of this name and kind at all.
    pub fn matches(&self, metric: &str, kind: MetricKind) -> bool {
        match self {
            Selector::Field(_) => kind == MetricKind::Latency,
            Selector::Metric(pattern) => pattern.matches(metric),
            Selector::MetricField(pattern, _) => {
                kind == MetricKind::Latency && pattern.matches(metric)
            }
        }
    }
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selector::Field(field) => write!(f, "{field}"),
            Selector::Metric(pattern) => write!(f, "{pattern}"),
            Selector::MetricField(pattern, field) => write!(f, "{pattern}.{field}"),
        }
    }
}
