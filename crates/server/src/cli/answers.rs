//! The flags of streamed answers (`POST /v1/chat/completions`, `POST /v1/messages`): their
//! default tokens and pacing.

use std::time::Duration;

use sse_server::config::{
    self, AnswerDefaults, Pace, DEFAULT_ANSWER_SEED, DEFAULT_ANSWER_TOKENS,
    DEFAULT_TIME_TO_FIRST_TOKEN, DEFAULT_TOKEN_GAP,
};

/// Streamed answers; a request overrides the pacing in its query string (ttft_ms, ttft_p99_ms,
/// gap_ms, gap_p99_ms, seed) and the tokens with its body's max_tokens.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Streamed answers")]
pub(crate) struct AnswerArgs {
    /// Tokens of an answer whose request names no max_tokens.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ANSWER_TOKENS)]
    answer_tokens: u32,
    /// From the request read to the first token: fixed, or the median with
    /// --time-to-first-token-p99.
    #[arg(long, value_name = "DURATION", default_value_t = DEFAULT_TIME_TO_FIRST_TOKEN.into())]
    time_to_first_token: humantime::Duration,
    /// Draw each answer's time to first token from a log-normal distribution with this p99.
    #[arg(long, value_name = "DURATION")]
    time_to_first_token_p99: Option<humantime::Duration>,
    /// Between two tokens: fixed, or the median with --token-gap-p99.
    #[arg(long, value_name = "DURATION", default_value_t = DEFAULT_TOKEN_GAP.into())]
    token_gap: humantime::Duration,
    /// Draw each gap between tokens from a log-normal distribution with this p99.
    #[arg(long, value_name = "DURATION")]
    token_gap_p99: Option<humantime::Duration>,
    /// Seed of the draws (the same seed draws the same delays).
    #[arg(long, value_name = "N", default_value_t = DEFAULT_ANSWER_SEED)]
    answer_seed: u64,
}

impl AnswerArgs {
    pub(crate) fn config(&self) -> AnswerDefaults {
        AnswerDefaults {
            tokens: self.answer_tokens,
            time_to_first_token: pace(
                self.time_to_first_token.into(),
                self.time_to_first_token_p99.map(Into::into),
            ),
            token_gap: pace(self.token_gap.into(), self.token_gap_p99.map(Into::into)),
            seed: self.answer_seed,
        }
    }
}

/// Fixed, or log-normal with `p99` (validated with the rest of the configuration).
fn pace(median: Duration, p99: Option<Duration>) -> Pace {
    match p99 {
        None => Pace::Fixed(median),
        Some(p99) => Pace::LogNormal { median, p99 },
    }
}

/// The routes, for the help's description.
pub(crate) fn route() -> String {
    format!(
        "POST {} (a streamed answer in OpenAI's chunk format) and POST {} (the same in \
         Anthropic's typed events); body: JSON with \"stream\": true and max_tokens 1..={}; \
         query ttft_ms=&ttft_p99_ms=&gap_ms=&gap_p99_ms=&seed=",
        sse_wire::answer::openai::PATH,
        sse_wire::answer::anthropic::PATH,
        config::MAX_ANSWER_TOKENS,
    )
}
