//! The catalog of metrics: every number a report row can carry, each described once.
//!
//! A metric's [`MetricInfo`] says its row name, whether it is a counter or a latency, what it
//! measures (for a latency, from which instant to which) and how `bench compare` treats a change
//! by default. The CSV writer, the summary table, the plot, the threshold defaults and
//! `scenarios/README.md` all read this one list: adding a metric is adding a variant and its one
//! match arm.
//!
//! The load generator records the live [`Counter`]s and [`Latency`]s while a point runs; the other
//! metrics are read once at the end of a point (what was still queued, the loss proof, the
//! embedded server's counts, the harness's own health).

mod answers;
mod counter;
mod latency;

use std::fmt;

pub use counter::Counter;
pub use latency::Latency;

use crate::error_class::ErrorClass;

/// Whether a row is a count or a latency distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MetricKind {
    /// A count of events, in `value`.
    Counter,
    /// A latency distribution in microseconds: `count`, `mean` and percentiles.
    Latency,
}

impl MetricKind {
    /// Both kinds, in a fixed order.
    pub const ALL: [MetricKind; 2] = [MetricKind::Counter, MetricKind::Latency];

    /// The `kind` cell.
    pub fn as_str(self) -> &'static str {
        match self {
            MetricKind::Latency => "latency",
            MetricKind::Counter => "counter",
        }
    }

    /// The `unit` cell.
    pub fn unit(self) -> &'static str {
        match self {
            MetricKind::Latency => "us",
            MetricKind::Counter => "count",
        }
    }
}

crate::word!(MetricKind, "metric kind");

/// How `bench compare` treats a change of a metric unless told otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DefaultRule {
    /// Shown, never a regression.
    Shown,
    /// Behaviour, not noise: any change either way is `CHANGED` (`=0`).
    Exact,
    /// Work stuck or failed: must not grow (`+0`).
    NoIncrease,
    /// Work done: must not shrink (`-0`).
    NoDecrease,
    /// Must not fall to zero where the base had some (`>0`): a proof that became vacuous.
    NotToZero,
    /// A latency: its p50 and p99 are held against the relative latency thresholds.
    Latency,
}

impl DefaultRule {
    /// The rule in the thresholds syntax (`=0`, `+0`, `-0`), if the metric has one of its own.
    pub fn as_threshold(self) -> Option<&'static str> {
        match self {
            DefaultRule::Exact => Some("=0"),
            DefaultRule::NoIncrease => Some("+0"),
            DefaultRule::NoDecrease => Some("-0"),
            DefaultRule::NotToZero => Some(">0"),
            DefaultRule::Shown | DefaultRule::Latency => None,
        }
    }
}

/// Everything said about one metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricInfo {
    /// The row's `metric` cell.
    pub name: &'static str,
    pub kind: MetricKind,
    /// What it measures; for a latency, its two instants ("from -> to").
    pub measures: &'static str,
    pub rule: DefaultRule,
}

/// Every metric a report row can carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// A live counter of the load generator.
    Counter(Counter),
    StreamsQueuedAtEnd,
    StreamsOpenAtEnd,
    PostsStalledAtEnd,
    MessagesExpected,
    MessagesLost,
    MessagesDuplicated,
    MessagesMissed,
    /// Every error, whatever its class.
    Errors,
    /// The errors of one class.
    Error(ErrorClass),
    AnswersQueuedAtEnd,
    AnswersStreamingAtEnd,
    /// The answers that failed in one class (their errors are in [`Metric::Error`] too).
    AnswersFailed(ErrorClass),
    ServerConnectionsAccepted,
    ServerConnectionsCarryingRequests,
    ServerConnectionsRefused,
    ServerOverflows,
    ClientThreads,
    ServerThreads,
    /// CPU the load generator's threads used during the point, milliseconds.
    ClientCpuMs,
    /// CPU the embedded server's threads used during the point, milliseconds.
    ServerCpuMs,
    /// An external server's resident memory growth per client over the warm-up, bytes.
    ServerRssPerClient,
    /// The emulated network's packets, per direction (`up` = client to server).
    NetworkPacketsUp,
    NetworkPacketsDown,
    /// Packets the emulated network dropped by its loss probability, per direction.
    NetworkLossDropsUp,
    NetworkLossDropsDown,
    /// Packets the emulated network's bottleneck queue dropped (it was full), per direction.
    NetworkQueueDropsUp,
    NetworkQueueDropsDown,
    /// The `h3` arm: packets the client's QUIC connections sent, and of those the ones its QUIC
    /// stack declared lost (their frames go out again in new packets): what QUIC shows and TCP
    /// keeps in the kernel.
    QuicPacketsSent,
    QuicPacketsLost,
    /// A real browser's connections that carried any request, the page's own included.
    ConnectionsCarryingAnyRequest,
    /// A real browser's requests for the page itself (the document, a favicon).
    PageRequests,
    /// A latency of the load generator.
    Latency(Latency),
    /// How many samples of a latency are censored: still waiting when the point ended, and
    /// recorded at that lower bound.
    Censored(Latency),
}

