//! What one point measured, whatever ran it: the emulation or a real browser. Both are reduced to
//! the same typed measurement (counters and latency summaries keyed by the catalog's
//! [`Metric`]), from which the report rows, the summary table and the progress line are written
//! once for every client kind.

use std::time::Duration;

use hdrhistogram::Histogram;
use loadgen::{DeliveryTally, Fatal, Metrics, PointOutcome};
use report::LatencySummary;
use sse_server::ListenerStats;
use vocab::{ClientKind, Counter, ErrorClass, Latency, Metric};

pub use crate::scenario::Point as PointId;

/// The report's counters from the embedded server's counters for the arm's listener.
fn server_counters(l: &ListenerStats) -> [(Metric, u64); 4] {
    [
        (Metric::ServerConnectionsAccepted, l.connections_accepted),
        (
            Metric::ServerConnectionsCarryingRequests,
            l.connections_carrying_requests,
        ),
        (Metric::ServerConnectionsRefused, l.connections_refused),
        (Metric::ServerOverflows, l.overflows),
    ]
}

/// The harness's own figures for an emulated point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Harness {
    pub client_threads: usize,
    /// CPU the load generator's threads used during the point, ms.
    pub client_cpu_ms: u64,
    /// CPU the embedded server's threads used, ms (none with an external target).
    pub server_cpu_ms: Option<u64>,
    /// Worker threads of the embedded server's runtime (none with an external target).
    pub server_threads: Option<u64>,
}

/// One point's measurement.
#[derive(Debug, Clone)]
pub struct Measurement {
    pub id: PointId,
    pub client: ClientKind,
    /// Counters in the catalog's order; a metric the client does not measure is absent.
    counters: Vec<(Metric, u64)>,
    /// Latencies in the catalog's order, each with its histogram; a latency the client does not
    /// measure is absent.
    latencies: Vec<(Latency, LatencySummary, Option<Histogram<u64>>)>,
    /// The loss proof, when the point tracked it.
    pub delivery: Option<DeliveryTally>,
    /// Why the point stopped early, if it did.
    pub fatal: Option<Fatal>,
    /// The caller's stop (Ctrl-C) ended the point.
    pub interrupted: bool,
    pub elapsed: Duration,
    /// The point over time (emulated points; a browser's state is read at the end only).
    pub series: Option<super::series::PointSeries>,
}

impl Measurement {
    /// An emulated point: every live counter and latency of `outcome`, its end state and loss
    /// proof, every error class, and the embedded server's counters for the arm when there was
    /// one. The answers' metrics only for a point that asks answers, so that a point without any
    /// has the rows it always had.
    pub fn emulated(
        id: PointId,
        profile: vocab::BrowserProfile,
        outcome: &PointOutcome,
        server: Option<&ListenerStats>,
        harness: Harness,
    ) -> Measurement {
        let m = &outcome.metrics;
        let mut counters: Vec<(Metric, u64)> = Counter::ALL
            .iter()
            .map(|&c| (Metric::Counter(c), m.get(c)))
            .collect();
        counters.extend([
            (Metric::StreamsQueuedAtEnd, outcome.streams_queued_at_end),
            (Metric::StreamsOpenAtEnd, outcome.streams_open_at_end),
            (Metric::PostsStalledAtEnd, outcome.posts_stalled_at_end),
        ]);
        if let Some(a) = outcome.answers {
            counters.extend([
                (Metric::AnswersQueuedAtEnd, a.queued),
                (Metric::AnswersStreamingAtEnd, a.streaming),
            ]);
            counters
                .extend(ErrorClass::ALL.map(|c| (Metric::AnswersFailed(c), m.answer_failures(c))));
        }
        if let Some(d) = outcome.delivery {
            counters.extend([
                (Metric::MessagesExpected, d.expected),
                (Metric::MessagesLost, d.lost),
                (Metric::MessagesDuplicated, d.duplicated),
                (Metric::MessagesMissed, d.missed),
            ]);
        }
        counters.extend(
            Latency::ALL
                .into_iter()
                .filter(|l| l.can_be_censored())
                .map(|l| (Metric::Censored(l), m.censored(l))),
        );
        if let Some(q) = outcome.quic {
            counters.extend([
                (Metric::QuicPacketsSent, q.sent),
                (Metric::QuicPacketsLost, q.lost),
            ]);
        }
        counters.push((Metric::Errors, m.total_errors()));
        counters.extend(ErrorClass::ALL.map(|c| (Metric::Error(c), m.errors(c))));
        counters.push((Metric::ClientThreads, harness.client_threads as u64));
        counters.push((Metric::ClientCpuMs, harness.client_cpu_ms));
        if let Some(l) = server {
            counters.extend(server_counters(l));
        }
        if let Some(threads) = harness.server_threads {
            counters.push((Metric::ServerThreads, threads));
        }
        if let Some(ms) = harness.server_cpu_ms {
            counters.push((Metric::ServerCpuMs, ms));
        }
        let answers = outcome.answers.is_some();
        counters.retain(|(metric, _)| answers || !metric.of_answers());
        Measurement {
            id,
            client: profile.emulated_client(),
            counters: in_catalog_order(counters),
            latencies: Latency::ALL
                .iter()
                .filter(|l| answers || !l.of_answers())
                // The server's lag probe runs only with the embedded server; the network's round
                // trip only with an emulated network (`add_network_rtt`).
                .filter(|&&l| l != Latency::ServerLag || server.is_some())
                .filter(|&&l| l != Latency::NetworkRtt)
                .map(|&l| {
                    let h = m.histogram(l);
                    (l, report::histogram::summary(&h), Some(h))
                })
                .collect(),
            delivery: outcome.delivery,
            fatal: outcome.fatal.clone(),
            interrupted: outcome.interrupted,
            elapsed: outcome.elapsed,
            series: None,
        }
    }

