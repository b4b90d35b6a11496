//! The table printed at the end of a run, arms side by side within each sweep point, so the
//! six-connection ceiling is plain to see. The same table for every client kind: a metric the
//! client does not measure shows `-`. With faults on, two more columns show how the run recovered:
//! reconnects, and the loss proof (messages lost of those owed).

use std::fmt::Write;

use vocab::{Counter, Latency, Metric};

use super::measurement::Measurement;
use super::{RunResult, Stopped};

pub fn render(scenario: &str, result: &RunResult) -> String {
    let mut out = String::new();
    let client = match result.client {
        vocab::ClientKind::Emulated => String::new(),
        vocab::ClientKind::EmulatedFirefox => " (emulated, Firefox's rules)".to_owned(),
        kind => format!(" in {kind}"),
    };
    let _ = writeln!(
        out,
        "\n{scenario}{client}: {} of {} points run. Latencies are p50/p99 in milliseconds.",
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
    let proof = result.client.is_emulated();
    let network = result.points.iter().any(|m| m.id.network.is_some());
    if network {
        header.insert(3, "rtt/loss");
    }
    if result.faults {
        header.push("reconnects");
    }
    if proof {
        header.push("lost");
    }
    let rows: Vec<Vec<String>> = result
        .points
        .iter()
        .map(|m| {
            let mut r = row(m, result.faults, proof);
            if network {
                let cell = m.id.network.map_or("-".to_owned(), |n| {
                    format!("{}/{}%", humantime::format_duration(n.rtt), n.loss * 100.0)
                });
                r.insert(3, cell);
            }
            r
        })
        .collect();
    let many = result.points.len() > 2;
    // A rule between arms, and between network conditions (column 3 when there is one).
    out.push_str(&table(&header, &rows, |a, b| {
        many && (a[..2] != b[..2] || (network && a[3] != b[3]))
    }));
    let _ = writeln!(
        out,
        "\nopened = streams that got a 200 of those requested; queued = still waiting for a slot at the end;\n\
         POSTs = completed of scheduled; conns = connections that carried requests (client, and server's count);\n\
         `>=` = at least: some samples are still waiting at the end of the point, counted at that lower bound;\n\
         `-` = not measured by this client, or no sample."
    );
    answers_table(&mut out, result, network);
    if proof {
        let _ = writeln!(
            out,
            "lost = (POST, stream) pairs owed but never seen, of those owed (completed POSTs x streams subscribed and\n\
             not failed, minus the last 500 ms); `dup` = seen twice on one stream; `no proof` = nothing was owed, so\n\
             nothing was proven. See \"The loss proof\" in scenarios/README.md."
        );
    }
    for m in &result.points {
        for warning in super::health::warnings(m) {
            let _ = writeln!(out, "{warning}");
        }
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
        Some(Stopped::Failed(msg)) => {
            let _ = writeln!(out, "run stopped: {msg}");
        }
    }
    let _ = writeln!(out, "report: {}", result.csv.display());
    if result.points.iter().any(|m| m.series.is_some()) {
        let _ = writeln!(
            out,
            "time series: {} (series.csv per second; pointNN.hlog HdrHistogram interval logs)",
            report::series::series_dir(&result.csv).display()
        );
    }
    out
}

fn row(m: &Measurement, faults: bool, proof: bool) -> Vec<String> {
    let count = |metric: Metric| m.counter(metric).map_or("-".to_owned(), |v| v.to_string());
    let of = |done: Counter, all: Counter| match (m.counter(done), m.counter(all)) {
        (Some(done), Some(all)) => format!("{done}/{all}"),
        _ => "-".to_owned(),
    };
    let conns = match (
        m.counter(Counter::ConnectionsCarryingRequests),
        m.counter(Metric::ServerConnectionsCarryingRequests),
    ) {
        (Some(client), Some(server)) => format!("{client} ({server} srv)"),
        (Some(client), None) => client.to_string(),
        (None, _) => "-".to_owned(),
    };
    let mut row = vec![
        m.id.clients.to_string(),
        m.id.streams_per_client.to_string(),
        m.id.arm.to_string(),
        of(Counter::StreamsOpened, Counter::StreamsRequested),
        count(Metric::StreamsQueuedAtEnd),
        of(Counter::PostsCompleted, Counter::PostsScheduled),
        conns,
        pair(m, Latency::QueueWait),
        pair(m, Latency::TimeToFirstEvent),
        pair(m, Latency::PostRtt),
        pair(m, Latency::Fanout),
        pair(m, Latency::EventDelivery),
        count(Metric::Errors),
    ];
    if faults {
        row.push(count(Counter::Reconnects.into()));
    }
    if proof {
        row.push(lost(m.delivery));
    }
    row
}

/// The streamed answers of the points that ask some, arms side by side as above.
fn answers_table(out: &mut String, result: &RunResult, network: bool) {
    let points: Vec<&Measurement> = result
        .points
        .iter()
        .filter(|m| m.counter(Counter::AnswersScheduled).is_some())
        .collect();
    if points.is_empty() {
        return;
    }
    let mut header = vec![
        "clients",
        "streams",
        "arm",
        "answers",
        "failed",
        "left",
        "answer_queue",
        "first_token",
        "token_gap",
        "per_token",
        "tok/s",
        "answer_time",
        "stalls",
    ];
    if network {
        header.insert(3, "rtt/loss");
    }
    let rows: Vec<Vec<String>> = points
        .iter()
        .map(|m| {
            let mut r = answer_row(m);
            if network {
                let cell = m.id.network.map_or("-".to_owned(), |n| {
                    format!("{}/{}%", humantime::format_duration(n.rtt), n.loss * 100.0)
                });
                r.insert(3, cell);
            }
            r
        })
        .collect();
    let _ = writeln!(out, "\nStreamed answers:");
    let many = rows.len() > 2;
    out.push_str(&table(&header, &rows, |a, b| {
        many && (a[..2] != b[..2] || (network && a[3] != b[3]))
    }));
    let _ = writeln!(
        out,
        "\nanswers = completed of scheduled; failed = answers failed, every class; left = still queued/streaming at the end;\n\
         answer_queue, first_token, answer_time = from the answer's scheduled instant to its slot, first token, [DONE];\n\
         token_gap = between two tokens; per_token = (last - first token) / (tokens - 1) per answer;\n\
         tok/s = tokens per second per answer from per_token: median/slowest 1 %; stalls = token gaps over the threshold."
    );
    for m in &points {
        if let Some(line) = buffered(m) {
            let _ = writeln!(out, "{line}");
        }
    }
}

/// The line naming a point whose tokens came mostly in bursts (`loadgen::looks_buffered`).
fn buffered(m: &Measurement) -> Option<String> {
    let tokens = m.counter(Counter::TokensReceived)?;
    let in_bursts = m.counter(Counter::TokensInBursts)?;
    let share = 100.0 * in_bursts as f64 / tokens.max(1) as f64;
    let line = if super::health::client_saturated(m) {
        format!(
            "bursts: {}: {share:.0} % of the tokens ({in_bursts} of {tokens}) arrived in bursts, \
             but the load generator was the bottleneck (see its warning): a reader running late \
             finds tokens waiting, so this says nothing about the server.",
            m.id
        )
    } else {
        format!(
            "buffered stream: {}: {share:.0} % of the tokens ({in_bursts} of {tokens}) arrived in \
             bursts (tokens_in_bursts): a proxy or the server holds the stream back (nginx: \
             `proxy_buffering off`, or the response header `X-Accel-Buffering: no`). See \
             \"Buffered streams\" in docs/measurement.md.",
            m.id
        )
    };
    loadgen::looks_buffered(tokens, in_bursts).then_some(line)
}

fn answer_row(m: &Measurement) -> Vec<String> {
    let count = |metric: Metric| m.counter(metric).map_or("-".to_owned(), |v| v.to_string());
    let failed: u64 = vocab::ErrorClass::ALL
        .iter()
        .filter_map(|&c| m.counter(Metric::AnswersFailed(c)))
        .sum();
    let of = match (
        m.counter(Counter::AnswersCompleted),
        m.counter(Counter::AnswersScheduled),
    ) {
        (Some(done), Some(all)) => format!("{done}/{all}"),
        _ => "-".to_owned(),
    };
    let left = match (
        m.counter(Metric::AnswersQueuedAtEnd),
        m.counter(Metric::AnswersStreamingAtEnd),
    ) {
        (Some(q), Some(s)) => format!("{q}/{s}"),
        _ => "-".to_owned(),
    };
    vec![
        m.id.clients.to_string(),
        m.id.streams_per_client.to_string(),
        m.id.arm.to_string(),
        of,
        failed.to_string(),
        left,
        pair(m, Latency::AnswerQueueWait),
        pair(m, Latency::TimeToFirstToken),
        pair(m, Latency::InterTokenGap),
        pair(m, Latency::TimePerOutputToken),
        tokens_per_second(m),
        pair(m, Latency::AnswerTime),
        count(Counter::AnswerStalls.into()),
    ]
}

/// Tokens per second per answer, the reciprocal of `time_per_output_token`: its median and the
/// rate the slowest 1 % of answers stay under (`1 / p99`).
fn tokens_per_second(m: &Measurement) -> String {
    let rate = |us: u64| 1e6 / us.max(1) as f64;
    match m
        .latency(Latency::TimePerOutputToken)
        .filter(|s| s.count > 0)
        .and_then(|s| s.p50.zip(s.p99))
    {
        Some((p50, p99)) => format!("{:.1}/{:.1}", rate(p50), rate(p99)),
        None => "-".to_owned(),
    }
}

/// `lost/expected`, plus duplicates when there are any; `no proof` when nothing was owed; `-` when
/// the point was too large to track.
fn lost(delivery: Option<loadgen::DeliveryTally>) -> String {
    match delivery {
        None => "-".to_owned(),
        Some(d) if d.expected == 0 && d.duplicated == 0 => "no proof".to_owned(),
        Some(d) if d.duplicated > 0 => format!("{}/{} ({} dup)", d.lost, d.expected, d.duplicated),
        Some(d) => format!("{}/{}", d.lost, d.expected),
    }
}

/// `p50/p99` of a latency in milliseconds; `-` when not measured or without samples. A
/// percentile that censored samples reach (more of them than the samples above it) is a lower
/// bound: `>=`.
fn pair(m: &Measurement, latency: Latency) -> String {
    let Some(s) = m.latency(latency).filter(|s| s.count > 0) else {
        return "-".to_owned();
    };
    let censored = m.censored(latency) as f64;
    let at_least = |q: f64| {
        if censored > s.count as f64 * (1.0 - q) {
            ">="
        } else {
            ""
        }
    };
    match (s.p50, s.p99) {
        (Some(p50), Some(p99)) => {
            format!("{}{}/{}{}", at_least(0.5), ms(p50), at_least(0.99), ms(p99))
        }
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

/// The summary as one JSON object, for programs: the run, then each point with every counter
/// and latency it measured (microseconds), its censored counts and its warnings.
pub fn render_json(scenario: &crate::scenario::Scenario, result: &RunResult) -> String {
    use serde_json::{json, Map, Value};
    let points: Vec<Value> = result
        .points
        .iter()
        .map(|m| {
            let counters: Map<String, Value> = m
                .counters()
                .iter()
                .map(|(metric, v)| (metric.name().to_owned(), json!(v)))
                .collect();
            let latencies: Map<String, Value> = m
                .latencies()
                .iter()
                .map(|(l, s, _)| {
                    (
                        l.name().to_owned(),
                        json!({
                            "count": s.count,
                            "mean": s.mean,
                            "p50": s.p50,
                            "p90": s.p90,
                            "p99": s.p99,
                            "p999": s.p999,
                            "max": s.max,
                            "censored": m.censored(*l),
                        }),
                    )
                })
                .collect();
            json!({
                "protocol": m.id.arm.as_str(),
                "network": scenario.network_label(&m.id),
                "clients": m.id.clients,
                "streams_per_client": m.id.streams_per_client,
                "elapsed_s": m.elapsed.as_secs_f64(),
                "counters": counters,
                "latencies_us": latencies,
                "warnings": super::health::warnings(m),
            })
        })
        .collect();
    let stopped = match &result.stopped {
        None => Value::Null,
        Some(Stopped::Interrupted) => json!("interrupted"),
        Some(Stopped::Failed(reason)) => json!({ "failed": reason }),
    };
    let out = json!({
        "scenario": scenario.name,
        "client": result.client.as_str(),
        "report": result.csv.display().to_string(),
        "points_run": result.points.len(),
        "points_planned": result.points_planned,
        "stopped": stopped,
        "threads": { "client": result.threads.0, "server": result.threads.1 },
        "points": points,
    });
    format!("{out:#}\n")
}
