//! Streamed answers: a question POSTed as JSON, answered with a `text/event-stream` of tokens.
//! Each framing says how the question is written and what each event of the answer means
//! ([`Piece`]); one module per framing (`docs/event-stream.md`, "Streamed answers").

pub mod openai;

use std::fmt;

/// What one event of an answer is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    /// A token: content for the reader (one event is counted as one token).
    Token,
    /// Nothing for the reader: a role, an empty delta, the finish reason, usage.
    Empty,
    /// The answer's end marker (OpenAI: `data: [DONE]`).
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
