//! The fixed vocabularies of a report: client kinds, protocol arms and metric kinds (the shared
//! [`vocab`] words) and latency fields, each with the exact word used in its column.

use std::fmt;
use std::str::FromStr;

use super::FieldError;

pub use vocab::{ClientKind, MetricKind, Protocol};

/// A word of the shared vocabulary as a report cell: parsed, or refused naming the words allowed.
pub(crate) trait Word: FromStr {
    /// The accepted words, e.g. "`emulated`, `chromium`, `firefox`".
    const EXPECTED: &'static str;

    fn parse_cell(text: &str) -> Result<Self, FieldError> {
        text.parse().map_err(|_| FieldError::NotOneOf {
            expected: Self::EXPECTED,
        })
    }
}

impl Word for ClientKind {
    const EXPECTED: &'static str = "`emulated`, `chromium`, `firefox`";
}

impl Word for Protocol {
    const EXPECTED: &'static str = "`h1`, `h1-tls`, `h2`, `h2c`";
}

impl Word for MetricKind {
    const EXPECTED: &'static str = "`latency`, `counter`";
}

/// One statistic of a latency summary: a column of the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LatencyField {
    /// Number of samples.
    Count,
    /// Arithmetic mean.
    Mean,
    /// Median.
    P50,
    /// 90th percentile.
    P90,
    /// 99th percentile.
    P99,
    /// 99.9th percentile.
    P999,
    /// Largest sample.
    Max,
}

impl LatencyField {
    /// Every field, in column order.
    pub const ALL: [LatencyField; 7] = [
        Self::Count,
        Self::Mean,
        Self::P50,
        Self::P90,
        Self::P99,
        Self::P999,
        Self::Max,
    ];

    /// The column name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Mean => "mean",
            Self::P50 => "p50",
            Self::P90 => "p90",
            Self::P99 => "p99",
            Self::P999 => "p999",
            Self::Max => "max",
        }
    }
}

impl FromStr for LatencyField {
    type Err = FieldError;

    fn from_str(text: &str) -> Result<Self, FieldError> {
        Self::ALL
            .into_iter()
            .find(|field| field.as_str() == text)
            .ok_or(FieldError::NotOneOf {
                expected: "`count`, `mean`, `p50`, `p90`, `p99`, `p999`, `max`",
            })
    }
}

impl fmt::Display for LatencyField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for protocol in Protocol::ALL {
            assert_eq!(Protocol::parse_cell(protocol.as_str()), Ok(protocol));
        }
        for client in ClientKind::ALL {
            assert_eq!(ClientKind::parse_cell(client.as_str()), Ok(client));
        }
        for kind in [MetricKind::Counter, MetricKind::Latency] {
            assert_eq!(MetricKind::parse_cell(kind.as_str()), Ok(kind));
        }
        for field in LatencyField::ALL {
            assert_eq!(field.as_str().parse::<LatencyField>(), Ok(field));
        }
        assert_eq!(
            Protocol::parse_cell("H2"),
            Err(FieldError::NotOneOf {
                expected: Protocol::EXPECTED
            })
        );
    }
}
