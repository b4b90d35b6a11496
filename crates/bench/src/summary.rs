//! The table printed at the end of a run, arms side by side within each sweep point, so the
//! six-connection ceiling is plain to see. With faults on, two more columns show how the run
//! recovered: reconnects, and the loss proof (messages lost of those owed).

use std::fmt::Write;

use loadgen::{Counter, Latency, LatencySummary};

use crate::runner::{RunResult, Stopped};

pub fn render(scenario: &str, result: &RunResult) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{scenario}: {} of {} points run. Latencies are p50/p99 in milliseconds.",
        result.points.len(),
        result.points_planned
    );
    let mut header = vec![
        "clients",
        "streams",
        "arm",
        "opened",
        "queued",
        "POSTs",
        "conns",
        "queue_wait",
        "first_event",
        "post_rtt",
        "fanout",
        "delivery",
        "errors",
    ];
    if result.faults {
        header.extend(["reconnects", "lost"]);
    }
    let mut rows: Vec<Vec<String>> = Vec::new();
    for p in &result.points {
        let m = &p.outcome.metrics;
        let conns = match p.server {
            Some(s) => format!(
                "{} ({} srv)",
                m.get(Counter::ConnectionsCarryingRequests),
                s.connections_carrying_requests
            ),
            None => m.get(Counter::ConnectionsCarryingRequests).to_string(),
        };
        let mut row = vec![
            p.id.clients.to_string(),
            p.id.streams_per_client.to_string(),
            p.id.arm.to_string(),
            format!(
                "{}/{}",
                m.get(Counter::StreamsOpened),
                m.get(Counter::StreamsRequested)
            ),
            p.outcome.streams_queued_at_end.to_string(),
            format!(
                "{}/{}",
                m.get(Counter::PostsCompleted),
                m.get(Counter::PostsScheduled)
            ),
            conns,
            pair(m.latency(Latency::QueueWait)),
            pair(m.latency(Latency::TimeToFirstEvent)),
            pair(m.latency(Latency::PostRtt)),
            pair(m.latency(Latency::Fanout)),
            pair(m.latency(Latency::EventDelivery)),
            m.total_errors().to_string(),
        ];
        if result.faults {
            row.push(m.get(Counter::Reconnects).to_string());
            row.push(lost(p.outcome.delivery));
        }
        rows.push(row);
    }
    let many = result.points.len() > 2;
    out.push_str(&table(&header, &rows, |a, b| many && a[..2] != b[..2]));
    let _ = writeln!(
        out,
        "\nopened = streams that got a 200 of those requested; queued = still waiting for a slot at the end;\n\
         POSTs = completed of scheduled; conns = connections that carried requests (client, and server's count)."
    );
    if result.faults {
        let _ = writeln!(
            out,
            "lost = (POST, stream) pairs owed but never seen, of those owed (completed POSTs x streams subscribed and\n\
             not failed, minus the last 500 ms); `dup` = seen twice on one stream. See \"The loss proof\" in scenarios/README.md."
        );
    }
    let _ = match result.threads {
        (client, Some(server)) => writeln!(
            out,
            "threads: load generator {client}, embedded server {server} (each on its own runtime)."
        ),
        (client, None) => writeln!(out, "threads: load generator {client}."),
    };
    match &result.stopped {
        None => {}
        Some(Stopped::Interrupted) => {
            let _ = writeln!(
                out,
                "run interrupted: the points above were measured and written."
            );
        }
        Some(Stopped::Fatal(_, msg)) => {
            let _ = writeln!(out, "run stopped: {msg}");
        }
    }
    let _ = writeln!(out, "report: {}", result.csv.display());
    out
}

/// `lost/expected`, plus duplicates when there are any; `-` when the point was too large to track.
fn lost(delivery: Option<loadgen::DeliveryTally>) -> String {
    match delivery {
        None => "-".to_owned(),
        Some(d) if d.duplicated > 0 => format!("{}/{} ({} dup)", d.lost, d.expected, d.duplicated),
        Some(d) => format!("{}/{}", d.lost, d.expected),
    }
}

fn pair(s: LatencySummary) -> String {
    if s.count == 0 {
        return "-".to_owned();
    }
    pair_us(Some(s.p50), Some(s.p99))
}

/// `p50/p99` in milliseconds from microseconds, `-` without samples.
pub fn pair_us(p50: Option<u64>, p99: Option<u64>) -> String {
    match (p50, p99) {
        (Some(p50), Some(p99)) => format!("{}/{}", ms(p50), ms(p99)),
        _ => "-".to_owned(),
    }
}

/// Left-aligned columns two spaces apart; a blank line between consecutive rows where
/// `separate(previous, row)` says so.
pub fn table<R: AsRef<[String]>>(
    header: &[&str],
    rows: &[R],
    separate: impl Fn(&[String], &[String]) -> bool,
) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in rows {
        for (w, cell) in widths.iter_mut().zip(r.as_ref()) {
            *w = (*w).max(cell.len());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let parts: Vec<String> = cells
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        let _ = writeln!(out, "{}", parts.join("  ").trim_end());
    };
    line(&mut header.iter().copied());
    let mut previous: Option<&[String]> = None;
    for r in rows {
        let r = r.as_ref();
        if previous.is_some_and(|p| separate(p, r)) {
            line(&mut std::iter::empty());
        }
        previous = Some(r);
        line(&mut r.iter().map(String::as_str));
    }
    out
}

fn ms(us: u64) -> String {
    let v = us as f64 / 1000.0;
    if v >= 100.0 {
        format!("{v:.0}")
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}
