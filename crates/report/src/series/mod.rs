//! A run's time series: per sweep point, what happened in each interval (one second by default)
//! while it ran, so that a fault and the recovery from it show. Written beside the report
//! `<run>.csv` as `<run>.series/series.csv`, one row per (point, interval), and drawn under the
//! sweep's charts by `bench plot`; each point's interval histograms also go to an HdrHistogram
//! interval log, `<run>.series/pointNN.hlog` ([`hlog`]).
//!
//! Columns ([`SERIES_HEADER`]): the run and the point as in the report (`run_id`, `shard`,
//! `scenario`, `client`, `protocol`, `network`, `clients`, `streams_per_client`); then
//! `start_ms` and `length_ms` (the interval, from the start of the point, warm-up included);
//! `phase` (`warmup` for an interval that ended within the warm-up, else `measured`); `events`
//! (events received in the interval, every type) and `events_per_s` (the same per second of the
//! interval); `streams_open` and `streams_queued` (at the end of the interval); `errors` (counted
//! in the interval, every class); `event_delivery_count`, `event_delivery_p50_us`,
//! `event_delivery_p99_us` (the `event_delivery` samples of the interval; empty percentiles
//! without samples). A shard's series is its own clients' only; series are not merged.

pub mod hlog;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use vocab::IntervalCounts;

use crate::cells::Cells;
use crate::csv_file::CsvWriter;
use crate::error::ReportError;
use crate::schema::{ClientKind, Protocol};

/// The series file's columns, in order.
pub const SERIES_HEADER: [&str; 19] = [
    "run_id",
    "shard",
    "scenario",
    "client",
    "protocol",
    "network",
    "clients",
    "streams_per_client",
    "start_ms",
    "length_ms",
    "phase",
    "events",
    "events_per_s",
    "streams_open",
    "streams_queued",
    "errors",
    "event_delivery_count",
    "event_delivery_p50_us",
    "event_delivery_p99_us",
];

/// Whether an interval belongs to the warm-up or to the measured time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Warmup,
    Measured,
}

impl Phase {
    /// Both phases, in time order.
    pub const ALL: [Phase; 2] = [Phase::Warmup, Phase::Measured];

    /// The `phase` cell.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Warmup => "warmup",
            Phase::Measured => "measured",
        }
    }
}

vocab::word!(Phase, "phase");

/// One interval of one point: the point's key, then the interval.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesRow {
    pub run_id: String,
    pub shard: String,
    pub scenario: String,
    pub client: ClientKind,
    pub protocol: Protocol,
    pub network: String,
    pub clients: u32,
    pub streams_per_client: u32,
    /// What the interval counted, as the load generator sampled it.
    pub interval: IntervalCounts,
    pub phase: Phase,
    /// The `event_delivery` samples of the interval: their count, p50 and p99.
    pub delivery_count: u64,
    pub delivery_p50_us: Option<u64>,
    pub delivery_p99_us: Option<u64>,
}

impl SeriesRow {
    fn to_record(&self) -> Vec<String> {
        let opt = |v: Option<u64>| v.map_or(String::new(), |v| v.to_string());
        vec![
            self.run_id.clone(),
            self.shard.clone(),
            self.scenario.clone(),
            self.client.to_string(),
            self.protocol.to_string(),
            self.network.clone(),
            self.clients.to_string(),
            self.streams_per_client.to_string(),
            self.interval.start.as_millis().to_string(),
            self.interval.length.as_millis().to_string(),
            self.phase.as_str().to_owned(),
            self.interval.events.to_string(),
            format!("{:.1}", self.interval.events_per_s()),
            self.interval.streams_open.to_string(),
            self.interval.streams_queued.to_string(),
            self.interval.errors.to_string(),
            self.delivery_count.to_string(),
            opt(self.delivery_p50_us),
            opt(self.delivery_p99_us),
        ]
    }
}

/// The directory beside `report.csv` that holds its time series and interval logs:
/// `report.series/` (a directory, so that `results/*.csv` still matches reports only).
pub fn series_dir(report: &Path) -> PathBuf {
    report.with_extension("series")
}

