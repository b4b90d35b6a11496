//! The report contract: what one row of a report means, as Rust types.
//!
//! A report is long-form CSV: one row per scenario x client kind x protocol arm x network
//! condition x sweep point x metric, with the run's metadata repeated on every row so that any row,
//! copied anywhere, still says where it came from. [`HEADER`] is the exact first line. A row is
//! either a counter (`value` set, the latency cells empty) or a latency summary in microseconds
//! (`value` empty; `count`, `mean` and the percentiles set, or only `count` = 0 when there were no
//! samples), which may carry its whole HDR histogram (`histogram`: HdrHistogram's compressed V2
//! encoding, base64) so that reports merge exactly and HdrHistogram's own tools read them.
//!
//! [`read_report`](crate::read_report) and [`write_report`](crate::write_report) both enforce
//! [`Row::validate`], so every file the writer produces is one the reader accepts.

mod field_error;
mod latency;
mod names;

use std::fmt;
use std::str::FromStr;
use std::time::SystemTime;

pub use field_error::FieldError;
pub use latency::LatencySummary;
pub(crate) use names::parse_cell;
pub use names::{ClientKind, LatencyField, MetricKind, Protocol};

/// The exact header of a report, in column order.
pub const HEADER: [&str; 24] = [
    "run_id",
    "started_utc",
    "git_rev",
    "bench_version",
    "host",
    "shard",
    "scenario",
    "client",
    "protocol",
    "network",
    "clients",
    "streams_per_client",
    "metric",
    "kind",
    "unit",
    "value",
    "count",
    "mean",
    "p50",
    "p90",
    "p99",
    "p999",
    "max",
    "histogram",
];

/// The `network` cell of a run over loopback, with no emulated network conditions.
pub const LOOPBACK: &str = "loopback";

/// An RFC 3339 timestamp in UTC (`2026-11-23T20:13:00Z`, optionally with a fraction of a second).
///
/// Kept as the text it was parsed from, so reading and writing a report is lossless.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UtcTimestamp(String);

impl UtcTimestamp {
    /// Formats `time` in UTC, to the whole second.
    pub fn from_system_time(time: SystemTime) -> Self {
        Self(humantime::format_rfc3339_seconds(time).to_string())
    }

    /// The timestamp as written in the report.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for UtcTimestamp {
    type Err = FieldError;

    fn from_str(text: &str) -> Result<Self, FieldError> {
        // parse_rfc3339 accepts only `Z` or `+00:00`, i.e. UTC, and checks the calendar.
        let utc_suffix = text.ends_with('Z') || text.ends_with("+00:00");
        match humantime::parse_rfc3339(text) {
            Ok(_) if utc_suffix => Ok(Self(text.to_owned())),
            _ => Err(FieldError::NotUtcTimestamp),
        }
    }
}

impl fmt::Display for UtcTimestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a run came from; the same on every row of a report.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RunMeta {
    /// Identifies the run, e.g. `20261123T201300Z-ab12cd`.
    pub run_id: String,
    /// When the run started.
    pub started_utc: UtcTimestamp,
    /// The git revision of the benchmark, or `unknown`.
    pub git_rev: String,
    /// The `bench` version (`CARGO_PKG_VERSION`).
    pub bench_version: String,
    /// The machine's host name.
    pub host: String,
    /// Which part of a sharded run this report holds: empty for a whole run, `I/N` for shard I
    /// of N (1-based), `all/N` for the merge of all N.
    pub shard: String,
}

/// Identifies one row within a run; rows of two runs with equal keys measure the same thing.
///
/// Ordered field by field, so sorted keys group by scenario, arm and then numeric sweep point.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowKey {
    /// The scenario's name.
    pub scenario: String,
    /// What drove the requests.
    pub client: ClientKind,
    /// The protocol arm.
    pub protocol: Protocol,
    /// The network conditions between clients and server: [`LOOPBACK`], or the emulated
    /// conditions such as `rtt=100ms loss=2%`.
    pub network: String,
    /// Number of virtual clients (browser tabs sharing one connection pool each) at this point.
    pub clients: u32,
    /// Number of SSE streams each client asks for at this point.
    pub streams_per_client: u32,
    /// The metric, e.g. `time_to_first_event` or `streams_opened`.
    pub metric: String,
}

impl fmt::Display for RowKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {} ", self.scenario, self.client, self.protocol)?;
        if self.network != LOOPBACK {
            write!(f, "[{}] ", self.network)?;
        }
        write!(
            f,
            "clients={} streams_per_client={} {}",
            self.clients, self.streams_per_client, self.metric
        )
    }
}

/// The measured value of a row.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value {
    /// A count of events (`value` cell).
    Counter(u64),
    /// A latency distribution (`count` .. `max` cells).
    Latency(LatencySummary),
}

