//! `bench plot` output: a well-formed SVG naming the scenario and every series in its legends.

// Helpers outside #[test] functions unwrap too: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use crate::common;

use common::{key, meta, sweep, Scratch};
use report::{plot_report, Protocol, ReportError, Row, Value};

/// Checks that `svg` is one `<svg>` element whose tags all balance; returns the number of elements.
fn assert_well_formed(svg: &str) -> usize {
    let svg = svg.trim();
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
    assert!(svg.ends_with("</svg>"));
    let mut open: Vec<&str> = Vec::new();
    let mut elements = 0;
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("unterminated tag") + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if tag.starts_with('?') || tag.starts_with('!') {
            continue;
        }
        let name = tag
            .trim_start_matches('/')
            .split(|c: char| c.is_whitespace() || c == '/')
            .next()
            .unwrap();
        if tag.starts_with('/') {
            assert_eq!(open.pop(), Some(name), "closing </{name}> does not match");
        } else {
            elements += 1;
            if !tag.ends_with('/') {
                open.push(name);
            }
        }
        if open.is_empty() {
            assert!(rest.trim().is_empty(), "content after the root element");
        }
    }
    assert!(open.is_empty(), "unclosed: {open:?}");
    elements
}

fn texts(svg: &str) -> Vec<String> {
    svg.split("<text")
        .skip(1)
        .filter_map(|t| {
            let body = &t[t.find('>')? + 1..];
            let text = body[..body.find("</text>")?].trim();
            Some(
                text.replace("&quot;", "\"")
                    .replace("&apos;", "'")
                    .replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&amp;", "&"),
            )
        })
        .collect()
}

#[test]
fn sweep_plot_is_well_formed_and_labelled() {
    let dir = Scratch::new();
    let out = dir.path("ceiling.svg");
    plot_report(&sweep("run-7", "six-connection-ceiling"), &out).unwrap();
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(assert_well_formed(&svg) > 100);
    let texts = texts(&svg);
    let has = |wanted: &str| texts.iter().any(|t| t == wanted);
    assert!(
        has("ssebench scenario \"six-connection-ceiling\""),
        "{texts:?}"
    );
    for series in [
        "streams_requested",
        "h1 streams_opened",
        "h2 streams_opened",
        "h1 posts_completed",
        "h2 posts_completed",
        "h1 p50",
        "h1 p99",
        "h2 p50",
        "h2 p99",
    ] {
        assert!(has(series), "no legend entry {series:?} in {texts:?}");
    }
    for caption in [
        "ceiling: SSE streams opened, connections used",
        "ceiling: POSTs completed",
        "queue_wait: p50 solid, p99 dashed",
        "time_to_first_event: p50 solid, p99 dashed",
        "post_rtt: p50 solid, p99 dashed",
    ] {
        assert!(has(caption), "no panel {caption:?} in {texts:?}");
    }
    // queue_wait spans microseconds (h2) to seconds (h1 over the limit): log scale, in ms.
    assert!(has("queue_wait (ms, log scale)"), "{texts:?}");
    assert!(has("SSE streams per client"), "{texts:?}");
    assert!(texts
        .iter()
        .any(|t| t.contains("run run-7") && t.contains("errors counted: 0")));
}

#[test]
fn clients_sweep_puts_clients_on_the_x_axis() {
    let dir = Scratch::new();
    let out = dir.path("clients.svg");
    let rows: Vec<Row> = [1u32, 2, 4]
        .into_iter()
        .map(|clients| Row {
            meta: meta("r"),
            key: report::RowKey {
                clients,
                ..key("tabs", Protocol::H2, 8, "streams_opened")
            },
            value: Value::Counter(u64::from(8 * clients)),
            histogram: None,
        })
        .collect();
    plot_report(&rows, &out).unwrap();
    let svg = std::fs::read_to_string(&out).unwrap();
    assert_well_formed(&svg);
    assert!(texts(&svg).iter().any(|t| t == "clients"));
}

#[test]
fn one_scenario_per_figure() {
    let dir = Scratch::new();
    let mut rows = sweep("r", "a");
    rows.extend(sweep("r", "b"));
    let err = plot_report(&rows, &dir.path("x.svg")).unwrap_err();
    assert!(
        matches!(err, ReportError::SeveralScenarios { .. }),
        "{err:?}"
    );
    assert!(!dir.path("x.svg").exists());

    let err = plot_report(&[], &dir.path("y.svg")).unwrap_err();
    assert_eq!(err.to_string(), "nothing to plot: the report has no rows");
}

