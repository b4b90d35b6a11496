//! Writing reports: all at once with [`write_report`], or a sweep point at a time with
//! [`ReportWriter`], which flushes after each point so that a crash mid-sweep leaves every finished
//! point on disk.

use std::path::Path;

use crate::check::FileCheck;
use crate::csv_file::CsvWriter;
use crate::error::ReportError;
use crate::schema::{Row, HEADER};

/// Writes a whole report: the header, then `rows` in the given order.
///
/// Fails before writing a bad row (see [`Row::validate`]), on run metadata that differs between
/// rows and on a repeated [`RowKey`](crate::RowKey); the error names the line the row would have had.
pub fn write_report(path: &Path, rows: &[Row]) -> Result<(), ReportError> {
    let mut writer = ReportWriter::create(path)?;
    writer.write_rows(rows)?;
    writer.finish()
}

/// A report being written row by row.
///
/// ```no_run
/// # fn rows_of_point(_: u32) -> Vec<report::Row> { Vec::new() }
/// let mut writer = report::ReportWriter::create("results/run.csv".as_ref())?;
/// for streams in [1, 6, 8] {
///     writer.write_rows(&rows_of_point(streams))?; // flushed: survives a crash later on
/// }
/// writer.finish()?;
/// # Ok::<(), report::ReportError>(())
/// ```
#[derive(Debug)]
pub struct ReportWriter {
    file: CsvWriter,
    check: FileCheck,
}

impl ReportWriter {
    /// Creates (or truncates) the file and writes the header.
    pub fn create(path: &Path) -> Result<Self, ReportError> {
        Ok(Self {
            file: CsvWriter::create(path, &HEADER)?,
            check: FileCheck::new(path),
        })
    }

    /// Checks and buffers one row. Call [`flush`](Self::flush) at the end of a sweep point.
    pub fn write_row(&mut self, row: &Row) -> Result<(), ReportError> {
        self.check.admit(self.file.next_line(), row)?;
        self.file.write(row.to_record())
    }

    /// Writes the rows of one sweep point and flushes them to the file.
    pub fn write_rows(&mut self, rows: &[Row]) -> Result<(), ReportError> {
        for row in rows {
            self.write_row(row)?;
        }
        self.flush()
    }

    /// Hands everything buffered to the operating system.
    pub fn flush(&mut self) -> Result<(), ReportError> {
        self.file.flush()
    }

    /// Flushes and closes the file.
    pub fn finish(mut self) -> Result<(), ReportError> {
        self.flush()
    }
}
