//! The CSV report is a contract between the runner, `bench compare`, `bench plot` and whatever else
//! reads results: these tests pin its header, its cell formats and its error messages.

// Helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{chain, key, latency, meta, sweep, Scratch};
use report::{
    read_report, write_report, LatencySummary, Protocol, ReportError, ReportWriter, Row, Value,
};

const HEADER_LINE: &str = "run_id,started_utc,git_rev,bench_version,host,shard,scenario,client,\
protocol,network,clients,streams_per_client,metric,kind,unit,value,count,mean,p50,p90,p99,p999,max,\
histogram";

#[test]
fn written_header_is_the_contract() {
    let dir = Scratch::new();
    let path = dir.path("r.csv");
    write_report(&path, &sweep("run-1", "ceiling")).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    assert_eq!(text.lines().next(), Some(HEADER_LINE));
}

#[test]
fn cells_are_written_as_documented() {
    let dir = Scratch::new();
    let path = dir.path("r.csv");
    let rows = [
        Row {
            meta: meta("run-1"),
            key: key("s", Protocol::H1Tls, 8, "streams_opened"),
            value: Value::Counter(6),
            histogram: None,
        },
        Row {
            meta: meta("run-1"),
            key: key("s", Protocol::H2, 8, "post_rtt"),
            value: Value::Latency(LatencySummary::EMPTY),
            histogram: None,
        },
        Row {
            meta: meta("run-1"),
            key: key("s", Protocol::H2c, 8, "fanout"),
            value: latency(1000, 3000),
            histogram: None,
        },
    ];
    write_report(&path, &rows).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    // The shard cell is empty for a whole run; the network is `loopback` without emulation.
    let prefix = "run-1,2026-11-23T20:13:00Z,unknown,0.1.0,ci-box,,s,emulated";
    assert_eq!(
        lines[1],
        format!("{prefix},h1-tls,loopback,1,8,streams_opened,counter,count,6,,,,,,,,")
    );
    assert_eq!(
        lines[2],
        format!("{prefix},h2,loopback,1,8,post_rtt,latency,us,,0,,,,,,,")
    );
    assert_eq!(
        lines[3],
        format!("{prefix},h2c,loopback,1,8,fanout,latency,us,,1000,1100,1000,2000,3000,3300,6000,")
    );
}

#[test]
fn round_trip() {
    let dir = Scratch::new();
    let path = dir.path("r.csv");
    let mut rows = sweep("run-1", "ceiling");
    rows.push(Row {
        meta: meta("run-1"),
        key: key("ceiling", Protocol::H2, 8, "event_delivery"),
        value: Value::Latency(LatencySummary {
            count: 7,
            mean: Some(1_234.567_890_123),
            p50: Some(1),
            p90: Some(2),
            p99: Some(3),
            p999: Some(u64::MAX - 1),
            max: Some(u64::MAX),
        }),
        histogram: None,
    });
    // A latency row with its whole histogram.
    let mut h = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
    for us in [120, 130, 4_000, 250_000] {
        h.record(us).unwrap();
    }
    rows.push(Row {
        meta: meta("run-1"),
        key: key("ceiling", Protocol::H2, 8, "fanout"),
        value: Value::Latency(report::histogram::summary(&h)),
        histogram: Some(report::histogram::encode(&h)),
    });
    write_report(&path, &rows).unwrap();
    assert_eq!(read_report(&path).unwrap(), rows);
}

#[test]
fn streaming_writer_leaves_finished_points_on_disk() {
    let dir = Scratch::new();
    let path = dir.path("r.csv");
    let rows = sweep("run-1", "ceiling");
    let (first_point, rest) = rows.split_at(7);
    let mut writer = ReportWriter::create(&path).unwrap();
    writer.write_rows(first_point).unwrap();
    // Not finished, as if the process crashed now: the first point is readable.
    assert_eq!(read_report(&path).unwrap(), first_point);
    writer.write_rows(rest).unwrap();
    writer.finish().unwrap();
    assert_eq!(read_report(&path).unwrap(), rows);
}

