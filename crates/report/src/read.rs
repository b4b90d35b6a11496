//! Reading reports: the header must be exactly [`HEADER`], and every cell must parse; an error names
//! the file, the line, the column and the bad value.

use std::path::{Path, PathBuf};

use crate::cells::Cells;
use crate::check::FileCheck;
use crate::error::{FieldError, ReportError};
use crate::schema::{
    LatencyField, LatencySummary, MetricKind, Row, RowKey, RunMeta, Value, HEADER,
};

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
    crate::csv_file::read_records(path, &HEADER, |cells| {
        let row = row(cells)?;
        check.admit(cells.line, &row)?;
        Ok(row)
    })
}

/// One record of a report as a row.
fn row(cells: &Cells<'_>) -> Result<Row, ReportError> {
    let meta = RunMeta {
        run_id: cells.text("run_id").to_owned(),
        started_utc: cells.parse("started_utc")?,
        git_rev: cells.text("git_rev").to_owned(),
        bench_version: cells.text("bench_version").to_owned(),
        host: cells.text("host").to_owned(),
        shard: cells.text("shard").to_owned(),
    };
    let key = RowKey {
        scenario: cells.text("scenario").to_owned(),
        client: cells.word("client")?,
        protocol: cells.word("protocol")?,
        network: cells.text("network").to_owned(),
        clients: cells.unsigned("clients")?,
        streams_per_client: cells.unsigned("streams_per_client")?,
        metric: cells.text("metric").to_owned(),
    };
    let kind: MetricKind = cells.word("kind")?;
    if cells.text("unit") != kind.unit() {
        let expected = vec![kind.unit()];
        return Err(cells.error("unit", FieldError::NotOneOf { expected }));
    }
    let value = match kind {
        MetricKind::Counter => {
            for field in LatencyField::ALL {
                cells.empty(field.as_str(), "for a counter row")?;
            }
            Value::Counter(cells.unsigned("value")?)
        }
        MetricKind::Latency => {
            cells.empty("value", "for a latency row")?;
            Value::Latency(LatencySummary {
                count: cells.unsigned("count")?,
                mean: optional_mean(cells)?,
                p50: cells.optional_unsigned("p50")?,
                p90: cells.optional_unsigned("p90")?,
                p99: cells.optional_unsigned("p99")?,
                p999: cells.optional_unsigned("p999")?,
                max: cells.optional_unsigned("max")?,
            })
        }
    };
    let histogram = match cells.text("histogram") {
        "" => None,
        cell => {
            crate::histogram::decode(cell).map_err(|e| cells.error("histogram", e))?;
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

/// The `mean` cell: empty, or a finite number >= 0.
fn optional_mean(cells: &Cells<'_>) -> Result<Option<f64>, ReportError> {
    match cells.text("mean") {
        "" => Ok(None),
        text => match text.parse::<f64>() {
            Ok(mean) if mean.is_finite() && mean >= 0.0 => Ok(Some(mean)),
            _ => Err(cells.error("mean", FieldError::NotNonNegativeNumber)),
        },
    }
}