/// The series file that goes with `report.csv`: `report.series/series.csv`.
pub fn series_path(report: &Path) -> PathBuf {
    series_dir(report).join("series.csv")
}

/// Writes a series file point by point, flushing after each (a run cut short keeps its series).
#[derive(Debug)]
pub struct SeriesWriter {
    file: CsvWriter,
}

impl SeriesWriter {
    /// Creates (or truncates) the file and writes the header.
    pub fn create(path: &Path) -> Result<Self, ReportError> {
        Ok(SeriesWriter {
            file: CsvWriter::create(path, &SERIES_HEADER)?,
        })
    }

    /// Writes the intervals of one point and flushes them.
    pub fn write_rows(&mut self, rows: &[SeriesRow]) -> Result<(), ReportError> {
        for row in rows {
            self.file.write(row.to_record())?;
        }
        self.file.flush()
    }
}

/// Reads a whole series file.
pub fn read_series(path: &Path) -> Result<Vec<SeriesRow>, ReportError> {
    crate::csv_file::read_records(path, &SERIES_HEADER, row)
}

/// One record of a series file as a row.
fn row(cells: &Cells<'_>) -> Result<SeriesRow, ReportError> {
    Ok(SeriesRow {
        run_id: cells.text("run_id").to_owned(),
        shard: cells.text("shard").to_owned(),
        scenario: cells.text("scenario").to_owned(),
        client: cells.word("client")?,
        protocol: cells.word("protocol")?,
        network: cells.text("network").to_owned(),
        clients: cells.unsigned("clients")?,
        streams_per_client: cells.unsigned("streams_per_client")?,
        interval: IntervalCounts {
            start: Duration::from_millis(cells.unsigned("start_ms")?),
            length: Duration::from_millis(cells.unsigned("length_ms")?),
            events: cells.unsigned("events")?,
            streams_open: cells.unsigned("streams_open")?,
            streams_queued: cells.unsigned("streams_queued")?,
            errors: cells.unsigned("errors")?,
        },
        phase: cells.word("phase")?,
        delivery_count: cells.unsigned("event_delivery_count")?,
        delivery_p50_us: cells.optional_unsigned("event_delivery_p50_us")?,
        delivery_p99_us: cells.optional_unsigned("event_delivery_p99_us")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(start_ms: u64) -> SeriesRow {
        SeriesRow {
            run_id: "r".into(),
            shard: String::new(),
            scenario: "s".into(),
            client: ClientKind::Emulated,
            protocol: Protocol::H2,
            network: crate::LOOPBACK.into(),
            clients: 2,
            streams_per_client: 3,
            interval: IntervalCounts {
                start: Duration::from_millis(start_ms),
                length: Duration::from_millis(500),
                events: 40,
                streams_open: 6,
                streams_queued: 0,
                errors: 1,
            },
            phase: Phase::Measured,
            delivery_count: 38,
            delivery_p50_us: Some(900),
            delivery_p99_us: None,
        }
    }

    #[test]
    fn series_round_trip_and_bad_cells_are_named() {
        let dir = std::env::temp_dir().join(format!("ssebench-series-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = series_path(&dir.join("run.csv"));
        assert_eq!(path, dir.join("run.series").join("series.csv"));
        std::fs::create_dir_all(series_dir(&dir.join("run.csv"))).expect("series dir");
        let rows = vec![row(0), row(500)];
        let mut w = SeriesWriter::create(&path).expect("create");
        w.write_rows(&rows).expect("write");
        drop(w);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text
            .lines()
            .nth(1)
            .expect("a row")
            .contains(",measured,40,80.0,6,0,1,38,900,"));
        assert_eq!(read_series(&path).expect("reads"), rows);

        std::fs::write(&path, text.replace(",measured,", ",later,")).expect("write");
        let e = read_series(&path).unwrap_err().to_string();
        assert!(e.contains(":2: column `phase`"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
