//! Incremental push parser for `text/event-stream` (WHATWG HTML, "server-sent events").
//!
//! API CONTRACT (other crates compile against it; keep the signatures):
//! - `Parser::new()` / `Parser::with_limits(Limits)`;
//! - `feed(&mut self, chunk, on_item)` pushes bytes in any split and calls `on_item` for each
//!   dispatched event, each `retry:` that changed the reconnection time, and each comment line;
//! - `finish()` is end of stream: an unterminated event is discarded (returns true if it was);
//! - `last_event_id()` persists across events (and across `reset_stream()`), `reconnection_time()`
//!   is the last valid `retry:` value;
//! - `reset_stream()` prepares for a new connection: drops buffered partial lines/events, keeps the
//!   last event id and the reconnection time, and expects a BOM again.

use std::fmt;

/// Caps that bound memory against a hostile or broken stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest line accepted, in bytes, without its line ending.
    pub max_line_bytes: usize,
    /// Largest event accepted: the bytes of its data buffer.
    pub max_event_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_bytes: 1 << 20,
            max_event_bytes: 4 << 20,
        }
    }
}

/// A stream that broke a limit. The parser must be `reset_stream()` before it is fed again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// A line grew past `Limits::max_line_bytes` with no line ending.
    LineTooLong { limit: usize },
    /// An event's data grew past `Limits::max_event_bytes`.
    EventTooLarge { limit: usize },
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::LineTooLong { limit } => {
                write!(f, "event-stream line longer than {limit} bytes")
            }
            ParseError::EventTooLarge { limit } => {
                write!(f, "event-stream event larger than {limit} bytes")
            }
        }
    }
}

impl std::error::Error for ParseError {}

/// A dispatched event, borrowed from the parser's buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventRef<'a> {
    /// The `event:` field, or `message` when the event set none.
    pub event_type: &'a str,
    /// The data, with the final LF stripped.
    pub data: &'a str,
    /// The last event id in force when the event fired.
    pub last_event_id: &'a str,
}

/// What the parser reports while it is fed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Item<'a> {
    Event(EventRef<'a>),
    /// A valid `retry:` line: the new reconnection time in milliseconds.
    Retry(u64),
    /// A comment line, without its leading colon.
    Comment(&'a str),
}

/// The push parser. See the module documentation.
#[derive(Debug, Default)]
pub struct Parser {
    limits: Limits,
    last_event_id: String,
    reconnection_time: Option<u64>,
}

impl Parser {
    pub fn new() -> Self {
        Self::with_limits(Limits::default())
    }

    pub fn with_limits(limits: Limits) -> Self {
        Parser {
            limits,
            ..Parser::default()
        }
    }

    pub fn feed(
        &mut self,
        chunk: &[u8],
        mut on_item: impl FnMut(Item<'_>),
    ) -> Result<(), ParseError> {
        let _ = (chunk, &mut on_item, self.limits);
        unimplemented!("sse-wire parser")
    }

    pub fn finish(&mut self) -> bool {
        unimplemented!("sse-wire parser")
    }

    pub fn reset_stream(&mut self) {
        unimplemented!("sse-wire parser")
    }

    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    pub fn reconnection_time(&self) -> Option<u64> {
        self.reconnection_time
    }
}
