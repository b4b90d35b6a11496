//! A streamed question, read strictly: its JSON body (OpenAI's: `"stream": true`, `messages`,
//! `max_tokens` or `max_completion_tokens`, `model`; other fields are ignored) and its query
//! string's pacing, over the server's defaults. What cannot be honoured is a 400 that names it.

use std::time::Duration;

use serde::Deserialize;

use crate::config::{AnswerDefaults, Pace, MAX_ANSWER_TOKENS};
use crate::routes::query::{answer_query, AnswerQuery};

/// Longest `model` name, bytes: it is repeated in every chunk of the answer.
pub(crate) const MAX_MODEL_LEN: usize = 256;

/// The model named in chunks when the question names none.
const DEFAULT_MODEL: &str = "ssebench";

/// What one answer will be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AnswerSpec {
    pub(crate) tokens: u32,
    pub(crate) model: String,
    pub(crate) time_to_first_token: Pace,
    pub(crate) token_gap: Pace,
    /// The query's seed (the answer then draws from it alone), else the server's.
    pub(crate) seed: Option<u64>,
}

/// The parts of the body the server reads.
#[derive(Deserialize)]
struct Question {
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    messages: Option<serde_json::Value>,
    #[serde(default)]
    max_tokens: Option<u64>,
    #[serde(default)]
    max_completion_tokens: Option<u64>,
    #[serde(default)]
    model: Option<String>,
}

/// The answer a question asks for; `Err` is the 400's text.
pub(crate) fn read(
    body: &[u8],
    query: Option<&str>,
    defaults: &AnswerDefaults,
) -> Result<AnswerSpec, String> {
    let q: AnswerQuery = answer_query(query).map_err(|e| e.to_string())?;
    let question: Question = serde_json::from_slice(body)
        .map_err(|e| format!("the body is not a JSON chat completion request: {e}"))?;
    if question.stream != Some(true) {
        return Err("this server only streams: the body must say \"stream\": true".to_owned());
    }
    if !question.messages.as_ref().is_some_and(|m| m.is_array()) {
        return Err("the body needs \"messages\", an array".to_owned());
    }
    let tokens = match question.max_tokens.or(question.max_completion_tokens) {
        None => defaults.tokens,
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|n| (1..=MAX_ANSWER_TOKENS).contains(n))
            .ok_or_else(|| format!("max_tokens {n} must be from 1 to {MAX_ANSWER_TOKENS}"))?,
    };
    let model = question.model.unwrap_or_else(|| DEFAULT_MODEL.to_owned());
    if model.len() > MAX_MODEL_LEN {
        return Err(format!("model must be at most {MAX_MODEL_LEN} bytes"));
    }
    Ok(AnswerSpec {
        tokens,
        model,
        time_to_first_token: pace(
            ("ttft_ms", q.ttft),
            q.ttft_p99,
            defaults.time_to_first_token,
        )?,
        token_gap: pace(("gap_ms", q.gap), q.gap_p99, defaults.token_gap)?,
        seed: q.seed,
    })
}

/// The query's pace: fixed (`key` alone), log-normal (with its p99; the median from `key`, else
/// the default's), else the default.
fn pace(
    (key, value): (&str, Option<Duration>),
    p99: Option<Duration>,
    default: Pace,
) -> Result<Pace, String> {
    Ok(match (value, p99) {
        (None, None) => default,
        (Some(fixed), None) => Pace::Fixed(fixed),
        (median, Some(p99)) => {
            let median = median.unwrap_or(default.median());
            if median.is_zero() || p99 < median {
                return Err(format!(
                    "{key}: a distribution needs a median above 0 and a p99 at least as long \
                     (median {median:?}, p99 {p99:?})"
                ));
            }
            Pace::LogNormal { median, p99 }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &str = r#"{"model":"m","stream":true,"max_tokens":5,"messages":[]}"#;

    #[test]
    fn a_question_and_its_pacing() {
        let d = AnswerDefaults::default();
        let spec = read(BODY.as_bytes(), None, &d).unwrap();
        assert_eq!((spec.tokens, spec.model.as_str()), (5, "m"));
        assert_eq!(spec.time_to_first_token, d.time_to_first_token);
        let ms = Duration::from_millis;
        let spec = read(BODY.as_bytes(), Some("ttft_ms=0&gap_p99_ms=90&seed=3"), &d).unwrap();
        assert_eq!(spec.time_to_first_token, Pace::Fixed(ms(0)));
        assert_eq!(
            spec.token_gap,
            Pace::LogNormal {
                median: d.token_gap.median(),
                p99: ms(90)
            }
        );
        assert_eq!(spec.seed, Some(3));
        let defaults_tokens = r#"{"stream":true,"messages":[{"role":"user","content":"q"}]}"#;
        let spec = read(defaults_tokens.as_bytes(), None, &d).unwrap();
        assert_eq!((spec.tokens, spec.model.as_str()), (d.tokens, "ssebench"));
    }

    #[test]
    fn what_cannot_be_honoured_is_named() {
        let d = AnswerDefaults::default();
        let err = |body: &str, query| read(body.as_bytes(), query, &d).unwrap_err();
        assert!(err("{", None).contains("not a JSON"));
        assert!(err(r#"{"messages":[]}"#, None).contains("stream"));
        assert!(err(r#"{"stream":false,"messages":[]}"#, None).contains("stream"));
        assert!(err(r#"{"stream":true}"#, None).contains("messages"));
        let zero = r#"{"stream":true,"messages":[],"max_tokens":0}"#;
        assert!(err(zero, None).contains("max_tokens 0"));
        let huge = r#"{"stream":true,"messages":[],"max_completion_tokens":99999999999}"#;
        assert!(err(huge, None).contains("max_tokens"));
        let long_model = format!(
            r#"{{"stream":true,"messages":[],"model":"{}"}}"#,
            "m".repeat(MAX_MODEL_LEN + 1)
        );
        assert!(err(&long_model, None).contains("model"));
        assert!(err(BODY, Some("gap_ms=50&gap_p99_ms=10")).contains("gap_ms"));
        assert!(err(BODY, Some("bogus=1")).contains("unknown query key"));
    }
}
