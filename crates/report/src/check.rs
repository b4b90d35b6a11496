//! The rules that span rows of one report file: every row carries the same run metadata, and no
//! two rows share a [`RowKey`]. The reader and the writer apply them alike.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::error::ReportError;
use crate::schema::FieldError;
use crate::schema::{Row, RowKey, RunMeta};

/// Tracks the rows seen so far in one file.
#[derive(Debug)]
pub(crate) struct FileCheck {
    path: PathBuf,
    first_meta: Option<RunMeta>,
    lines_by_key: HashMap<RowKey, u64>,
}

impl FileCheck {
    pub(crate) fn new(path: &Path) -> Self {
        Self {
            path: path.to_owned(),
            first_meta: None,
            lines_by_key: HashMap::new(),
        }
    }

    /// Checks `row`, which is (or will be) on `line` of the file, and remembers it.
    pub(crate) fn admit(&mut self, line: u64, row: &Row) -> Result<(), ReportError> {
        row.validate()
            .map_err(|(column, source)| ReportError::Cell {
                path: self.path.clone(),
                line,
                column,
                value: cell_text(row, column),
                source,
            })?;
        match &self.first_meta {
            None => self.first_meta = Some(row.meta.clone()),
            Some(first) => {
                if let Some((column, first_value, value)) = first_difference(first, &row.meta) {
                    return Err(ReportError::Cell {
                        path: self.path.clone(),
                        line,
                        column,
                        value,
                        source: FieldError::DiffersFromFirstRow { first: first_value },
                    });
                }
            }
        }
        if let Some(&first_line) = self.lines_by_key.get(&row.key) {
            return Err(ReportError::DuplicateKey {
                path: self.path.clone(),
                line,
                first_line,
                key: Box::new(row.key.clone()),
            });
        }
        self.lines_by_key.insert(row.key.clone(), line);
        Ok(())
    }
}

/// The first metadata column where `row` differs from `first`: (column, first value, row value).
fn first_difference(first: &RunMeta, row: &RunMeta) -> Option<(&'static str, String, String)> {
    let pairs = [
        ("run_id", first.run_id.as_str(), row.run_id.as_str()),
        (
            "started_utc",
            first.started_utc.as_str(),
            row.started_utc.as_str(),
        ),
        ("git_rev", first.git_rev.as_str(), row.git_rev.as_str()),
        (
            "bench_version",
            first.bench_version.as_str(),
            row.bench_version.as_str(),
        ),
        ("host", first.host.as_str(), row.host.as_str()),
        ("shard", first.shard.as_str(), row.shard.as_str()),
    ];
    pairs
        .into_iter()
        .find(|(_, a, b)| a != b)
        .map(|(column, a, b)| (column, a.to_owned(), b.to_owned()))
}

/// The text of `column` in `row` as the writer would write it.
fn cell_text(row: &Row, column: &str) -> String {
    let record = row.to_record();
    crate::schema::HEADER
        .iter()
        .position(|name| *name == column)
        .map(|index| record[index].clone())
        .unwrap_or_default()
}
