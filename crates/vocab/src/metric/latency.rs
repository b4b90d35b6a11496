//! The latencies of the load generator, each named by its two instants.

use super::{DefaultRule, MetricInfo, MetricKind};

/// Latencies the load generator records, each an HDR histogram in microseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Latency {
    QueueWait,
    PostQueueWait,
    Connect,
    TimeToOpen,
    TimeToFirstEvent,
    EventDelivery,
    PostRtt,
    Fanout,
    ReplayFanout,
    ClientLag,
    ServerLag,
    NetworkRtt,
    AnswerQueueWait,
    TimeToFirstToken,
    InterTokenGap,
    TimePerOutputToken,
    AnswerTime,
    TokenDelivery,
}

/// Each latency's row name, and its censored samples' row made from it.
macro_rules! names {
    ($($latency:ident => $name:literal,)*) => {
        impl Latency {
            /// The row name.
            pub fn name(self) -> &'static str {
                match self {
                    $(Latency::$latency => $name,)*
                }
            }

            /// The row counting this latency's censored samples (`<name>_censored`): those still
            /// waiting when the point ended, recorded at that lower bound.
            pub fn censored_name(self) -> &'static str {
                match self {
                    $(Latency::$latency => concat!($name, "_censored"),)*
                }
            }
        }
    };
}

names! {
    QueueWait => "queue_wait",
    PostQueueWait => "post_queue_wait",
    Connect => "connect",
    TimeToOpen => "time_to_open",
    TimeToFirstEvent => "time_to_first_event",
    EventDelivery => "event_delivery",
    PostRtt => "post_rtt",
    Fanout => "fanout",
    ReplayFanout => "replay_fanout",
    ClientLag => "client_lag",
    ServerLag => "server_lag",
    NetworkRtt => "network_rtt",
    AnswerQueueWait => "answer_queue_wait",
    TimeToFirstToken => "time_to_first_token",
    InterTokenGap => "inter_token_gap",
    TimePerOutputToken => "time_per_output_token",
    AnswerTime => "answer_time",
    TokenDelivery => "token_delivery",
}

impl Latency {
    /// Every latency, in report order.
    pub const ALL: [Latency; 18] = [
        Latency::QueueWait,
        Latency::PostQueueWait,
        Latency::Connect,
        Latency::TimeToOpen,
        Latency::TimeToFirstEvent,
        Latency::EventDelivery,
        Latency::PostRtt,
        Latency::Fanout,
        Latency::ReplayFanout,
        Latency::ClientLag,
        Latency::ServerLag,
        Latency::NetworkRtt,
        Latency::AnswerQueueWait,
        Latency::TimeToFirstToken,
        Latency::InterTokenGap,
        Latency::TimePerOutputToken,
        Latency::AnswerTime,
        Latency::TokenDelivery,
    ];