impl Value {
    /// Which kind of row this value makes.
    pub fn kind(&self) -> MetricKind {
        match self {
            Self::Counter(_) => MetricKind::Counter,
            Self::Latency(_) => MetricKind::Latency,
        }
    }
}

/// One row of a report.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The run the row belongs to.
    pub meta: RunMeta,
    /// What was measured.
    pub key: RowKey,
    /// The measurement.
    pub value: Value,
    /// A latency row's whole histogram, HdrHistogram's compressed V2 encoding in base64
    /// ([`crate::histogram`]); `None` for a counter, or a latency written without it.
    pub histogram: Option<String>,
}

impl Row {
    /// The row's cells, in [`HEADER`] order.
    pub fn to_record(&self) -> [String; 24] {
        let row = self;
        fn opt<T: ToString>(value: Option<T>) -> String {
            value.map(|v| v.to_string()).unwrap_or_default()
        }
        let (value, count, mean, p50, p90, p99, p999, max) = match &row.value {
            Value::Counter(value) => (
                value.to_string(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
                String::new(),
            ),
            Value::Latency(s) => (
                String::new(),
                s.count.to_string(),
                opt(s.mean),
                opt(s.p50),
                opt(s.p90),
                opt(s.p99),
                opt(s.p999),
                opt(s.max),
            ),
        };
        let kind = row.value.kind();
        [
            row.meta.run_id.clone(),
            row.meta.started_utc.to_string(),
            row.meta.git_rev.clone(),
            row.meta.bench_version.clone(),
            row.meta.host.clone(),
            row.meta.shard.clone(),
            row.key.scenario.clone(),
            row.key.client.to_string(),
            row.key.protocol.to_string(),
            row.key.network.clone(),
            row.key.clients.to_string(),
            row.key.streams_per_client.to_string(),
            row.key.metric.clone(),
            kind.as_str().to_owned(),
            kind.unit().to_owned(),
            value,
            count,
            mean,
            p50,
            p90,
            p99,
            p999,
            max,
            row.histogram.clone().unwrap_or_default(),
        ]
    }

    /// Checks what the types alone do not: non-empty names, metric name characters and the
    /// latency invariants. The error names the offending column.
    pub fn validate(&self) -> Result<(), (&'static str, FieldError)> {
        let non_empty = [
            ("run_id", &self.meta.run_id),
            ("git_rev", &self.meta.git_rev),
            ("bench_version", &self.meta.bench_version),
            ("host", &self.meta.host),
            ("scenario", &self.key.scenario),
            ("network", &self.key.network),
            ("metric", &self.key.metric),
        ];
        if let Some((column, _)) = non_empty.iter().find(|(_, text)| text.is_empty()) {
            return Err((column, FieldError::Empty));
        }
        if !shard_ok(&self.meta.shard) {
            return Err(("shard", FieldError::BadShard));
        }
        if self.histogram.is_some() && self.value.kind() == MetricKind::Counter {
            return Err((
                "histogram",
                FieldError::MustBeEmpty {
                    context: "for a counter row",
                },
            ));
        }
        let metric_chars_ok = self
            .key
            .metric
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !metric_chars_ok {
            return Err(("metric", FieldError::BadMetricName));
        }
        match &self.value {
            Value::Counter(_) => Ok(()),
            Value::Latency(summary) => summary.validate(),
        }
    }
}

/// Empty, `I/N` with 1 <= I <= N, or `all/N`.
fn shard_ok(shard: &str) -> bool {
    if shard.is_empty() {
        return true;
    }
    let Some((part, count)) = shard.split_once('/') else {
        return false;
    };
    let Ok(count) = count.parse::<u32>() else {
        return false;
    };
    count >= 1 && (part == "all" || part.parse::<u32>().is_ok_and(|i| (1..=count).contains(&i)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_the_contract() {
        assert_eq!(
            HEADER.join(","),
            "run_id,started_utc,git_rev,bench_version,host,shard,scenario,client,protocol,network,\
             clients,streams_per_client,metric,kind,unit,value,count,mean,p50,p90,p99,p999,max,\
             histogram"
        );
    }

    #[test]
    fn timestamps_must_be_utc() {
        assert!("2026-11-23T20:13:00Z".parse::<UtcTimestamp>().is_ok());
        assert!("2026-11-23T20:13:00.123456Z"
            .parse::<UtcTimestamp>()
            .is_ok());
        assert!("2026-11-23T20:13:00+01:00".parse::<UtcTimestamp>().is_err());
        assert!("2026-11-23 20:13:00".parse::<UtcTimestamp>().is_err());
        assert!("2026-02-30T20:13:00Z".parse::<UtcTimestamp>().is_err());
        let formatted = UtcTimestamp::from_system_time(SystemTime::UNIX_EPOCH);
        assert_eq!(formatted.as_str(), "1970-01-01T00:00:00Z");
    }
}
