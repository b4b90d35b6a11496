//! Writing reports: all at once with [`write_report`], or a sweep point at a time with
//! [`ReportWriter`], which flushes after each point so that a crash mid-sweep leaves every finished
//! point on disk.

use std::fs::File;
use std::path::{Path, PathBuf};

use crate::check::FileCheck;
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
    path: PathBuf,
    csv: csv::Writer<File>,
    check: FileCheck,
    next_line: u64,
}

impl ReportWriter {
    /// Creates (or truncates) the file and writes the header.
    pub fn create(path: &Path) -> Result<Self, ReportError> {
        let mut writer = Self {
            path: path.to_owned(),
            csv: crate::csv_file::create(path)?,
            check: FileCheck::new(path),
            next_line: 1,
        };
        writer.write_record(HEADER)?;
        writer.flush()?;
        Ok(writer)
    }

    /// Checks and buffers one row. Call [`flush`](Self::flush) at the end of a sweep point.
    pub fn write_row(&mut self, row: &Row) -> Result<(), ReportError> {
        self.check.admit(self.next_line, row)?;
        self.write_record(row.to_record())
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
        self.csv.flush().map_err(|source| ReportError::Io {
            path: self.path.clone(),
            action: "flush",
            source,
        })
    }

    /// Flushes and closes the file.
    pub fn finish(mut self) -> Result<(), ReportError> {
        self.flush()
    }

    fn write_record<I>(&mut self, record: I) -> Result<(), ReportError>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        let line = self.next_line;
        self.csv
            .write_record(record)
            .map_err(|source| ReportError::Csv {
                path: self.path.clone(),
                line,
                source,
            })?;
        self.next_line += 1;
        Ok(())
    }
}