#[test]
fn unwritable_output_names_the_file() {
    let dir = Scratch::new();
    let out = dir.path("missing-dir/x.svg");
    let err = plot_report(&sweep("r", "a"), &out).unwrap_err();
    assert_eq!(err.to_string(), format!("{}: cannot write", out.display()));
}

#[test]
fn a_sweep_over_clients_and_streams_must_not_collide() {
    let dir = Scratch::new();
    let point = |clients, streams| Row {
        meta: meta("r"),
        key: report::RowKey {
            clients,
            ..key("both", Protocol::H1, streams, "streams_opened")
        },
        value: Value::Counter(4),
        histogram: None,
    };
    // 1 x 4 and 2 x 2 are both 4 streams in total: one x position, two values.
    let err = plot_report(&[point(1, 4), point(2, 2)], &dir.path("x.svg")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "arm emulated h1 has two sweep points with 4 streams in total (clients x streams per client)"
    );
    // 1 x 2 and 2 x 4 do not collide: x is the total.
    let out = dir.path("ok.svg");
    plot_report(&[point(1, 2), point(2, 4)], &out).unwrap();
    let svg = std::fs::read_to_string(&out).unwrap();
    assert!(texts(&svg)
        .iter()
        .any(|t| t.starts_with("SSE streams in total")));
}

#[test]
fn time_series_panels_show_the_last_point_over_time() {
    use report::series::{IntervalCounts, Phase, SeriesRow};
    use std::time::Duration;
    let dir = Scratch::new();
    let out = dir.path("series.svg");
    let rows = sweep("run-7", "six-connection-ceiling");
    let interval = |protocol, streams_per_client, second: u64, errors, p99| SeriesRow {
        run_id: "run-7".into(),
        shard: String::new(),
        scenario: "six-connection-ceiling".into(),
        client: report::ClientKind::Emulated,
        protocol,
        network: report::LOOPBACK.into(),
        clients: 1,
        streams_per_client,
        interval: IntervalCounts {
            start: Duration::from_secs(second),
            length: Duration::from_secs(1),
            events: 100,
            streams_open: 6,
            streams_queued: 2,
            errors,
        },
        phase: if second == 0 {
            Phase::Warmup
        } else {
            Phase::Measured
        },
        delivery_count: 90,
        delivery_p50_us: Some(900),
        delivery_p99_us: Some(p99),
    };
    let series: Vec<SeriesRow> = (0..5)
        .flat_map(|s| {
            [
                interval(Protocol::H1, 8, s, u64::from(s == 3), 4_000),
                interval(Protocol::H2, 8, s, 0, 2_000),
                // An earlier point of the sweep: not drawn.
                interval(Protocol::H2, 1, s, 7, 1_000_000),
            ]
        })
        .collect();
    let mut ordered: Vec<SeriesRow> = series
        .iter()
        .filter(|r| r.streams_per_client == 1)
        .cloned()
        .collect();
    ordered.extend(series.iter().filter(|r| r.streams_per_client == 8).cloned());
    report::plot_report_with_series(&rows, &ordered, &out).unwrap();
    let svg = std::fs::read_to_string(&out).unwrap();
    assert_well_formed(&svg);
    let found = texts(&svg);
    let has = |wanted: &str| found.iter().any(|t| t == wanted);
    for caption in [
        "over time: events received per second",
        "over time: streams open (solid) and queued (dashed)",
        "over time: errors per interval",
        "over time: event_delivery per interval, p50 solid, p99 dashed",
    ] {
        assert!(has(caption), "no panel {caption:?} in {found:?}");
    }
    for legend in ["h1 events/s", "h2 queued", "h1 errors", "h2 p99"] {
        assert!(has(legend), "no legend entry {legend:?} in {found:?}");
    }
    assert!(
        has("seconds from the start of the point (clients=1 streams/client=8, warm-up until 1s)"),
        "{found:?}"
    );
    // The earlier point's 1 s p99 is not drawn: the delivery axis stays in microseconds.
    assert!(has("event_delivery (us)"), "{found:?}");
    // Without series, no time panel.
    let plain = dir.path("plain.svg");
    plot_report(&rows, &plain).unwrap();
    let plain = std::fs::read_to_string(&plain).unwrap();
    assert!(!texts(&plain).iter().any(|t| t.starts_with("over time")));
}
