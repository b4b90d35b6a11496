//! The `text/event-stream` format, without I/O.
//!
//! Four concepts, one file each:
//! - [`encode`]: write events, comments and `retry:` lines as a server sends them;
//! - [`parse`]: an incremental push parser that follows the WHATWG HTML rules for server-sent events
//!   exactly, whatever way the bytes are split, with no allocation per byte or per event;
//! - [`stamp`]: the small conventions ssebench's server and load generator share inside event data
//!   (the server's send timestamp, the POST token), so both sides agree on one definition;
//! - [`answer`]: streamed answers (the LLM chat pattern) in OpenAI's chat completions format and
//!   Anthropic's typed message events, the request body and each event's JSON, written by
//!   ssebench's server and read by its client.

pub mod answer;
pub mod encode;
pub mod owned;
pub mod parse;
pub mod stamp;

pub use encode::Event;
pub use owned::{OwnedEvent, OwnedItem};
pub use parse::{EventRef, Item, Limits, ParseError, Parser};
