//! The CSV files this crate reads and writes (reports, time series): opened with their header
//! checked and each record handed over as [`Cells`], created with errors that name the file.

use std::fs::File;
use std::path::Path;

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

/// Creates (or truncates) the CSV file at `path`.
pub(crate) fn create(path: &Path) -> Result<csv::Writer<File>, ReportError> {
    let file = File::create(path).map_err(|source| ReportError::Io {
        path: path.to_owned(),
        action: "create",
        source,
    })?;
    Ok(csv::Writer::from_writer(file))
}
