//! Streamed answers: a question POSTed as JSON, answered with a `text/event-stream` of tokens.
//! Each framing says how the question is written and what each event of the answer means
//! ([`Piece`]); one module per framing (`openai`, `anthropic`; `docs/event-stream.md`, "Streamed
//! answers"). A server we did not write may want another body ([`template`]) or carry its token
//! text elsewhere in each event: a JSON pointer then names where ([`token_at`]).

pub mod anthropic;
pub mod openai;
pub mod template;

use std::fmt;

/// What one event of an answer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// A token: content for the reader (one event is counted as one token).
    Token,
    /// Nothing for the reader: a role, an empty delta, the finish reason, usage, a ping.
    Empty,
    /// The answer's end marker (OpenAI: `data: [DONE]`; Anthropic: `message_stop`).
    End,
    /// The server reports an error inside the stream (its message).
    Error(String),
}

/// An event whose data is not what the framing allows (not its JSON).
#[derive(Debug)]
pub struct ChunkError(serde_json::Error);

impl fmt::Display for ChunkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "answer chunk is not the framing's JSON: {}", self.0)
    }
}

impl std::error::Error for ChunkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// The text of a question of `prompt_bytes` bytes (at least a few words).
pub fn question_text(prompt_bytes: usize) -> String {
    let question = "ssebench question ";
    let mut content = String::with_capacity(prompt_bytes.max(question.len()));
    content.push_str(question);
    while content.len() < prompt_bytes {
        content.push('x');
    }
    content
}

/// Parses an event's data as JSON for a reader that was given a token pointer.
fn json(data: &str) -> Result<serde_json::Value, ChunkError> {
    serde_json::from_str(data).map_err(ChunkError)
}

/// [`Piece::Token`] when a non-empty string is at `pointer` (RFC 6901) in `value`, else
/// [`Piece::Empty`].
pub fn token_at(value: &serde_json::Value, pointer: &str) -> Piece {
    match value.pointer(pointer).and_then(serde_json::Value::as_str) {
        Some(text) if !text.is_empty() => Piece::Token,
        _ => Piece::Empty,
    }
}

/// Whether `pointer` is a JSON pointer (RFC 6901): empty, or `/` then reference tokens.
pub fn is_pointer(pointer: &str) -> bool {
    pointer.is_empty() || pointer.starts_with('/')
}

fn json_string(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| "\"\"".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pointer_finds_the_token_text() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"out":{"text":"hi","empty":"","n":3}}"#).unwrap();
        assert_eq!(token_at(&v, "/out/text"), Piece::Token);
        assert_eq!(token_at(&v, "/out/empty"), Piece::Empty);
        assert_eq!(token_at(&v, "/out/n"), Piece::Empty, "not a string");
        assert_eq!(token_at(&v, "/missing"), Piece::Empty);
        assert!(is_pointer("/choices/0/delta/content") && is_pointer(""));
        assert!(!is_pointer("choices.0"));
        assert_eq!(question_text(5), "ssebench question ");
        assert_eq!(question_text(40).len(), 40);
    }
}
