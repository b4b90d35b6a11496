//! Why one cell of a report is not acceptable: the reason half of a
//! [`ReportError::Cell`](crate::ReportError::Cell), which names the file, line and column.

use thiserror::Error;
use vocab::Word;

/// Why one cell (or one field of a [`Row`](crate::Row) about to be written) is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum FieldError {
    /// The cell is empty but the contract requires a value.
    #[error("must not be empty")]
    Empty,
    /// The cell holds a value but the contract requires it to be empty.
    #[error("must be empty {context}")]
    MustBeEmpty {
        /// When it must be empty, e.g. "for a counter row".
        context: &'static str,
    },
    /// The cell is not one of a fixed set of words.
    #[error("expected one of {}", backquoted(expected))]
    NotOneOf {
        /// Every accepted word, from the vocabulary's type ([`FieldError::not_one_of`]).
        expected: Vec<&'static str>,
    },
    /// The cell is not an unsigned 64-bit (or 32-bit) integer.
    #[error("not an unsigned integer")]
    NotUnsigned,
    /// The cell is not a finite number greater than or equal to zero.
    #[error("not a finite, non-negative number")]
    NotNonNegativeNumber,
    /// The cell is not an RFC 3339 timestamp in UTC.
    #[error("not an RFC 3339 UTC timestamp such as 2026-11-23T20:13:00Z")]
    NotUtcTimestamp,
    /// A metric name uses characters outside `a-z`, `0-9` and `_`.
    #[error("metric names use only a-z, 0-9 and _")]
    BadMetricName,
    /// A shard cell that is neither empty, `I/N` nor `all/N`.
    #[error("expected empty, I/N (1 <= I <= N) or all/N")]
    BadShard,
    /// A histogram cell that does not decode.
    #[error("not a base64 HdrHistogram (compressed V2)")]
    BadHistogram,
    /// A percentile is smaller than a lower percentile of the same row.
    #[error("smaller than {lower}")]
    NotMonotone {
        /// The column holding the larger value.
        lower: &'static str,
    },
    /// A run-metadata cell differs from the first row's; a report holds exactly one run.
    #[error("differs from the first row's {first:?}: a report holds one run")]
    DiffersFromFirstRow {
        /// The first row's value of the column.
        first: String,
    },
}

impl FieldError {
    /// A cell that is none of `W`'s words; the message names every one of them.
    pub fn not_one_of<W: Word>() -> FieldError {
        FieldError::NotOneOf {
            expected: W::names(),
        }
    }
}

/// "`h1`, `h2`": words as a message lists them.
fn backquoted(words: &[&str]) -> String {
    let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
    quoted.join(", ")
}