#[test]
fn bad_header_is_refused() {
    let dir = Scratch::new();
    let path = dir.write("old.csv", &HEADER_LINE.replace("p999", "p99.9"));
    let err = read_report(&path).unwrap_err();
    assert!(matches!(err, ReportError::Header { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!("{}:1: header", path.display())),
        "{text}"
    );
    assert!(text.contains("p99.9"), "{text}");

    let empty = dir.write("empty.csv", "");
    assert!(matches!(
        read_report(&empty),
        Err(ReportError::Header { .. })
    ));
}

/// Writes a valid report, replaces `from` by `to` in its third line and reads it back.
fn read_with_line_3_edited(from: &str, to: &str) -> (std::path::PathBuf, ReportError) {
    let dir = Scratch::new();
    let path = dir.path("r.csv");
    write_report(&path, &sweep("run-1", "ceiling")).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    assert!(lines[2].contains(from), "{}", lines[2]);
    lines[2] = lines[2].replacen(from, to, 1);
    let path = dir.write("edited.csv", &(lines.join("\n") + "\n"));
    let err = read_report(&path).unwrap_err();
    // Keep the message only: the directory is gone when `dir` drops.
    (path, err)
}

#[test]
fn bad_cell_names_file_line_column_and_value() {
    // Line 3 is h1, 1 stream, streams_opened = 1.
    let (path, err) = read_with_line_3_edited(",1,1,streams_opened,", ",1,one,streams_opened,");
    assert_eq!(
        chain(&err),
        format!(
            "{}:3: column `streams_per_client`: bad value \"one\": not an unsigned integer",
            path.display()
        )
    );
}

#[test]
fn each_cell_is_checked() {
    let cases = [
        (",emulated,", ",safari,", "client", "expected one of"),
        (",h1,", ",h4,", "protocol", "expected one of"),
        (
            "2026-11-23T20:13:00Z",
            "2026-11-23T21:13:00+01:00",
            "started_utc",
            "UTC",
        ),
        (
            ",counter,count,1,",
            ",counter,us,1,",
            "unit",
            "expected one of `count`",
        ),
        (
            ",counter,count,1,",
            ",counter,count,,",
            "value",
            "must not be empty",
        ),
        (
            ",counter,count,1,,",
            ",counter,count,1,5,",
            "count",
            "must be empty for a counter",
        ),
        (
            ",counter,count,1,",
            ",gauge,count,1,",
            "kind",
            "expected one of",
        ),
        (",streams_opened,", ",Streams-Opened,", "metric", "a-z"),
        ("run-1,", "run-2,", "run_id", "a report holds one run"),
        ("ci-box,,", "ci-box,2/1,", "shard", "I/N"),
        (",loopback,", ",,", "network", "must not be empty"),
    ];
    for (from, to, column, reason) in cases {
        let (_, err) = read_with_line_3_edited(from, to);
        let text = chain(&err);
        assert!(
            text.contains(&format!(":3: column `{column}`")) && text.contains(reason),
            "{from} -> {to}: {text}"
        );
    }
}

#[test]
fn latency_cells_are_checked() {
    let dir = Scratch::new();
    let row = |cells: &str| {
        format!("{HEADER_LINE}\nr,2026-11-23T20:13:00Z,unknown,0.1.0,h,,s,emulated,h2,loopback,1,1,post_rtt,latency,us,{cells},\n")
    };
    let cases = [
        (
            "9,3,1.5,1,2,3,4,5",
            "value",
            "must be empty for a latency row",
        ),
        (",3,,1,2,3,4,5", "mean", "must not be empty"),
        (",3,NaN,1,2,3,4,5", "mean", "non-negative"),
        (",3,1.5,1,2,3,4,", "max", "must not be empty"),
        (",3,1.5,1,5,3,4,5", "p99", "smaller than p90"),
        (",0,,,,,,7", "max", "must be empty when count is 0"),
        (",-1,,,,,,", "count", "not an unsigned integer"),
    ];
    for (cells, column, reason) in cases {
        let path = dir.write("r.csv", &row(cells));
        let text = chain(&read_report(&path).unwrap_err());
        assert!(
            text.contains(&format!(":2: column `{column}`")) && text.contains(reason),
            "{cells}: {text}"
        );
    }
    let ok = dir.write("ok.csv", &row(",0,,,,,,"));
    assert_eq!(read_report(&ok).unwrap().len(), 1);
    let bad_histogram = dir.write(
        "h.csv",
        &row(",0,,,,,,").replacen(",latency,us,,0,,,,,,,", ",latency,us,,0,,,,,,,!!!", 1),
    );
    let text = chain(&read_report(&bad_histogram).unwrap_err());
    assert!(text.contains(":2: column `histogram`"), "{text}");
}

#[test]
fn wrong_cell_count_names_the_line() {
    let (path, err) = read_with_line_3_edited(",,,,,,,,", ",,,,,,,");
    assert_eq!(
        err.to_string(),
        format!("{}:3: row has 23 cells, the header has 24", path.display())
    );
}

#[test]
fn duplicate_rows_are_refused_by_reader_and_writer() {
    let dir = Scratch::new();
    let rows = sweep("run-1", "ceiling");
    let mut doubled = rows.clone();
    doubled.push(rows[3].clone());
    let path = dir.path("dup.csv");
    let err = write_report(&path, &doubled).unwrap_err();
    assert!(
        matches!(err, ReportError::DuplicateKey { first_line: 5, .. }),
        "{err:?}"
    );

    write_report(&path, &rows).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let fourth_row = text.lines().nth(4).unwrap().to_owned();
    let path = dir.write("dup2.csv", &format!("{text}{fourth_row}\n"));
    let err = read_report(&path).unwrap_err();
    let expected_line = rows.len() as u64 + 2;
    assert_eq!(
        err.to_string(),
        format!(
            "{}:{expected_line}: duplicate row ceiling emulated h1 clients=1 \
             streams_per_client=1 errors (first on line 5)",
            path.display()
        )
    );
}

#[test]
fn writer_refuses_invalid_rows_before_writing_them() {
    let dir = Scratch::new();
    let path = dir.path("r.csv");
    let mut writer = ReportWriter::create(&path).unwrap();
    let bad = Row {
        meta: meta("run-1"),
        key: key("s", Protocol::H2, 1, "post rtt"),
        value: latency(1, 2),
        histogram: None,
    };
    let err = writer.write_row(&bad).unwrap_err();
    assert!(
        matches!(
            err,
            ReportError::Cell {
                line: 2,
                column: "metric",
                ..
            }
        ),
        "{err:?}"
    );
    writer.finish().unwrap();
    assert_eq!(read_report(&path).unwrap(), []);
}

#[test]
fn missing_file_names_the_file() {
    let dir = Scratch::new();
    let path = dir.path("absent.csv");
    let err = read_report(&path).unwrap_err();
    assert_eq!(err.to_string(), format!("{}: cannot open", path.display()));
}
