//! Every arm and every client kind read back through every reader (report, series, merge,
//! compare), and every error that lists accepted words names all of them. Each list is looped
//! over from its type's `ALL`, never typed here, so a new arm or kind joins by being added to
//! its enum.

// Helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use crate::common;

use std::time::Duration;

use common::{chain, meta, Scratch};
use hdrhistogram::Histogram;
use report::series::{IntervalCounts, Phase, SeriesRow, SERIES_HEADER};
use report::{
    ClientKind, CompareOptions, LatencyField, MetricKind, Protocol, Report, Row, RowKey,
    ThresholdSpec, Value, Verdict, HEADER,
};
use vocab::Word;

/// Every (client kind, arm) pair.
fn every_arm_and_kind() -> Vec<(ClientKind, Protocol)> {
    ClientKind::ALL
        .into_iter()
        .flat_map(|client| Protocol::ALL.into_iter().map(move |arm| (client, arm)))
        .collect()
}

fn key(client: ClientKind, protocol: Protocol, metric: &str) -> RowKey {
    RowKey {
        scenario: "every-word".to_owned(),
        client,
        protocol,
        network: report::LOOPBACK.to_owned(),
        clients: 2,
        streams_per_client: 3,
        metric: metric.to_owned(),
    }
}

/// One run (or shard) with a counter and a latency (its histogram included, so shards merge)
/// for every pair; `n` makes each pair's numbers differ.
fn rows(run_id: &str, shard: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for (n, (client, protocol)) in (1u64..).zip(every_arm_and_kind()) {
        let meta = report::RunMeta {
            shard: shard.to_owned(),
            ..meta(run_id)
        };
        rows.push(Row {
            meta: meta.clone(),
            key: key(client, protocol, "streams_opened"),
            value: Value::Counter(n),
            histogram: None,
        });
        let mut h = Histogram::<u64>::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        for sample in 1..=20 {
            h.record(100 * n + sample).unwrap();
        }
        rows.push(Row {
            meta,
            key: key(client, protocol, "event_delivery"),
            value: Value::Latency(report::histogram::summary(&h)),
            histogram: Some(report::histogram::encode(&h)),
        });
    }
    rows
}

/// Every pair's key of `metric` is among `rows`.
fn has_every_pair(rows: &[Row], metric: &str) {
    for (client, protocol) in every_arm_and_kind() {
        let wanted = key(client, protocol, metric);
        assert!(rows.iter().any(|r| r.key == wanted), "no {wanted}");
    }
}