    /// The latency's catalog entry.
    pub fn info(self) -> MetricInfo {
        let rule = match self {
            // The harness's own health: shown, and warned about, never a regression.
            Latency::ClientLag | Latency::ServerLag | Latency::NetworkRtt => DefaultRule::Shown,
            _ => DefaultRule::Latency,
        };
        let measures = match self {
            Latency::QueueWait => "an EventSource's request is wanted (created, or reconnecting) -> it is granted its \
                 slot: on HTTP/1.1 a pool connection slot (an idle connection, or room to open one \
                 under the cap), on HTTP/2 one of the connection's stream slots; before any \
                 connection setup. ws, wss: a WebSocket is created (or reconnecting) -> it may \
                 start connecting (the browser's per-client throttle delay and the endpoint's \
                 one-handshake-at-a-time lock)",
            Latency::PostQueueWait => "a POST's scheduled instant -> it is granted its slot (as `queue_wait`): where the \
                 six-connection ceiling hurts a chat. ws, wss: a chat message's scheduled instant \
                 -> it is written on the client's first WebSocket (later if that socket is \
                 reconnecting)",
            Latency::Connect => "TCP connect starts -> the TLS handshake is done and the negotiated ALPN checked \
                 (cleartext: TCP connected); h3: the first QUIC Initial packet is sent -> the \
                 handshake is complete with 1-RTT keys and ALPN `h3` checked; one sample per \
                 connection",
            Latency::TimeToOpen => "the EventSource or WebSocket is created (its first request wanted) -> it is open: \
                 the `200 text/event-stream` response head, the WebSocket's `101` handshake done; \
                 its first open only",
            Latency::TimeToFirstEvent => "the EventSource or WebSocket is created (its first request wanted) -> its first \
                 event (WebSocket: message) is parsed",
            Latency::EventDelivery => "the server's send stamp in the event's data -> the event is parsed at the client \
                 (same host clock); after warm-up only",
            Latency::PostRtt => "the POST's scheduled instant (coordinated omission corrected) -> its response read \
                 to the end. ws, wss: a chat message's scheduled instant -> its echo (the channel's \
                 copy carrying its token) received on the WebSocket it was sent on",
            Latency::Fanout => "the POST's request (ws, wss: the chat message) is handed to its connection \
                 (written) -> the event (message) carrying its token is parsed, one sample per \
                 subscriber stream or WebSocket; replays left out",
            Latency::ReplayFanout => "as `fanout`, for the events that can only have come from the server's replay \
                 (see `replayed_events`): how late a reconnecting subscriber caught up",
            Latency::ClientLag => "the load generator's own health: a 10 ms timer's deadline -> the instant its task \
                 ran on the client's runtime (how late timers and tasks run)",
            Latency::ServerLag => "the embedded server's health: the same probe on the server's own runtime",
            Latency::NetworkRtt => "the emulated network checked before each condition: a TCP connect from the client \
                 namespace starts -> the server namespace's SYN-ACK completes it (one round trip)",
            Latency::AnswerQueueWait => "an answer's scheduled instant -> it is granted its slot (as `queue_wait`): an answer \
                 stuck behind six open streams waits here",
            Latency::TimeToFirstToken => "an answer's scheduled instant (not when it was sent: coordinated omission corrected) \
                 -> its first token parsed; `answer_queue_wait` is the part spent waiting for a slot",
            Latency::InterTokenGap => "one token of an answer parsed -> the next token of the same answer parsed; one sample \
                 per token after the first",
            Latency::TimePerOutputToken => "per completed answer of at least two tokens: (its last token parsed - its first \
                 token parsed) / (tokens - 1). Its reciprocal is the answer's tokens per second \
                 (genai-perf's output token throughput per user): stored as this time, a rate's \
                 distribution read upside down",
            Latency::AnswerTime => "an answer's scheduled instant -> its end marker (`data: [DONE]`) parsed; completed \
                 answers only (censored for those still queued or streaming at the end)",
            Latency::TokenDelivery => "the server's send stamp in a token's chunk -> the token parsed at the client (same \
                 host clock), as `event_delivery` for answers",
        };
        MetricInfo {
            name: self.name(),
            kind: MetricKind::Latency,
            measures,
            rule,
        }
    }

    /// Whether a sample can be censored: the wait can still be running when the point ends
    /// (a request queued, a POST pending, a stream without its first event).
    pub fn can_be_censored(self) -> bool {
        matches!(
            self,
            Latency::QueueWait
                | Latency::PostQueueWait
                | Latency::TimeToOpen
                | Latency::TimeToFirstEvent
                | Latency::PostRtt
                | Latency::AnswerQueueWait
                | Latency::TimeToFirstToken
                | Latency::AnswerTime
        )
    }

    /// Whether the latency times streamed answers (reported only for points that ask some).
    pub fn of_answers(self) -> bool {
        matches!(
            self,
            Latency::AnswerQueueWait
                | Latency::TimeToFirstToken
                | Latency::InterTokenGap
                | Latency::TimePerOutputToken
                | Latency::AnswerTime
                | Latency::TokenDelivery
        )
    }

    /// The latency's index in [`Latency::ALL`], for arrays of histograms.
    pub fn index(self) -> usize {
        self as usize
    }
}
