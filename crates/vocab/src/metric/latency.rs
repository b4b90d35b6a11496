//! The latencies of the load generator, each named by its two instants.

use super::{DefaultRule, MetricInfo, MetricKind};

/// Latencies the load generator records, each an HDR histogram in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Latency {
    QueueWait,
    PostQueueWait,
    Connect,
    TimeToFirstEvent,
    EventDelivery,
    PostRtt,
    Fanout,
}

impl Latency {
    /// Every latency, in report order.
    pub const ALL: [Latency; 7] = [
        Latency::QueueWait,
        Latency::PostQueueWait,
        Latency::Connect,
        Latency::TimeToFirstEvent,
        Latency::EventDelivery,
        Latency::PostRtt,
        Latency::Fanout,
    ];

    /// The row name.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The latency's catalog entry.
    pub fn info(self) -> MetricInfo {
        let (name, measures) = match self {
            Latency::QueueWait => (
                "queue_wait",
                "an EventSource's request is wanted (created, or reconnecting) -> it is granted its \
                 slot: on HTTP/1.1 a pool connection slot (an idle connection, or room to open one \
                 under the cap), on HTTP/2 one of the connection's stream slots; before any \
                 connection setup",
            ),
            Latency::PostQueueWait => (
                "post_queue_wait",
                "a POST's scheduled instant -> it is granted its slot (as `queue_wait`): where the \
                 six-connection ceiling hurts a chat",
            ),
            Latency::Connect => (
                "connect",
                "TCP connect starts -> the TLS handshake is done and the negotiated ALPN checked \
                 (cleartext: TCP connected); one sample per connection",
            ),
            Latency::TimeToFirstEvent => (
                "time_to_first_event",
                "the EventSource is created (its first request wanted) -> its first event is parsed",
            ),
            Latency::EventDelivery => (
                "event_delivery",
                "the server's send stamp in the event's data -> the event is parsed at the client \
                 (same host clock); after warm-up only",
            ),
            Latency::PostRtt => (
                "post_rtt",
                "the POST's scheduled instant (coordinated omission corrected) -> its response read \
                 to the end",
            ),
            Latency::Fanout => (
                "fanout",
                "the POST is granted its slot and sent -> the event carrying its token is parsed, \
                 one sample per subscriber stream",
            ),
        };
        MetricInfo {
            name,
            kind: MetricKind::Latency,
            measures,
            rule: DefaultRule::Latency,
        }
    }

    /// The latency's index in [`Latency::ALL`], for arrays of histograms.
    pub fn index(self) -> usize {
        self as usize
    }
}
