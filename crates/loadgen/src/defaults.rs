//! The defaults of a point, in one place: [`PointConfig::new`](crate::PointConfig::new) and the
//! scenario file's keys read these, so a test, the library and the command line start from the
//! same numbers.

use std::time::Duration;

use vocab::{
    AnswerFraming, AnswerPlan, AnswerRequest, BrowserProfile, Paths, PostPlan, StreamKind, Workload,
};

/// HTTP/1.1 connections per origin: 6 in Chromium, Firefox and Safari (`docs/browsers.md`, "Six
/// connections per origin").
pub const CONNECTIONS_PER_ORIGIN: usize = 6;
/// EventSource's reconnection time until the server sends `retry:`: 3 s in Blink, 5 s in Gecko
/// (`docs/browsers.md`, "EventSource reconnection").
pub const fn reconnect_delay(profile: BrowserProfile) -> Duration {
    match profile {
        BrowserProfile::Chromium => Duration::from_secs(3),
        BrowserProfile::Firefox => Duration::from_secs(5),
    }
}
/// How long a TCP connect plus TLS handshake may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Streams open and settle before POSTs and steady-state samples start.
pub const WARMUP: Duration = Duration::from_secs(1);
/// The measured time after warm-up.
pub const DURATION: Duration = Duration::from_secs(10);
/// How long tasks get to stop at the end of a point before they are abandoned.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// POSTs that completed this shortly before a stream's coverage ended are not owed to it by the
/// loss proof: their events may still be on the way.
pub const LOSS_GRACE: Duration = Duration::from_millis(500);
/// Bytes of a chat POST's body.
pub const POST_BODY_BYTES: usize = 128;
/// The chat channel a scenario's streams subscribe to and its POSTs publish on.
pub const CHANNEL: &str = "bench";
/// Tokens each answer asks for (`max_tokens`).
pub const ANSWER_MAX_TOKENS: u32 = 100;
/// Bytes of each answer's question.
pub const ANSWER_PROMPT_BYTES: usize = 256;
/// The model each question names (a target's `answers_model` changes it).
pub const ANSWER_MODEL: &str = "ssebench";
/// A gap between two tokens of one answer longer than this is a stall: a pause a reader notices
/// (ten times a 50 tokens/s stream's gap, and more than a usual sentence's).
pub const ANSWER_STALL_THRESHOLD: Duration = Duration::from_secs(1);
/// A tab whose answer failed asks again after its think time, but never sooner than this.
pub const ANSWER_RETRY_PAUSE: Duration = vocab::ANSWER_RETRY_PAUSE;

/// No open-loop answers; tabs (if the streams are answers) ask again at once, OpenAI's framing
/// and path, [`ANSWER_MAX_TOKENS`], [`ANSWER_PROMPT_BYTES`], [`ANSWER_MODEL`], the framing's own
/// body and token, [`ANSWER_STALL_THRESHOLD`].
pub fn answer_plan() -> AnswerPlan {
    AnswerPlan {
        rate_per_client: 0.0,
        think_time: Duration::ZERO,
        request: AnswerRequest {
            framing: AnswerFraming::OpenAi,
            path: answer_path(AnswerFraming::OpenAi).to_owned(),
            max_tokens: ANSWER_MAX_TOKENS,
            prompt_bytes: ANSWER_PROMPT_BYTES,
            model: ANSWER_MODEL.to_owned(),
            body_template: None,
            token_pointer: None,
        },
        stall_threshold: ANSWER_STALL_THRESHOLD,
    }
}

/// Where a framing's API takes questions: OpenAI's `/v1/chat/completions`, Anthropic's
/// `/v1/messages` (ssebench's server answers on both).
pub fn answer_path(framing: AnswerFraming) -> &'static str {
    match framing {
        AnswerFraming::OpenAi => sse_wire::answer::openai::PATH,
        AnswerFraming::Anthropic => sse_wire::answer::anthropic::PATH,
    }
}

/// One client with one EventSource on [`CHANNEL`], no POSTs ([`POST_BODY_BYTES`] each once a rate
/// is set), no answers ([`answer_plan`]), [`WARMUP`], [`DURATION`], and the default profile's
/// reconnection delay.
pub fn workload() -> Workload {
    Workload {
        clients: 1,
        streams_per_client: 1,
        stream_kind: StreamKind::EventSource,
        warmup: WARMUP,
        duration: DURATION,
        posts: PostPlan {
            rate_per_client: 0.0,
            body_bytes: POST_BODY_BYTES,
        },
        answers: answer_plan(),
        paths: Paths::for_channel(CHANNEL),
        reconnect_delay: reconnect_delay(BrowserProfile::default()),
    }
}