    /// A real browser's point: the quantities it measures under the emulation's names.
    pub fn browser(
        id: PointId,
        client: ClientKind,
        o: &browser::PointOutcome,
        elapsed: Duration,
    ) -> Measurement {
        let mut counters = vec![
            (
                Metric::Counter(Counter::StreamsRequested),
                o.streams_requested,
            ),
            (Metric::Counter(Counter::StreamsOpened), o.streams_opened),
            (Metric::StreamsQueuedAtEnd, o.streams_queued_at_end),
            (Metric::StreamsOpenAtEnd, o.streams_open_at_end),
            // As the emulation counts them: over HTTP the first EventSource reuses the page's
            // connection, so the page adds none; a WebSocket never reuses it, so on the
            // WebSocket arms the page's connection is one of those counted (as the emulated
            // client's page load is), and they are all of the browser's.
            (
                Metric::Counter(Counter::ConnectionsCarryingRequests),
                if id.arm.is_websocket() {
                    o.connections.any
                } else {
                    o.connections.streams_and_posts
                },
            ),
            (Metric::ConnectionsCarryingAnyRequest, o.connections.any),
            (Metric::PageRequests, o.requests_sent.2),
            (Metric::Counter(Counter::PostsScheduled), o.posts_scheduled),
            (Metric::Counter(Counter::PostsCompleted), o.posts_completed),
            (Metric::PostsStalledAtEnd, o.posts_stalled_at_end),
            (Metric::Counter(Counter::EventsReceived), o.events_received),
            (
                Metric::Errors,
                o.requests_failed + o.posts_bad_status + answer_errors(o),
            ),
        ];
        if let Some(l) = &o.server {
            counters.extend(server_counters(l));
        }
        let mut latencies: Vec<(Latency, &[Duration])> = vec![
            (Latency::TimeToOpen, &o.time_to_open),
            (Latency::TimeToFirstEvent, &o.time_to_first_event),
            (Latency::PostRtt, &o.post_rtt),
        ];
        if let Some(a) = &o.answers {
            counters.extend(browser_answers(a));
            latencies.extend([
                (Latency::TimeToFirstToken, a.time_to_first_token.as_slice()),
                (Latency::InterTokenGap, &a.inter_token_gap),
                (Latency::TimePerOutputToken, &a.time_per_output_token),
                (Latency::AnswerTime, &a.answer_time),
            ]);
        }
        let latencies = latencies
            .into_iter()
            .map(|(l, samples)| {
                let h = histogram(l, samples);
                (l, report::histogram::summary(&h), Some(h))
            })
            .collect();
        Measurement {
            id,
            client,
            counters: in_catalog_order(counters),
            latencies,
            delivery: None,
            fatal: None,
            interrupted: false,
            elapsed,
            series: None,
        }
    }

