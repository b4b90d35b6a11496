//! The live counters of the load generator.

use super::{DefaultRule, MetricInfo, MetricKind};

/// Counters the load generator keeps while a point runs; they only go up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Counter {
    StreamsRequested,
    StreamsOpened,
    ConnectionsOpened,
    ConnectionsCarryingRequests,
    PostsScheduled,
    PostsCompleted,
    EventsReceived,
    Reconnects,
    RequestsRetried,
    ReplayedEvents,
    Gaps,
    Duplicates,
    AnswersScheduled,
    AnswersCompleted,
    TokensReceived,
    AnswerStalls,
    TokensInBursts,
}

impl Counter {
    /// Every live counter, in report order.
    pub const ALL: [Counter; 17] = [
        Counter::StreamsRequested,
        Counter::StreamsOpened,
        Counter::ConnectionsOpened,
        Counter::ConnectionsCarryingRequests,
        Counter::PostsScheduled,
        Counter::PostsCompleted,
        Counter::EventsReceived,
        Counter::Reconnects,
        Counter::RequestsRetried,
        Counter::ReplayedEvents,
        Counter::Gaps,
        Counter::Duplicates,
        Counter::AnswersScheduled,
        Counter::AnswersCompleted,
        Counter::TokensReceived,
        Counter::AnswerStalls,
        Counter::TokensInBursts,
    ];

    /// The row name.
    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The counter's catalog entry.
    pub fn info(self) -> MetricInfo {
        use DefaultRule::*;
        let (name, rule, measures) = match self {
            Counter::StreamsRequested => (
                "streams_requested",
                Shown,
                "EventSources created (ws, wss: WebSockets)",
            ),
            Counter::StreamsOpened => (
                "streams_opened",
                Exact,
                "EventSources that got a `200 text/event-stream` response at least once (ws, wss: \
                 WebSockets whose handshake completed at least once)",
            ),
            Counter::ConnectionsOpened => (
                "connections_opened",
                Shown,
                "connections the client established (TCP + TLS + HTTP handshake; h3: the QUIC \
                 handshake)",
            ),
            Counter::ConnectionsCarryingRequests => (
                "connections_carrying_requests",
                Exact,
                "of those, connections that carried at least one request",
            ),
            Counter::PostsScheduled => (
                "posts_scheduled",
                Shown,
                "POSTs whose scheduled instant came during the point (ws, wss: chat messages sent \
                 on a WebSocket)",
            ),
            Counter::PostsCompleted => (
                "posts_completed",
                NoDecrease,
                "POSTs answered with a 2xx and read to the end (ws, wss: chat messages whose echo \
                 came back on the socket they were sent on)",
            ),
            Counter::EventsReceived => (
                "events_received",
                Shown,
                "events parsed (ticks, messages, anything dispatched)",
            ),
            Counter::Reconnects => (
                "reconnects",
                Shown,
                "EventSource reconnections (after a clean end or an error); ws, wss: WebSockets \
                 opened again after a close or an error, after the reconnection delay",
            ),
            Counter::RequestsRetried => (
                "requests_retried",
                Shown,
                "requests the server did not process and that were sent again, as Chromium does, \
                 instead of failing: HTTP/2 REFUSED_STREAM or above a GOAWAY's last stream id; \
                 HTTP/3 a stream reset before its response",
            ),
            Counter::ReplayedEvents => (
                "replayed_events",
                Shown,
                "events carrying a POST token, received on a connection opened with \
                 `Last-Event-ID`, whose POST had completed before that connection's request was \
                 sent: they can only have come from the server's replay (a lower bound)",
            ),
            Counter::Gaps => (
                "gaps",
                Shown,
                "`message` events missing, by their integer ids",
            ),
            Counter::Duplicates => (
                "duplicates",
                Shown,
                "`message` events repeated, by their integer ids",
            ),
            Counter::AnswersScheduled => (
                "answers_scheduled",
                Shown,
                "answers whose scheduled instant came during the point (open loop: its fixed \
                 instant; a tab: its think time after its previous answer ended)",
            ),
            Counter::AnswersCompleted => (
                "answers_completed",
                NoDecrease,
                "answers read to their end marker (`data: [DONE]`) after a `200 text/event-stream`",
            ),
            Counter::TokensReceived => (
                "tokens_received",
                Shown,
                "tokens parsed: answer chunks whose content is not empty",
            ),
            Counter::AnswerStalls => (
                "answer_stalls",
                NoIncrease,
                "gaps between two tokens of one answer longer than the scenario's \
                 `answers.stall_threshold`",
            ),
            Counter::TokensInBursts => (
                "tokens_in_bursts",
                NoIncrease,
                "tokens of an answer that arrived in a burst: more than 4 tokens one right after \
                 another (each gap at most half the answer's time per output token) after a quiet \
                 gap longer than 4 times it (a buffered stream: `docs/measurement.md`, \
                 \"Buffered streams\")",
            ),
        };
        MetricInfo {
            name,
            kind: MetricKind::Counter,
            measures,
            rule,
        }
    }

    /// Whether the counter counts streamed answers (reported only for points that ask some).
    pub fn of_answers(self) -> bool {
        matches!(
            self,
            Counter::AnswersScheduled
                | Counter::AnswersCompleted
                | Counter::TokensReceived
                | Counter::AnswerStalls
                | Counter::TokensInBursts
        )
    }

    /// The counter's index in [`Counter::ALL`], for arrays of counters.
    pub fn index(self) -> usize {
        self as usize
    }
}
