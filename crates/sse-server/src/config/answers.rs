//! Defaults for each streamed answer (`POST /v1/chat/completions`, `routes::answers`): its tokens
//! when the request names none, when its first token comes and the gaps between its tokens, each
//! fixed or drawn from a seeded log-normal distribution fitted to a median and a p99, and the
//! seed. A request may override the pacing and the seed in its query string.

use std::time::Duration;

use super::MAX_PERIOD_MS;
use crate::error::ServerError;

/// Default [`AnswerDefaults::tokens`].
pub const DEFAULT_ANSWER_TOKENS: u32 = 100;
/// Largest `max_tokens` an answer may ask for.
pub const MAX_ANSWER_TOKENS: u32 = 100_000;
/// Default [`AnswerDefaults::time_to_first_token`]: fixed.
pub const DEFAULT_TIME_TO_FIRST_TOKEN: Duration = Duration::from_millis(200);
/// Default [`AnswerDefaults::token_gap`]: fixed, 50 tokens a second.
pub const DEFAULT_TOKEN_GAP: Duration = Duration::from_millis(20);
/// Default [`AnswerDefaults::seed`].
pub const DEFAULT_ANSWER_SEED: u64 = 1;

/// A delay of an answer: the same every time, or drawn per answer (time to first token) or per
/// token (gaps).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    Fixed(Duration),
    /// Log-normal, fitted so that half the draws are under `median` and 99 % under `p99`.
    LogNormal {
        median: Duration,
        p99: Duration,
    },
}

impl Pace {
    /// The fixed value, or the distribution's median.
    pub fn median(self) -> Duration {
        match self {
            Pace::Fixed(d) | Pace::LogNormal { median: d, .. } => d,
        }
    }

    /// Checks the values against the ranges a query string may ask for, naming `key`.
    pub(crate) fn validate(self, key: &'static str) -> Result<(), ServerError> {
        let longest = Duration::from_millis(MAX_PERIOD_MS);
        let p99 = match self {
            Pace::Fixed(d) => d,
            Pace::LogNormal { p99, .. } => p99,
        };
        if p99 > longest {
            let reason = format!("must be at most {}", humantime::format_duration(longest));
            return Err(ServerError::invalid(key, format!("{p99:?}"), reason));
        }
        if let Pace::LogNormal { median, p99 } = self {
            if median.is_zero() || p99 < median {
                let reason = "a distribution needs a median above 0 and a p99 at least as long";
                return Err(ServerError::invalid(
                    key,
                    format!("median {median:?}, p99 {p99:?}"),
                    reason,
                ));
            }
        }
        Ok(())
    }
}

/// How the server answers a streamed question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnswerDefaults {
    /// Tokens of an answer whose request names none (`max_tokens`).
    pub tokens: u32,
    /// From the request read to the first token (the answer's role chunk goes at once).
    pub time_to_first_token: Pace,
    /// Between two tokens, drawn per token.
    pub token_gap: Pace,
    /// The seed of the draws: answer `n` of the server (from 0, in order of arrival) draws from
    /// `seed` and `n`, so a run with the same seed draws the same delays.
    pub seed: u64,
}

impl Default for AnswerDefaults {
    fn default() -> Self {
        AnswerDefaults {
            tokens: DEFAULT_ANSWER_TOKENS,
            time_to_first_token: Pace::Fixed(DEFAULT_TIME_TO_FIRST_TOKEN),
            token_gap: Pace::Fixed(DEFAULT_TOKEN_GAP),
            seed: DEFAULT_ANSWER_SEED,
        }
    }
}

impl AnswerDefaults {
    /// Checks every value, naming the first bad one.
    pub(crate) fn validate(&self) -> Result<(), ServerError> {
        if !(1..=MAX_ANSWER_TOKENS).contains(&self.tokens) {
            let reason = format!("must be between 1 and {MAX_ANSWER_TOKENS}");
            return Err(ServerError::invalid("answer tokens", self.tokens, reason));
        }
        self.time_to_first_token.validate("time to first token")?;
        self.token_gap.validate("token gap")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_paces_are_named() {
        assert!(AnswerDefaults::default().validate().is_ok());
        let ms = Duration::from_millis;
        let bad = AnswerDefaults {
            token_gap: Pace::LogNormal {
                median: ms(20),
                p99: ms(10),
            },
            ..AnswerDefaults::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("token gap"));
        let bad = AnswerDefaults {
            tokens: 0,
            ..AnswerDefaults::default()
        };
        assert!(bad.validate().unwrap_err().to_string().contains("tokens"));
        let long = Pace::Fixed(Duration::from_millis(MAX_PERIOD_MS + 1));
        assert!(long.validate("x").is_err());
        assert_eq!(
            Pace::LogNormal {
                median: ms(5),
                p99: ms(9)
            }
            .median(),
            ms(5)
        );
    }
}