    /// A counter's value, if the client measures it.
    pub fn counter(&self, metric: impl Into<Metric>) -> Option<u64> {
        let metric = metric.into();
        self.counters
            .iter()
            .find(|(m, _)| *m == metric)
            .map(|&(_, v)| v)
    }

    /// A latency's summary, if the client measures it (it may have no sample).
    pub fn latency(&self, latency: Latency) -> Option<&LatencySummary> {
        self.latencies
            .iter()
            .find(|(l, _, _)| *l == latency)
            .map(|(_, s, _)| s)
    }

    /// Adds what the emulated network saw during the point.
    pub fn add_network(&mut self, net: &netem::Stats) {
        self.counters.extend([
            (Metric::NetworkPacketsUp, net.up.packets),
            (Metric::NetworkPacketsDown, net.down.packets),
            (Metric::NetworkLossDropsUp, net.up.dropped_loss),
            (Metric::NetworkLossDropsDown, net.down.dropped_loss),
            (Metric::NetworkQueueDropsUp, net.up.dropped_queue),
            (Metric::NetworkQueueDropsDown, net.down.dropped_queue),
        ]);
        self.counters = in_catalog_order(std::mem::take(&mut self.counters));
    }

    /// Adds the target server's memory growth per client over the warm-up, bytes.
    pub fn add_server_rss_per_client(&mut self, bytes: u64) {
        self.counters.push((Metric::ServerRssPerClient, bytes));
        self.counters = in_catalog_order(std::mem::take(&mut self.counters));
    }

    /// Adds the emulated network's round trip, measured before the point.
    pub fn add_network_rtt(&mut self, samples: &[Duration]) {
        let h = histogram(Latency::NetworkRtt, samples);
        self.latencies
            .push((Latency::NetworkRtt, report::histogram::summary(&h), Some(h)));
    }

    /// How many of a latency's samples are censored (still waiting when the point ended).
    pub fn censored(&self, latency: Latency) -> u64 {
        self.counter(Metric::Censored(latency)).unwrap_or(0)
    }

    /// Every counter measured, in the catalog's order.
    pub fn counters(&self) -> &[(Metric, u64)] {
        &self.counters
    }

    /// Every latency measured, in the catalog's order, with its histogram.
    pub fn latencies(&self) -> &[(Latency, LatencySummary, Option<Histogram<u64>>)] {
        &self.latencies
    }
}

/// The answers' counters a page measures (no queue wait, no bursts: `browser::answers`).
fn browser_answers(a: &browser::answers::AnswersOutcome) -> Vec<(Metric, u64)> {
    let mut counters = vec![
        (Metric::Counter(Counter::AnswersScheduled), a.scheduled),
        (Metric::Counter(Counter::AnswersCompleted), a.completed),
        (Metric::Counter(Counter::TokensReceived), a.tokens),
        (Metric::Counter(Counter::AnswerStalls), a.stalls),
        (Metric::AnswersQueuedAtEnd, a.queued_at_end),
        (Metric::AnswersStreamingAtEnd, a.streaming_at_end),
        (
            Metric::Censored(Latency::TimeToFirstToken),
            a.time_to_first_token_censored,
        ),
        (
            Metric::Censored(Latency::AnswerTime),
            a.answer_time_censored,
        ),
    ];
    counters.extend(ErrorClass::ALL.map(|c| (Metric::AnswersFailed(c), a.failed(c))));
    counters
}

/// Answers that failed on what the server sent (not in the browser's network failures, which
/// `requests_failed` counts).
fn answer_errors(o: &browser::PointOutcome) -> u64 {
    o.answers.as_ref().map_or(0, |a| {
        let failed: u64 = a.failed.iter().map(|&(_, n)| n).sum();
        failed - a.failed_in_network
    })
}

fn in_catalog_order(mut counters: Vec<(Metric, u64)>) -> Vec<(Metric, u64)> {
    let order = Metric::all();
    counters.sort_by_key(|(m, _)| order.iter().position(|o| o == m));
    counters
}

