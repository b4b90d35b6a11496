//! Each point's interval histograms as an HdrHistogram interval log (`.hlog`), the format of
//! HdrHistogram's `HistogramLogWriter` that its `HistogramLogProcessor` and plotting tools read:
//! one line per (interval, latency), tagged with the latency's metric name, values in
//! microseconds, timestamps in seconds from the start of the point (`BaseTime`). Written with the
//! `hdrhistogram` crate's interval log writer and its compressed V2 serializer.

use std::io::{BufWriter, Write as _};
use std::path::Path;
use std::time::{Duration, SystemTime};

use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::Histogram;

use crate::error::ReportError;

/// One interval: its start (from the start of the point), its length, and one histogram per
/// latency metric name.
#[derive(Debug)]
pub struct LogInterval<'a> {
    pub start: Duration,
    pub length: Duration,
    pub histograms: Vec<(&'a str, &'a Histogram<u64>)>,
}

/// Writes the interval log of one point to `path`; `started` is the wall-clock start of the point
/// (the log's `StartTime` and `BaseTime`), `comment` says which point it is.
pub fn write_interval_log(
    path: &Path,
    started: SystemTime,
    comment: &str,
    intervals: &[LogInterval<'_>],
) -> Result<(), ReportError> {
    let io = |source| ReportError::Io {
        path: path.to_owned(),
        action: "write",
        source,
    };
    let mut out = BufWriter::new(crate::csv_file::create_file(path)?);
    let mut serializer = V2DeflateSerializer::new();
    {
        let mut log = IntervalLogWriterBuilder::new()
            .add_comment(comment)
            .add_comment(
                "values in microseconds; one tag per latency metric (see scenarios/README.md)",
            )
            .with_start_time(started)
            .with_base_time(started)
            .begin_log_with(&mut out, &mut serializer)
            .map_err(io)?;
        for interval in intervals {
            for (name, h) in &interval.histograms {
                log.write_histogram(*h, interval.start, interval.length, Tag::new(name))
                    .map_err(|e| {
                        io(std::io::Error::other(format!(
                            "cannot write the {name} histogram: {e}"
                        )))
                    })?;
            }
        }
    }
    out.flush().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    use hdrhistogram::serialization::Deserializer;

    #[test]
    fn the_log_reads_back_with_the_crates_own_parser() {
        let mut a = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).expect("bounds");
        a.record(1_000).expect("in range");
        a.record(2_000).expect("in range");
        let mut b = a.clone();
        b.reset();
        b.record(50_000).expect("in range");
        let dir = std::env::temp_dir().join(format!("ssebench-hlog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("p.hlog");
        let intervals = [
            LogInterval {
                start: Duration::ZERO,
                length: Duration::from_secs(1),
                histograms: vec![("event_delivery", &a)],
            },
            LogInterval {
                start: Duration::from_secs(1),
                length: Duration::from_millis(400),
                histograms: vec![("event_delivery", &b), ("post_rtt", &a)],
            },
        ];
        write_interval_log(&path, SystemTime::now(), "point 1", &intervals).expect("writes");
        let bytes = std::fs::read(&path).expect("reads");
        let mut seen = Vec::new();
        for entry in IntervalLogIterator::new(&bytes) {
            if let LogEntry::Interval(h) = entry.expect("parses") {
                let decoded: Histogram<u64> = Deserializer::new()
                    .deserialize(&mut base64_decode(h.encoded_histogram()).as_slice())
                    .expect("decodes");
                seen.push((
                    h.tag().map(|t| t.as_str().to_owned()),
                    h.start_timestamp(),
                    decoded.len(),
                    decoded.max(),
                ));
            }
        }
        assert_eq!(seen.len(), 3, "{seen:?}");
        assert_eq!(seen[0].0.as_deref(), Some("event_delivery"));
        assert_eq!(seen[0].2, 2);
        assert_eq!(seen[1].1, Duration::from_secs(1));
        assert!(seen[1].3 >= 49_000, "{seen:?}");
        assert_eq!(seen[2].0.as_deref(), Some("post_rtt"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn base64_decode(s: &str) -> Vec<u8> {
        use base64::Engine as _;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .expect("base64")
    }
}
