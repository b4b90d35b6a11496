//! One record of a CSV file this crate reads (a report, a time series), being parsed: each cell
//! found by its column's name, and every error naming the file, the line, the column and the bad
//! value.

use std::path::Path;
use std::str::FromStr;

use csv::StringRecord;
use vocab::Word;

use crate::error::{FieldError, ReportError};

/// The cells of one record, with what an error message needs.
pub(crate) struct Cells<'a> {
    pub(crate) path: &'a Path,
    pub(crate) header: &'static [&'static str],
    /// The line (1-based; the header is line 1).
    pub(crate) line: u64,
    pub(crate) record: &'a StringRecord,
}

impl Cells<'_> {
    /// Refuses a record with more or fewer cells than the header.
    pub(crate) fn check_count(&self) -> Result<(), ReportError> {
        if self.record.len() == self.header.len() {
            return Ok(());
        }
        Err(ReportError::CellCount {
            path: self.path.to_owned(),
            line: self.line,
            found: self.record.len(),
            expected: self.header.len(),
        })
    }

    /// The cell of `column`, as written.
    pub(crate) fn text(&self, column: &'static str) -> &str {
        self.header
            .iter()
            .position(|name| *name == column)
            .and_then(|index| self.record.get(index))
            .unwrap_or_default()
    }

    /// The cell of `column` refused for `source`.
    pub(crate) fn error(&self, column: &'static str, source: FieldError) -> ReportError {
        ReportError::Cell {
            path: self.path.to_owned(),
            line: self.line,
            column,
            value: self.text(column).to_owned(),
            source,
        }
    }

    /// The cell parsed by its type's own rules.
    pub(crate) fn parse<T: FromStr<Err = FieldError>>(
        &self,
        column: &'static str,
    ) -> Result<T, ReportError> {
        self.text(column)
            .parse()
            .map_err(|source| self.error(column, source))
    }

    /// The cell as a word of `W`; refused naming every word of `W`.
    pub(crate) fn word<W: Word>(&self, column: &'static str) -> Result<W, ReportError> {
        crate::schema::parse_cell(self.text(column)).map_err(|source| self.error(column, source))
    }

    /// The cell as an unsigned integer; it must not be empty.
    pub(crate) fn unsigned<T: FromStr>(&self, column: &'static str) -> Result<T, ReportError> {
        match self.text(column) {
            "" => Err(self.error(column, FieldError::Empty)),
            text => text
                .parse()
                .map_err(|_| self.error(column, FieldError::NotUnsigned)),
        }
    }

    /// The cell as an unsigned integer, or `None` when empty.
    pub(crate) fn optional_unsigned<T: FromStr>(
        &self,
        column: &'static str,
    ) -> Result<Option<T>, ReportError> {
        match self.text(column) {
            "" => Ok(None),
            _ => self.unsigned(column).map(Some),
        }
    }

    /// Refuses a cell that is not empty; `context` says when it must be ("for a counter row").
    pub(crate) fn empty(
        &self,
        column: &'static str,
        context: &'static str,
    ) -> Result<(), ReportError> {
        match self.text(column) {
            "" => Ok(()),
            _ => Err(self.error(column, FieldError::MustBeEmpty { context })),
        }
    }
}
