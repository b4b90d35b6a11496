//! A sweep point's measurements as report rows (the CSV contract lives in the `report` crate).

use loadgen::{Arm, Counter, ErrorClass, Latency, PointOutcome};
use report::{ClientKind, LatencySummary, Row, RowKey, RunMeta, Value};

/// Where a point sits in the sweep.
#[derive(Debug, Clone, Copy)]
pub struct PointId {
    pub arm: Arm,
    pub clients: u32,
    pub streams_per_client: u32,
}

/// Server-side counts for the point, when the server is the embedded one.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServerCounts {
    pub connections_accepted: u64,
    pub connections_carrying_requests: u64,
    pub connections_refused: u64,
    pub overflows: u64,
    /// Worker threads of the embedded server's runtime.
    pub threads: u64,
}

/// Every metric of a point, counters first, in a fixed order.
pub fn point_rows(
    meta: &RunMeta,
    scenario: &str,
    id: PointId,
    outcome: &PointOutcome,
    server: Option<ServerCounts>,
    client_threads: usize,
) -> Vec<Row> {
    let m = &outcome.metrics;
    let mut values: Vec<(String, Value)> = Vec::new();
    let mut counter = |name: &str, v: u64| values.push((name.to_owned(), Value::Counter(v)));
    for c in [Counter::StreamsRequested, Counter::StreamsOpened] {
        counter(c.name(), m.get(c));
    }
    counter("streams_queued_at_end", outcome.streams_queued_at_end);
    counter("streams_open_at_end", outcome.streams_open_at_end);
    for c in [
        Counter::ConnectionsOpened,
        Counter::ConnectionsCarryingRequests,
        Counter::PostsScheduled,
        Counter::PostsCompleted,
    ] {
        counter(c.name(), m.get(c));
    }
    counter("posts_stalled_at_end", outcome.posts_stalled_at_end);
    for c in [
        Counter::EventsReceived,
        Counter::Reconnects,
        Counter::ReplayedEvents,
        Counter::Gaps,
        Counter::Duplicates,
    ] {
        counter(c.name(), m.get(c));
    }
    // The loss proof; absent when the point had too many (stream, POST) pairs to track.
    if let Some(d) = outcome.delivery {
        counter("messages_expected", d.expected);
        counter("messages_lost", d.lost);
        counter("messages_duplicated", d.duplicated);
    }
    counter("errors", m.total_errors());
    for class in ErrorClass::ALL {
        counter(&format!("errors_{}", class.name()), m.errors(class));
    }
    if let Some(s) = server {
        counter("server_connections_accepted", s.connections_accepted);
        counter(
            "server_connections_carrying_requests",
            s.connections_carrying_requests,
        );
        counter("server_connections_refused", s.connections_refused);
        counter("server_overflows", s.overflows);
    }
    counter("client_threads", client_threads as u64);
    if let Some(s) = server {
        counter("server_threads", s.threads);
    }
    for latency in Latency::ALL {
        let summary = latency_summary(m.latency(latency));
        values.push((latency.name().to_owned(), Value::Latency(summary)));
    }
    let protocol = id
        .arm
        .name()
        .parse()
        .expect("every arm name is a report protocol");
    values
        .into_iter()
        .map(|(metric, value)| Row {
            meta: meta.clone(),
            key: RowKey {
                scenario: scenario.to_owned(),
                client: ClientKind::Emulated,
                protocol,
                clients: id.clients,
                streams_per_client: id.streams_per_client,
                metric,
            },
            value,
        })
        .collect()
}

/// A histogram summary as a report's latency cells (empty cells when there is no sample).
pub fn latency_summary(s: loadgen::LatencySummary) -> LatencySummary {
    if s.count == 0 {
        return LatencySummary::EMPTY;
    }
    LatencySummary {
        count: s.count,
        mean: Some(s.mean),
        p50: Some(s.p50),
        p90: Some(s.p90),
        p99: Some(s.p99),
        p999: Some(s.p999),
        max: Some(s.max),
    }
}

#[cfg(test)]
mod tests {
    use loadgen::Arm;

    /// The arms, the server's listeners and the report's protocol column name the same four
    /// protocols; the runner converts between them by name.
    #[test]
    fn every_arm_is_a_server_protocol_and_a_report_protocol() {
        for arm in Arm::ALL {
            let server: sse_server::Protocol = arm.name().parse().unwrap();
            let column: report::Protocol = arm.name().parse().unwrap();
            assert_eq!(server.as_str(), arm.name());
            assert_eq!(column.as_str(), arm.name());
            assert_eq!(server.is_tls(), arm.is_tls());
            assert_eq!(server.is_http2(), arm.is_http2());
        }
    }
}