/// A column, and the check that an error about it names every word of its vocabulary.
type ColumnCheck = (&'static str, fn(&str));

/// `message` names every word of `W`, each as the readers quote it.
fn names_every_word<W: Word>(message: &str) {
    for &word in W::ALL {
        assert!(
            message.contains(&format!("`{}`", word.as_str())),
            "{message}: {} {} missing",
            W::WHAT,
            word.as_str()
        );
    }
}

/// The CSV file `text` with the cell of `column` on its second line (the first record) set to
/// `to`; `header` is the file's header.
fn with_cell(text: &str, header: &[&str], column: &str, to: &str) -> String {
    let index = header.iter().position(|c| *c == column).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut cells: Vec<&str> = lines[1].split(',').collect();
    cells[index] = to;
    lines[1] = cells.join(",");
    lines.join("\n") + "\n"
}

#[test]
fn every_arm_and_kind_reads_back_and_merges() {
    let dir = Scratch::new();
    let whole = rows("run-1", "");
    let path = dir.path("whole.csv");
    report::write_report(&path, &whole).unwrap();
    assert_eq!(report::read_report(&path).unwrap(), whole);

    let shards: Vec<Report> = ["1/2", "2/2"]
        .into_iter()
        .enumerate()
        .map(|(i, shard)| {
            let path = dir.path(&format!("shard{i}.csv"));
            report::write_report(&path, &rows("run-2", shard)).unwrap();
            Report::read(&path).unwrap()
        })
        .collect();
    let merged = report::merge(&shards).unwrap();
    has_every_pair(&merged, "streams_opened");
    has_every_pair(&merged, "event_delivery");
    for row in &merged {
        let single = &whole.iter().find(|w| w.key == row.key).unwrap().value;
        match (single, &row.value) {
            (Value::Counter(one), Value::Counter(sum)) => assert_eq!(*sum, 2 * one, "{}", row.key),
            (Value::Latency(one), Value::Latency(both)) => {
                assert_eq!(both.count, 2 * one.count, "{}", row.key);
                assert_eq!(both.p50, one.p50, "{}", row.key);
            }
            _ => panic!("{}: the kind changed", row.key),
        }
    }
    let merged_path = dir.path("merged.csv");
    report::write_report(&merged_path, &merged).unwrap();
    assert_eq!(report::read_report(&merged_path).unwrap(), merged);
}

#[test]
fn every_arm_and_kind_is_compared() {
    let dir = Scratch::new();
    let (base, new) = (dir.path("base.csv"), dir.path("new.csv"));
    report::write_report(&base, &rows("base", "")).unwrap();
    report::write_report(&new, &rows("new", "")).unwrap();
    let comparison = report::compare_files(&[base], &[new], &CompareOptions::default()).unwrap();
    assert_eq!(comparison.verdict().unwrap(), Verdict::NoRegression);
    for (client, protocol) in every_arm_and_kind() {
        for metric in ["streams_opened", "event_delivery"] {
            let wanted = key(client, protocol, metric);
            assert!(
                comparison.lines.iter().any(|l| l.key == wanted),
                "no line for {wanted}"
            );
        }
    }
}

#[test]
fn every_arm_and_kind_has_a_series() {
    let dir = Scratch::new();
    let path = dir.path("series.csv");
    let mut series = Vec::new();
    for (client, protocol) in every_arm_and_kind() {
        for (second, phase) in (0u64..).zip(Phase::ALL) {
            series.push(SeriesRow {
                run_id: "run-1".into(),
                shard: String::new(),
                scenario: "every-word".into(),
                client,
                protocol,
                network: report::LOOPBACK.into(),
                clients: 2,
                streams_per_client: 3,
                interval: IntervalCounts {
                    start: Duration::from_secs(second),
                    length: Duration::from_secs(1),
                    events: 10 + second,
                    streams_open: 6,
                    streams_queued: 0,
                    errors: 0,
                },
                phase,
                delivery_count: 1,
                delivery_p50_us: Some(500),
                delivery_p99_us: Some(900),
            });
        }
    }
    let mut writer = report::series::SeriesWriter::create(&path).unwrap();
    writer.write_rows(&series).unwrap();
    drop(writer);
    assert_eq!(report::series::read_series(&path).unwrap(), series);
}

#[test]
fn a_bad_word_in_a_report_names_every_word() {
    let dir = Scratch::new();
    let path = dir.path("good.csv");
    report::write_report(&path, &rows("run-1", "")).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let check: [ColumnCheck; 3] = [
        ("client", names_every_word::<ClientKind>),
        ("protocol", names_every_word::<Protocol>),
        ("kind", names_every_word::<MetricKind>),
    ];
    for (column, names_every) in check {
        let bad = dir.write(
            &format!("bad-{column}.csv"),
            &with_cell(&text, &HEADER, column, "bogus"),
        );
        let read = chain(&report::read_report(&bad).unwrap_err());
        assert!(read.contains(&format!(":2: column `{column}`")), "{read}");
        names_every(&read);
        let compared = report::compare_files(
            std::slice::from_ref(&path),
            std::slice::from_ref(&bad),
            &CompareOptions::default(),
        )
        .unwrap_err();
        names_every(&chain(&compared));
    }
}

#[test]
fn a_bad_word_in_a_series_names_every_word() {
    let dir = Scratch::new();
    let path = dir.path("series.csv");
    let mut writer = report::series::SeriesWriter::create(&path).unwrap();
    writer
        .write_rows(&[SeriesRow {
            run_id: "run-1".into(),
            shard: String::new(),
            scenario: "every-word".into(),
            client: ClientKind::EmulatedFirefox,
            protocol: Protocol::Wss,
            network: report::LOOPBACK.into(),
            clients: 1,
            streams_per_client: 1,
            interval: IntervalCounts::default(),
            phase: Phase::Warmup,
            delivery_count: 0,
            delivery_p50_us: None,
            delivery_p99_us: None,
        }])
        .unwrap();
    drop(writer);
    let text = std::fs::read_to_string(&path).unwrap();
    let check: [ColumnCheck; 3] = [
        ("client", names_every_word::<ClientKind>),
        ("protocol", names_every_word::<Protocol>),
        ("phase", names_every_word::<Phase>),
    ];
    for (column, names_every) in check {
        let bad = dir.write(
            &format!("bad-{column}.csv"),
            &with_cell(&text, &SERIES_HEADER, column, "bogus"),
        );
        let read = chain(&report::series::read_series(&bad).unwrap_err());
        assert!(read.contains(&format!(":2: column `{column}`")), "{read}");
        names_every(&read);
    }
}

#[test]
fn a_bad_latency_field_in_a_threshold_names_every_field() {
    let err = ThresholdSpec::parse_flag("fanout.p98=+5%").unwrap_err();
    let message = chain(&err);
    let (_, listed) = message.split_once("expected one of: ").expect(&message);
    let listed: Vec<&str> = listed.trim_end_matches(')').split(", ").collect();
    for field in LatencyField::ALL {
        assert!(
            listed.contains(&field.as_str()),
            "{message}: {field} missing"
        );
    }
}