impl From<Counter> for Metric {
    fn from(c: Counter) -> Metric {
        Metric::Counter(c)
    }
}

impl From<Latency> for Metric {
    fn from(l: Latency) -> Metric {
        Metric::Latency(l)
    }
}

impl From<ErrorClass> for Metric {
    fn from(class: ErrorClass) -> Metric {
        Metric::Error(class)
    }
}

impl Metric {
    /// Every metric, in report order: counters first, then latencies.
    pub fn all() -> Vec<Metric> {
        let mut all: Vec<Metric> = Vec::new();
        let counters =
            |from: usize, to: usize| Counter::ALL[from..to].iter().map(|&c| Metric::Counter(c));
        all.extend(counters(0, 2));
        all.extend([Metric::StreamsQueuedAtEnd, Metric::StreamsOpenAtEnd]);
        all.extend(counters(2, 6));
        all.push(Metric::PostsStalledAtEnd);
        all.extend(counters(6, Counter::ALL.len()));
        all.extend([
            Metric::MessagesExpected,
            Metric::MessagesLost,
            Metric::MessagesDuplicated,
            Metric::MessagesMissed,
            Metric::Errors,
        ]);
        all.extend(ErrorClass::ALL.map(Metric::Error));
        all.extend([Metric::AnswersQueuedAtEnd, Metric::AnswersStreamingAtEnd]);
        all.extend(ErrorClass::ALL.map(Metric::AnswersFailed));
        all.extend([
            Metric::ServerConnectionsAccepted,
            Metric::ServerConnectionsCarryingRequests,
            Metric::ServerConnectionsRefused,
            Metric::ServerOverflows,
            Metric::ClientThreads,
            Metric::ServerThreads,
            Metric::ClientCpuMs,
            Metric::ServerCpuMs,
            Metric::ServerRssPerClient,
            Metric::NetworkPacketsUp,
            Metric::NetworkPacketsDown,
            Metric::NetworkLossDropsUp,
            Metric::NetworkLossDropsDown,
            Metric::NetworkQueueDropsUp,
            Metric::NetworkQueueDropsDown,
            Metric::QuicPacketsSent,
            Metric::QuicPacketsLost,
            Metric::ConnectionsCarryingAnyRequest,
            Metric::PageRequests,
        ]);
        all.extend(
            Latency::ALL
                .into_iter()
                .filter(|l| l.can_be_censored())
                .map(Metric::Censored),
        );
        all.extend(Latency::ALL.map(Metric::Latency));
        all
    }

    /// The row name.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// Counter or latency.
    pub fn kind(self) -> MetricKind {
        self.info().kind
    }

