//! A point's measurement as report rows, for every client kind alike (the CSV contract itself
//! lives in the `report` crate).

use report::{Row, RowKey, RunMeta, Value};

use super::measurement::Measurement;
use crate::scenario::Scenario;

/// Every metric the point measured, counters first, in the catalog's order; each latency row
/// with its whole histogram.
pub fn point_rows(meta: &RunMeta, scenario: &Scenario, m: &Measurement) -> Vec<Row> {
    let counters = m
        .counters()
        .iter()
        .map(|&(metric, v)| (metric.name(), Value::Counter(v), None));
    let latencies = m.latencies().iter().map(|(latency, s, h)| {
        (
            latency.name(),
            Value::Latency(*s),
            h.as_ref().map(report::histogram::encode),
        )
    });
    let network = scenario.network_label(&m.id);
    counters
        .chain(latencies)
        .map(|(metric, value, histogram)| Row {
            meta: meta.clone(),
            key: RowKey {
                scenario: scenario.name.clone(),
                client: m.client,
                protocol: m.id.arm,
                network: network.clone(),
                clients: m.id.clients,
                streams_per_client: m.id.streams_per_client,
                metric: metric.to_owned(),
            },
            value,
            histogram,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use vocab::{ClientKind, Metric, Protocol};

    use super::super::measurement::PointId;
    use super::*;

    #[test]
    fn rows_are_valid_and_named_from_the_catalog() {
        let id = PointId {
            arm: Protocol::H2,
            clients: 1,
            streams_per_client: 4,
            network: None,
        };
        let o = browser::PointOutcome {
            streams_requested: 4,
            streams_opened: 4,
            time_to_first_event: vec![Duration::from_millis(12); 4],
            ..browser::PointOutcome::default()
        };
        let m = Measurement::browser(id, ClientKind::Chromium, &o, Duration::from_secs(1));
        let meta = super::super::meta::run_meta("t-chromium", SystemTime::now(), "");
        let scenario = crate::scenario::Scenario::parse(
            std::path::Path::new("t.toml"),
            "name = \"t\"\nprotocols = [\"h2\"]\nduration = \"1s\"\n",
        )
        .expect("a scenario");
        let rows = point_rows(&meta, &scenario, &m);
        assert_eq!(rows.len(), m.counters().len() + m.latencies().len());
        for row in &rows {
            row.validate().expect("a valid row");
            assert_eq!(row.key.client, ClientKind::Chromium);
            let metric = Metric::from_name(&row.key.metric).expect("a catalog name");
            assert_eq!(metric.kind(), row.value.kind(), "{metric}");
            assert_eq!(row.key.network, report::LOOPBACK);
            if let (Value::Latency(s), Some(h)) = (row.value, &row.histogram) {
                let h = report::histogram::decode(h).expect("a histogram cell");
                assert_eq!(report::histogram::summary(&h), s, "{metric}");
            }
        }
    }
}