/// A browser's latency samples in the emulation's histogram (microseconds, three significant
/// digits), so both clients' percentiles mean the same.
fn histogram(latency: Latency, samples: &[Duration]) -> Histogram<u64> {
    let m = Metrics::new();
    for &d in samples {
        m.record(latency, d);
    }
    m.histogram(latency)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A point that asks no answer has exactly the rows it had before answers existed; one that
    /// asks some has every answer metric.
    #[test]
    fn answer_rows_only_for_points_that_ask_answers() {
        let id = PointId {
            arm: vocab::Protocol::H1,
            clients: 1,
            streams_per_client: 2,
            network: None,
        };
        let outcome = |answers| PointOutcome {
            metrics: std::sync::Arc::new(Metrics::new()),
            streams_queued_at_end: 0,
            streams_open_at_end: 2,
            posts_stalled_at_end: 0,
            answers,
            quic: None,
            fatal: None,
            interrupted: false,
            elapsed: Duration::from_secs(1),
            delivery: None,
        };
        let harness = Harness {
            client_threads: 1,
            client_cpu_ms: 0,
            server_cpu_ms: None,
            server_threads: None,
        };
        let profile = vocab::BrowserProfile::Chromium;
        let without = Measurement::emulated(id, profile, &outcome(None), None, harness);
        assert!(without.counters().iter().all(|(m, _)| !m.of_answers()));
        assert!(without.latencies().iter().all(|(l, _, _)| !l.of_answers()));
        assert_eq!(without.counter(Counter::StreamsOpened), Some(0));
        let at_end = loadgen::AnswersAtEnd {
            queued: 1,
            streaming: 6,
        };
        let with = Measurement::emulated(id, profile, &outcome(Some(at_end)), None, harness);
        for metric in Metric::all().into_iter().filter(|m| m.of_answers()) {
            let measured = match metric {
                Metric::Latency(l) => with.latency(l).is_some(),
                _ => with.counter(metric).is_some(),
            };
            assert!(measured, "{metric}");
        }
        assert_eq!(with.counter(Metric::AnswersStreamingAtEnd), Some(6));
        assert_eq!(
            with.counters().len() + with.latencies().len(),
            without.counters().len()
                + without.latencies().len()
                + Metric::all().iter().filter(|m| m.of_answers()).count(),
            "the answer rows come on top of the others"
        );
    }

    #[test]
    fn a_browser_point_keeps_the_emulated_names() {
        let id = PointId {
            arm: vocab::Protocol::H2,
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
        assert_eq!(m.counter(Counter::StreamsOpened), Some(4));
        assert_eq!(
            m.counter(Metric::MessagesLost),
            None,
            "not measured, not zero"
        );
        let ttfe = m.latency(Latency::TimeToFirstEvent).expect("measured");
        assert_eq!(ttfe.count, 4);
        assert!(
            (11_990..=12_010).contains(&ttfe.p50.unwrap_or(0)),
            "{ttfe:?}"
        );
        assert!(m.latency(Latency::Fanout).is_none());
        let order = Metric::all();
        let positions: Vec<usize> = m
            .counters()
            .iter()
            .map(|(c, _)| order.iter().position(|o| o == c).expect("in the catalog"))
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    }

    /// A browser point that asks answers has the answers' rows the page measures, under the
    /// emulation's names, and its failures on what the server sent among its errors.
    #[test]
    fn a_browser_point_with_answers() {
        let id = PointId {
            arm: vocab::Protocol::H1Tls,
            clients: 1,
            streams_per_client: 8,
            network: None,
        };
        let answers = browser::answers::AnswersOutcome {
            scheduled: 8,
            streaming_at_end: 6,
            queued_at_end: 1,
            failed: vec![(ErrorClass::Status, 1)],
            answer_time: vec![Duration::from_secs(2); 7],
            answer_time_censored: 7,
            ..Default::default()
        };
        let o = browser::PointOutcome {
            answers: Some(answers),
            ..browser::PointOutcome::default()
        };
        let m = Measurement::browser(id, ClientKind::Firefox, &o, Duration::from_secs(3));
        assert_eq!(m.counter(Metric::AnswersStreamingAtEnd), Some(6));
        assert_eq!(m.counter(Metric::AnswersQueuedAtEnd), Some(1));
        assert_eq!(
            m.counter(Metric::AnswersFailed(ErrorClass::Status)),
            Some(1)
        );
        assert_eq!(m.counter(Metric::Errors), Some(1));
        assert_eq!(m.censored(Latency::AnswerTime), 7);
        assert_eq!(m.latency(Latency::AnswerTime).map(|s| s.count), Some(7));
        assert!(
            m.latency(Latency::AnswerQueueWait).is_none(),
            "not measured in a page"
        );
        assert!(
            m.counter(Counter::TokensInBursts).is_none(),
            "not measured in a page"
        );
    }
}
