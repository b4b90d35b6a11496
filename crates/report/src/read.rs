//! Reading reports: the header must be exactly [`HEADER`], and every cell must parse; an error names
//! the file, the line, the column and the bad value.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use csv::StringRecord;

use crate::check::FileCheck;
use crate::error::{FieldError, ReportError};
use crate::schema::{LatencySummary, MetricKind, Row, RowKey, RunMeta, Value, Word, HEADER};

/// A report file read into memory, with its path kept for messages.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// Where it was read from.
    pub path: PathBuf,
    /// Its rows, in file order.
    pub rows: Vec<Row>,
}

impl Report {
    /// Reads a report file; see [`read_report`].
    pub fn read(path: &Path) -> Result<Self, ReportError> {
        Ok(Self {
            path: path.to_owned(),
            rows: read_report(path)?,
        })
    }
}

/// Reads a whole report.
///
/// Besides the cells, checks what [`write_report`](crate::write_report) guarantees: one run per
/// file (same metadata on every row) and no repeated [`RowKey`](crate::RowKey).
pub fn read_report(path: &Path) -> Result<Vec<Row>, ReportError> {
    let mut check = FileCheck::new(path);
    let mut rows = Vec::new();
    for (line, record) in crate::csv_file::records(path, &HEADER)? {
        let cells = Cells {
            path,
            line,
            record: &record,
        };
        let row = cells.row()?;
        check.admit(line, &row)?;
        rows.push(row);
    }
    Ok(rows)
}

/// One record being parsed, with what an error message needs.
struct Cells<'a> {
    path: &'a Path,
    line: u64,
    record: &'a StringRecord,
}

impl Cells<'_> {
    fn row(&self) -> Result<Row, ReportError> {
        if self.record.len() != HEADER.len() {
            return Err(ReportError::CellCount {
                path: self.path.to_owned(),
                line: self.line,
                found: self.record.len(),
                expected: HEADER.len(),
            });
        }
        let meta = RunMeta {
            run_id: self.text("run_id").to_owned(),
            started_utc: self.parse("started_utc")?,
            git_rev: self.text("git_rev").to_owned(),
            bench_version: self.text("bench_version").to_owned(),
            host: self.text("host").to_owned(),
            shard: self.text("shard").to_owned(),
        };
        let key = RowKey {
            scenario: self.text("scenario").to_owned(),
            client: self.word("client")?,
            protocol: self.word("protocol")?,
            network: self.text("network").to_owned(),
            clients: self.unsigned("clients")?,
            streams_per_client: self.unsigned("streams_per_client")?,
            metric: self.text("metric").to_owned(),
        };
        let kind: MetricKind = self.word("kind")?;
        if self.text("unit") != kind.unit() {
            let expected = match kind {
                MetricKind::Latency => "`us` (latencies are in microseconds)",
                MetricKind::Counter => "`count`",
            };
            return Err(self.error("unit", FieldError::NotOneOf { expected }));
        }
        let value = match kind {
            MetricKind::Counter => {
                let context = "for a counter row";
                for column in ["count", "mean", "p50", "p90", "p99", "p999", "max"] {
                    self.empty(column, context)?;
                }
                Value::Counter(self.unsigned("value")?)
            }
            MetricKind::Latency => {
                self.empty("value", "for a latency row")?;
                Value::Latency(LatencySummary {
                    count: self.unsigned("count")?,
                    mean: self.optional_mean()?,
                    p50: self.optional_unsigned("p50")?,
                    p90: self.optional_unsigned("p90")?,
                    p99: self.optional_unsigned("p99")?,
                    p999: self.optional_unsigned("p999")?,
                    max: self.optional_unsigned("max")?,
                })
            }
        };
        let histogram = match self.text("histogram") {
            "" => None,
            cell => {
                crate::histogram::decode(cell).map_err(|e| self.error("histogram", e))?;
                Some(cell.to_owned())
            }
        };
        Ok(Row {
            meta,
            key,
            value,
            histogram,
        })
    }

    fn text(&self, column: &'static str) -> &str {
        HEADER
            .iter()
            .position(|name| *name == column)
            .and_then(|index| self.record.get(index))
            .unwrap_or_default()
    }

    fn error(&self, column: &'static str, source: FieldError) -> ReportError {
        ReportError::Cell {
            path: self.path.to_owned(),
            line: self.line,
            column,
            value: self.text(column).to_owned(),
            source,
        }
    }

    fn parse<T: FromStr<Err = FieldError>>(&self, column: &'static str) -> Result<T, ReportError> {
        self.text(column)
            .parse()
            .map_err(|source| self.error(column, source))
    }

    fn word<T: Word>(&self, column: &'static str) -> Result<T, ReportError> {
        T::parse_cell(self.text(column)).map_err(|source| self.error(column, source))
    }

    fn unsigned<T: FromStr>(&self, column: &'static str) -> Result<T, ReportError> {
        match self.text(column) {
            "" => Err(self.error(column, FieldError::Empty)),
            text => text
                .parse()
                .map_err(|_| self.error(column, FieldError::NotUnsigned)),
        }
    }

    fn optional_unsigned(&self, column: &'static str) -> Result<Option<u64>, ReportError> {
        match self.text(column) {
            "" => Ok(None),
            _ => self.unsigned(column).map(Some),
        }
    }

    fn optional_mean(&self) -> Result<Option<f64>, ReportError> {
        match self.text("mean") {
            "" => Ok(None),
            text => match text.parse::<f64>() {
                Ok(mean) if mean.is_finite() && mean >= 0.0 => Ok(Some(mean)),
                _ => Err(self.error("mean", FieldError::NotNonNegativeNumber)),
            },
        }
    }

    fn empty(&self, column: &'static str, context: &'static str) -> Result<(), ReportError> {
        match self.text(column) {
            "" => Ok(()),
            _ => Err(self.error(column, FieldError::MustBeEmpty { context })),
        }
    }
}
