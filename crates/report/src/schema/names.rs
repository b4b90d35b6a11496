//! The fixed vocabularies of a report: client kinds, protocol arms and metric kinds (the shared
//! [`vocab`] words) and latency fields, each a [`Word`] whose names are the exact words of its
//! column, so every reader accepts, and every error names, all of them.

use vocab::Word;

use super::FieldError;

pub use vocab::{ClientKind, MetricKind, Protocol};

/// The word `text` names, or an error naming every word of `W`.
pub(crate) fn parse_cell<W: Word>(text: &str) -> Result<W, FieldError> {
    W::parse_word(text).map_err(|_| FieldError::not_one_of::<W>())
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

vocab::word!(LatencyField, "latency field");

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<W: Word + PartialEq + std::fmt::Debug>() {
        for &word in W::ALL {
            assert_eq!(parse_cell::<W>(word.as_str()), Ok(word));
        }
        assert_eq!(
            parse_cell::<W>("H2"),
            Err(FieldError::NotOneOf {
                expected: W::ALL.iter().map(|w| w.as_str()).collect()
            })
        );
    }

    #[test]
    fn names_round_trip() {
        round_trip::<Protocol>();
        round_trip::<ClientKind>();
        round_trip::<MetricKind>();
        round_trip::<LatencyField>();
    }
}