    /// The metric named `name`, if it is in the catalog.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::all().into_iter().find(|m| m.name() == name)
    }

    /// Whether the metric is about streamed answers: a point that asks none has no such row.
    pub fn of_answers(self) -> bool {
        answers::of_answers(self)
    }

    /// The metric's catalog entry.
    pub fn info(self) -> MetricInfo {
        use DefaultRule::*;
        let (name, rule, measures) = match self {
            Metric::Counter(c) => return c.info(),
            Metric::Latency(l) => return l.info(),
            Metric::Censored(l) => (
                l.censored_name(),
                Shown,
                "samples of the latency still waiting when the point ended, counted in it at that \
                 lower bound",
            ),
            Metric::StreamsQueuedAtEnd => (
                "streams_queued_at_end",
                Exact,
                "EventSources requested and not open when the point ended: waiting for a slot, or \
                 granted one and waiting for their response head (ws, wss: WebSockets not yet \
                 open: waiting to be allowed to connect, or in their handshake)",
            ),
            Metric::StreamsOpenAtEnd => (
                "streams_open_at_end",
                Shown,
                "EventSources whose response was open when the point ended (ws, wss: WebSockets \
                 open)",
            ),
            Metric::PostsStalledAtEnd => (
                "posts_stalled_at_end",
                NoIncrease,
                "POSTs scheduled that had neither completed nor failed when the point ended (ws, \
                 wss: chat messages without their echo)",
            ),
            Metric::MessagesExpected => (
                "messages_expected",
                NotToZero,
                "the loss proof: (POST, stream) pairs owed (see scenarios/README.md; ws, wss: \
                 (message, socket) pairs owed to one of the socket's connections)",
            ),
            Metric::MessagesLost => (
                "messages_lost",
                NoIncrease,
                "the loss proof: pairs owed and never seen",
            ),
            Metric::MessagesDuplicated => (
                "messages_duplicated",
                NoIncrease,
                "the loss proof: pairs seen more than once on one stream",
            ),
            Metric::MessagesMissed => (
                "messages_missed",
                Shown,
                "the loss proof, WebSocket arms: pairs an event stream would be owed that were \
                 published while the socket was reconnecting (no resume) and never seen",
            ),
            Metric::Errors => ("errors", NoIncrease, "all errors, every class together"),
            Metric::Error(class) => {
                let measures = match class {
                    ErrorClass::Refused => "TCP connects refused or unreachable",
                    ErrorClass::Reset => {
                        "connections reset or closed under a request or stream (answers: an answer \
                         whose body ended before its end marker, `data: [DONE]`)"
                    }
                    ErrorClass::RstStream => {
                        "streams reset by the peer (HTTP/2 RST_STREAM, HTTP/3 RESET_STREAM)"
                    }
                    ErrorClass::GoAway => "requests failed by a GOAWAY (HTTP/2, HTTP/3)",
                    ErrorClass::Timeout => "connects, handshakes or requests that took too long",
                    ErrorClass::Status => {
                        "responses with a bad status or content type (answers: also an error object \
                         in the stream)"
                    }
                    ErrorClass::Parse => {
                        "event streams over a parser limit (answers: also a chunk that is not the \
                         framing's JSON)"
                    }
                    ErrorClass::Tls => "TLS handshakes that failed",
                    ErrorClass::Protocol => "connections that negotiated the wrong protocol",
                };
                (class.metric_name(), NoIncrease, measures)
            }
            Metric::AnswersQueuedAtEnd
            | Metric::AnswersStreamingAtEnd
            | Metric::AnswersFailed(_) => answers::info(self),
            Metric::ServerConnectionsAccepted => (
                "server_connections_accepted",
                Shown,
                "the embedded server's sockets accepted for the point",
            ),
            Metric::ServerConnectionsCarryingRequests => (
                "server_connections_carrying_requests",
                Exact,
                "the embedded server's connections that carried at least one request",
            ),
            Metric::ServerConnectionsRefused => (
                "server_connections_refused",
                Shown,
                "connections the embedded server refused (wrong ALPN or preface, over its limit)",
            ),
            Metric::ServerOverflows => (
                "server_overflows",
                Shown,
                "event streams the embedded server closed because their subscriber queue was full",
            ),
            Metric::ClientThreads => (
                "client_threads",
                Shown,
                "worker threads of the load generator's runtime",
            ),
            Metric::ServerThreads => (
                "server_threads",
                Shown,
                "worker threads of the embedded server's own runtime",
            ),
            Metric::ClientCpuMs => (
                "client_cpu_ms",
                Shown,
                "CPU time (user + system) the load generator's threads used during the point, ms",
            ),
            Metric::ServerCpuMs => (
                "server_cpu_ms",
                Shown,
                "CPU time (user + system) the embedded server's threads used during the point, ms",
            ),
            Metric::ServerRssPerClient => (
                "server_rss_per_client",
                Shown,
                "bytes: the target server process's resident memory (VmRSS) at the end of the \
                 warm-up, when every client's streams or sockets are open, minus before the \
                 point's clients started, divided by the clients (runs with --server-pid only)",
            ),
            Metric::NetworkPacketsUp => (
                "network_packets_up",
                Shown,
                "packets the emulated network carried from the clients to the server",
            ),
            Metric::NetworkPacketsDown => (
                "network_packets_down",
                Shown,
                "packets the emulated network carried from the server to the clients",
            ),
            Metric::NetworkLossDropsUp => (
                "network_loss_drops_up",
                Shown,
                "client-to-server packets dropped by the configured loss",
            ),
            Metric::NetworkLossDropsDown => (
                "network_loss_drops_down",
                Shown,
                "server-to-client packets dropped by the configured loss",
            ),
            Metric::NetworkQueueDropsUp => (
                "network_queue_drops_up",
                Shown,
                "client-to-server packets dropped because the bottleneck queue was full",
            ),
            Metric::NetworkQueueDropsDown => (
                "network_queue_drops_down",
                Shown,
                "server-to-client packets dropped because the bottleneck queue was full",
            ),
            Metric::QuicPacketsSent => (
                "quic_packets_sent",
                Shown,
                "h3: packets the client's QUIC connections sent (quinn's path statistics, every \
                 connection of the point)",
            ),
            Metric::QuicPacketsLost => (
                "quic_packets_lost",
                Shown,
                "h3: of those, packets the client's QUIC stack declared lost; their frames were \
                 sent again in new packets (QUIC retransmits frames, not packets)",
            ),
            Metric::ConnectionsCarryingAnyRequest => (
                "connections_carrying_any_request",
                Shown,
                "a browser's connections that carried any request, the page's own included",
            ),
            Metric::PageRequests => (
                "page_requests",
                Shown,
                "a browser's requests for the page itself (the document, a favicon)",
            ),
        };
        MetricInfo {
            name,
            kind: MetricKind::Counter,
            measures,
            rule,
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        let all = Metric::all();
        let names: HashSet<&str> = all.iter().map(|m| m.name()).collect();
        assert_eq!(names.len(), all.len(), "a name used twice");
        for m in &all {
            assert_eq!(Metric::from_name(m.name()), Some(*m));
            assert!(!m.info().measures.is_empty());
            let latency = matches!(m, Metric::Latency(_));
            assert_eq!(m.kind() == MetricKind::Latency, latency, "{m}");
            if m.info().rule == DefaultRule::Latency {
                assert!(latency, "{m}: only latencies take the latency rules");
            }
        }
        assert_eq!(Metric::from_name("bogus"), None);
        for (i, c) in Counter::ALL.into_iter().enumerate() {
            assert_eq!(c.index(), i);
            assert!(all.contains(&c.into()));
        }
        for (i, l) in Latency::ALL.into_iter().enumerate() {
            assert_eq!(l.index(), i);
        }
    }

    #[test]
    fn the_ceiling_is_exact_and_failures_must_not_grow() {
        let rule = |name| Metric::from_name(name).map(|m| m.info().rule.as_threshold());
        assert_eq!(rule("streams_opened"), Some(Some("=0")));
        assert_eq!(rule("streams_queued_at_end"), Some(Some("=0")));
        assert_eq!(rule("errors_goaway"), Some(Some("+0")));
        assert_eq!(rule("posts_completed"), Some(Some("-0")));
        assert_eq!(rule("events_received"), Some(None));
        assert_eq!(rule("fanout"), Some(None));
    }
}

/// Every metric of the catalog is defined for users in `scenarios/README.md` (by its name in
/// backquotes), so a new metric cannot ship undocumented.
#[cfg(test)]
mod documented {
    use super::Metric;

    #[test]
    fn every_metric_is_in_the_scenarios_readme() {
        let readme = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/README.md"),
        )
        .expect("scenarios/README.md");
        let missing: Vec<&str> = Metric::all()
            .into_iter()
            .map(Metric::name)
            .filter(|name| !readme.contains(&format!("`{name}`")))
            .collect();
        assert!(
            missing.is_empty(),
            "not defined in scenarios/README.md: {missing:?}"
        );
    }
}
