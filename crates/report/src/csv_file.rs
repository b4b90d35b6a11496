//! The CSV files this crate reads and writes (reports, time series): opened with their header
//! checked and each record handed over as [`Cells`], written through a [`CsvWriter`], with
//! errors that name the file.

use std::fs::File;
use std::path::{Path, PathBuf};

use csv::StringRecord;

use crate::cells::Cells;
use crate::error::ReportError;

/// Parses, in order, each record after the header of the CSV file at `path` (whose header must
/// be exactly `header`) with `parse`; a record with more or fewer cells than the header is
/// refused before `parse` sees it.
pub(crate) fn read_records<T>(
    path: &Path,
    header: &'static [&'static str],
    mut parse: impl FnMut(&Cells<'_>) -> Result<T, ReportError>,
) -> Result<Vec<T>, ReportError> {
    records(path, header)?
        .iter()
        .map(|(line, record)| {
            let cells = Cells {
                path,
                header,
                line: *line,
                record,
            };
            cells.check_count()?;
            parse(&cells)
        })
        .collect()
}

/// The records after the header of the CSV file at `path`, each with its line; the header must
/// be exactly `header`.
fn records(path: &Path, header: &[&str]) -> Result<Vec<(u64, StringRecord)>, ReportError> {
    let file = File::open(path).map_err(|source| ReportError::Io {
        path: path.to_owned(),
        action: "open",
        source,
    })?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(file);
    let mut records = reader.records();
    let csv_error = |source: csv::Error| ReportError::Csv {
        path: path.to_owned(),
        line: source.position().map_or(0, |p| p.line()),
        source,
    };
    let found = records.next().transpose().map_err(csv_error)?;
    if !found
        .as_ref()
        .is_some_and(|h| h.iter().eq(header.iter().copied()))
    {
        return Err(ReportError::Header {
            path: path.to_owned(),
            expected: header.join(","),
            found: found
                .map(|h| h.iter().collect::<Vec<_>>().join(","))
                .unwrap_or_default(),
        });
    }
    records
        .map(|r| {
            let record = r.map_err(csv_error)?;
            Ok((record.position().map_or(0, |p| p.line()), record))
        })
        .collect()
}

/// Creates (or truncates) the file at `path`.
pub(crate) fn create_file(path: &Path) -> Result<File, ReportError> {
    File::create(path).map_err(|source| ReportError::Io {
        path: path.to_owned(),
        action: "create",
        source,
    })
}

/// A CSV file being written, its header first; errors name the file and the line.
#[derive(Debug)]
pub(crate) struct CsvWriter {
    path: PathBuf,
    csv: csv::Writer<File>,
    /// The line the next record goes on (the header is line 1).
    next_line: u64,
}

impl CsvWriter {
    /// Creates (or truncates) the file at `path` and writes `header`, flushed.
    pub(crate) fn create(path: &Path, header: &[&str]) -> Result<Self, ReportError> {
        let mut writer = CsvWriter {
            path: path.to_owned(),
            csv: csv::Writer::from_writer(create_file(path)?),
            next_line: 1,
        };
        writer.write(header)?;
        writer.flush()?;
        Ok(writer)
    }

    /// The line the next record goes on.
    pub(crate) fn next_line(&self) -> u64 {
        self.next_line
    }

    /// Buffers one record.
    pub(crate) fn write<I>(&mut self, record: I) -> Result<(), ReportError>
    where
        I: IntoIterator,
        I::Item: AsRef<[u8]>,
    {
        self.csv
            .write_record(record)
            .map_err(|source| ReportError::Csv {
                path: self.path.clone(),
                line: self.next_line,
                source,
            })?;
        self.next_line += 1;
        Ok(())
    }

    /// Hands everything buffered to the operating system.
    pub(crate) fn flush(&mut self) -> Result<(), ReportError> {
        self.csv.flush().map_err(|source| ReportError::Io {
            path: self.path.clone(),
            action: "flush",
            source,
        })
    }
}
