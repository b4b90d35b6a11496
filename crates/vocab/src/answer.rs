//! Streamed answers: the LLM chat pattern, where the page POSTs a question with `fetch()` and
//! reads the answer's `text/event-stream` token by token. What a stream of a client is
//! ([`StreamKind`]), how an answer is framed on the wire ([`AnswerFraming`]), and what a point's
//! clients ask ([`AnswerPlan`]).

use std::time::Duration;

use crate::word::{word_traits, Word};

/// What each of a client's streams (`streams_per_client`) is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum StreamKind {
    /// An `EventSource` (a WebSocket on the `ws` and `wss` arms): opened once, kept open,
    /// reconnected when it ends.
    #[default]
    EventSource,
    /// A tab asking answers: it POSTs a question, reads the answer to its end, waits the plan's
    /// think time and asks again (closed loop: its next question waits for its answer). An
    /// answer never reconnects: one that breaks is an error.
    Answer,
}

impl StreamKind {
    /// Both kinds, in a fixed order.
    pub const ALL: [StreamKind; 2] = [StreamKind::EventSource, StreamKind::Answer];

    /// The name used in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            StreamKind::EventSource => "eventsource",
            StreamKind::Answer => "answer",
        }
    }
}

impl Word for StreamKind {
    const WHAT: &'static str = "stream kind";
    const ALL: &'static [StreamKind] = &StreamKind::ALL;

    fn as_str(self) -> &'static str {
        StreamKind::as_str(self)
    }
}

word_traits!(StreamKind);

/// How an answer is asked for and framed on the wire: the request body, which events carry a
/// token and which one ends the answer (`docs/event-stream.md`, "Streamed answers").
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum AnswerFraming {
    /// OpenAI's chat completions (`POST /v1/chat/completions`, `"stream": true`): each token is a
    /// `data:` chunk whose `choices[].delta.content` is not empty, and `data: [DONE]` ends the
    /// answer.
    #[default]
    OpenAi,
    /// Anthropic's messages (`POST /v1/messages`, `"stream": true`): typed events, each token an
    /// `event: content_block_delta` whose `delta` is a non-empty `text_delta`, and
    /// `event: message_stop` ends the answer.
    Anthropic,
}

impl AnswerFraming {
    /// Every framing, in a fixed order.
    pub const ALL: [AnswerFraming; 2] = [AnswerFraming::OpenAi, AnswerFraming::Anthropic];

    /// The name used in scenario files.
    pub fn as_str(self) -> &'static str {
        match self {
            AnswerFraming::OpenAi => "openai",
            AnswerFraming::Anthropic => "anthropic",
        }
    }
}

impl Word for AnswerFraming {
    const WHAT: &'static str = "answer framing";
    const ALL: &'static [AnswerFraming] = &AnswerFraming::ALL;

    fn as_str(self) -> &'static str {
        AnswerFraming::as_str(self)
    }
}

word_traits!(AnswerFraming);

/// A tab whose answer failed asks again after its think time, but never sooner than this, so a
/// server that refuses at once is not asked in a tight loop (the emulation and the browsers'
/// pages alike).
pub const ANSWER_RETRY_PAUSE: Duration = Duration::from_secs(1);

/// The answers a point's clients ask: the tabs' (streams of kind [`StreamKind::Answer`]) and the
/// open-loop ones at `rate_per_client`. Every answer is a POST through the client's one pool,
/// beside its EventSources and chat POSTs.
#[derive(Debug, Clone, PartialEq)]
pub struct AnswerPlan {
    /// Answers per second per client, each asked at its own fixed instant whatever happened to
    /// the earlier ones (open loop, as [`crate::PostPlan`]: clients spread over one period);
    /// 0 asks none.
    pub rate_per_client: f64,
    /// How long a tab waits after its answer ended (completed or failed) before it asks again.
    pub think_time: Duration,
    /// What each answer asks for.
    pub request: AnswerRequest,
    /// A gap between two tokens of one answer longer than this is a stall (`answer_stalls`).
    pub stall_threshold: Duration,
}

/// One answer's request, and where its tokens are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerRequest {
    pub framing: AnswerFraming,
    /// Path and query the question is POSTed to (the framing's own by default).
    pub path: String,
    /// Tokens asked for (`max_tokens`).
    pub max_tokens: u32,
    /// Bytes of the question's text.
    pub prompt_bytes: usize,
    /// The model the question names (`model`).
    pub model: String,
    /// The question's JSON body, as a template whose `${model}`, `${max_tokens}` and `${prompt}`
    /// are replaced by JSON values; `None` writes the framing's own body.
    pub body_template: Option<String>,
    /// Where each event's token text is, as a JSON pointer into its data (RFC 6901,
    /// `/choices/0/delta/content`): the event is a token when a non-empty string is there.
    /// `None` reads the framing's own place.
    pub token_pointer: Option<String>,
}

impl AnswerPlan {
    /// How many open-loop answers each client asks in `duration`: `floor(rate x duration)`.
    pub fn per_client(&self, duration: Duration) -> usize {
        crate::open_loop::count(self.rate_per_client, duration)
    }

    /// When open-loop answer `k` of a client with `phase` is due, from the end of warm-up:
    /// `(k + phase) / rate`.
    pub fn due(&self, k: usize, phase: f64) -> Duration {
        crate::open_loop::due(self.rate_per_client, k, phase)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_round_trip() {
        for kind in StreamKind::ALL {
            assert_eq!(kind.as_str().parse(), Ok(kind));
        }
        for framing in AnswerFraming::ALL {
            assert_eq!(framing.as_str().parse(), Ok(framing));
        }
        let err = "sse".parse::<StreamKind>().unwrap_err().to_string();
        assert!(
            err.contains("eventsource") && err.contains("answer"),
            "{err}"
        );
    }

    #[test]
    fn open_loop_answers_are_scheduled_as_posts() {
        let plan = AnswerPlan {
            rate_per_client: 2.0,
            think_time: Duration::ZERO,
            request: AnswerRequest {
                framing: AnswerFraming::OpenAi,
                path: "/v1/chat/completions".into(),
                max_tokens: 10,
                prompt_bytes: 10,
                model: "m".into(),
                body_template: None,
                token_pointer: None,
            },
            stall_threshold: Duration::from_secs(1),
        };
        assert_eq!(plan.per_client(Duration::from_millis(2_600)), 5);
        assert_eq!(plan.due(1, 0.5), Duration::from_millis(750));
        let none = AnswerPlan {
            rate_per_client: 0.0,
            ..plan
        };
        assert_eq!(none.per_client(Duration::from_secs(60)), 0);
    }
}
