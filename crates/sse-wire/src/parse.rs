//! Incremental push parser for `text/event-stream` (WHATWG HTML, "server-sent events", section
//! "Parsing an event stream" and "Interpreting an event stream").
//!
//! # API
//!
//! - [`Parser::new`] / [`Parser::with_limits`];
//! - [`Parser::feed`] pushes bytes split in any way and calls `on_item` for each dispatched
//!   event, each valid `retry:` line and each comment line. The items are the same, in the same
//!   order, whatever the split (including one byte at a time);
//! - [`Parser::finish`] is end of stream: an unterminated line or event is discarded, never fired
//!   (it returns true if something was), and the parser is ready for a new stream;
//! - [`Parser::last_event_id`] persists across events and across [`Parser::reset_stream`];
//!   [`Parser::reconnection_time`] is the last valid `retry:` value;
//! - [`Parser::reset_stream`] prepares for a new connection: it drops buffered partial lines and
//!   events, keeps the last event id and the reconnection time, and expects a BOM again.
//!
//! # Rules
//!
//! - The stream is UTF-8. One byte order mark (`EF BB BF`) at the very start of a stream is
//!   skipped, even when split across feeds; a second one is content. Invalid UTF-8 becomes U+FFFD
//!   exactly as decoding the whole stream lossily would (line endings and `:` are ASCII, so
//!   decoding each field on its own gives the same text).
//! - Lines end in CRLF, LF or CR. A CR that ends one chunk and an LF that starts the next are one
//!   line ending.
//! - An empty line dispatches: if the data buffer is empty, the data and event type buffers are
//!   reset and nothing fires; otherwise one trailing LF is removed from the data and
//!   [`Item::Event`] fires with the event type (or `message` when none was set), the data and the
//!   last event id. The data and event type buffers are then reset, the last event id is not.
//! - A line starting with `:` is a comment: [`Item::Comment`] with the text after the colon, minus
//!   one leading space.
//! - Otherwise the field name is what precedes the first `:` and the value what follows it, minus
//!   one leading space; a line without `:` is a field name with an empty value.
//!   - `event` sets the event type buffer;
//!   - `data` appends the value and an LF to the data buffer;
//!   - `id` sets the last event id buffer unless the value contains U+0000 (an empty value sets it
//!     to empty);
//!   - `retry` sets the reconnection time if the value is non-empty ASCII digits that fit a `u64`,
//!     and reports [`Item::Retry`] for every such line;
//!   - any other field, including `Data` or `ID` in another case, is ignored.
//!
//! As in the specification, the id buffer becomes the event source's last event id when an empty
//! line is seen (even one that fires nothing): [`Parser::last_event_id`] therefore never reflects
//! an `id:` line of an event that was cut off by the end of the stream, which is what a client
//! must send back as `Last-Event-ID` when it reconnects.
//!
//! # Limits
//!
//! [`Limits`] bounds memory against a hostile or broken stream: a line longer than
//! `max_line_bytes` (not counting its line ending) fails with [`ParseError::LineTooLong`] as soon
//! as that many bytes are buffered, even if the stream never sends a line ending, and an event
//! whose data (as it would be dispatched, without the final LF) grows past `max_event_bytes`
//! fails with [`ParseError::EventTooLarge`]. After an error `feed` keeps returning it until
//! [`Parser::reset_stream`] (or [`Parser::finish`]) is called.
//!
//! # Performance design
//!
//! The parser sits on the load generator's hot path, so in steady state it allocates nothing:
//! - line ends are found with `memchr2(b'\r', b'\n', ..)`, field names with `memchr(b':', ..)`;
//! - a line that lies wholly inside the current chunk is interpreted straight from the chunk
//!   slice; only a line split across chunks is copied into a reusable line buffer;
//! - the data, event type and id buffers are `String`s that are cleared, never dropped, so they
//!   keep their capacity; the id buffer and the last event id are swapped, not copied, when an
//!   event commits a new id;
//! - UTF-8 is validated with `std::str::from_utf8` (vectorised for ASCII); the lossy path
//!   (`utf8_chunks`) only runs when the bytes are invalid, and writes into reused buffers;
//! - items are borrowed out of the chunk or the parser's buffers (`&str`), never copied into owned
//!   values.

use std::fmt;
use std::mem;

/// Caps that bound memory against a hostile or broken stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Longest line accepted, in bytes, without its line ending.
    pub max_line_bytes: usize,
    /// Largest event accepted: the bytes of its data as dispatched (the data buffer without its
    /// final LF, after lossy UTF-8 decoding).
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
    /// A comment line, without its leading colon (and without one leading space).
    Comment(&'a str),
}

const BOM: [u8; 3] = [0xEF, 0xBB, 0xBF];

/// The push parser. See the module documentation.
#[derive(Debug, Default)]
pub struct Parser {
    limits: Limits,
    /// The event source's last event id string: the id buffer as of the last empty line.
    last_event_id: String,
    reconnection_time: Option<u64>,

    /// The start of a line that has not ended yet (only lines split across chunks land here).
    line: Vec<u8>,
    /// The data buffer (each `data` line's value followed by LF).
    data: String,
    /// The event type buffer.
    event_type: String,
    /// The last event id buffer; only meaningful while `id_pending` (otherwise it equals
    /// `last_event_id`, whose value it may have been swapped with).
    id_buffer: String,
    /// An `id` line was seen since the last empty line.
    id_pending: bool,
    /// A `data`, `event` or `id` line was seen since the last empty line.
    event_started: bool,
    /// The last byte fed was a CR: an LF at the start of the next chunk ends nothing.
    last_was_cr: bool,
    /// The first bytes of the stream have been checked for a BOM.
    bom_checked: bool,
    /// How many bytes of a BOM were seen at the start of the stream (while `!bom_checked`).
    bom_seen: u8,
    /// Scratch space for lossily decoded comments.
    scratch: String,
    /// The error that stopped the stream, returned again until `reset_stream`.
    failed: Option<ParseError>,
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

    /// Pushes the next bytes of the stream, calling `on_item` for each event, `retry:` and comment
    /// line completed by them.
    pub fn feed(
        &mut self,
        chunk: &[u8],
        mut on_item: impl FnMut(Item<'_>),
    ) -> Result<(), ParseError> {
        if let Some(err) = &self.failed {
            return Err(err.clone());
        }
        let result = self.feed_inner(chunk, &mut on_item);
        if let Err(err) = &result {
            self.failed = Some(err.clone());
        }
        result
    }

    /// End of stream. Discards a partial line and an event that has not been dispatched, and
    /// returns true if there was one; then prepares for a new stream like
    /// [`reset_stream`](Self::reset_stream).
    pub fn finish(&mut self) -> bool {
        let partial_bom = !self.bom_checked && self.bom_seen > 0;
        let discarded = partial_bom || !self.line.is_empty() || self.event_started;
        self.reset_stream();
        discarded
    }

    /// Prepares for a new connection: drops any partial line, data and event type, expects a BOM
    /// again, and keeps the last event id and the reconnection time.
    pub fn reset_stream(&mut self) {
        self.line.clear();
        self.data.clear();
        self.event_type.clear();
        self.id_buffer.clear();
        self.id_pending = false;
        self.event_started = false;
        self.last_was_cr = false;
        self.bom_checked = false;
        self.bom_seen = 0;
        self.failed = None;
    }

    /// The last event id: the value of the last `id:` line of a dispatched (or empty) event.
    pub fn last_event_id(&self) -> &str {
        &self.last_event_id
    }

    /// The reconnection time in milliseconds set by the last valid `retry:` line, if any.
    pub fn reconnection_time(&self) -> Option<u64> {
        self.reconnection_time
    }

    fn feed_inner(
        &mut self,
        chunk: &[u8],
        on_item: &mut impl FnMut(Item<'_>),
    ) -> Result<(), ParseError> {
        let mut rest = chunk;
        if !self.bom_checked {
            rest = self.skip_bom(rest);
            if !self.bom_checked {
                return Ok(()); // all of it was a BOM prefix so far
            }
        }
        if rest.is_empty() {
            return Ok(());
        }
        if self.last_was_cr {
            self.last_was_cr = false;
            if rest[0] == b'\n' {
                rest = &rest[1..];
            }
        }

        // A line that started in an earlier chunk.
        if !self.line.is_empty() {
            match memchr::memchr2(b'\r', b'\n', rest) {
                None => {
                    self.check_line_len(self.line.len() + rest.len())?;
                    self.line.extend_from_slice(rest);
                    return Ok(());
                }
                Some(end) => {
                    self.check_line_len(self.line.len() + end)?;
                    self.line.extend_from_slice(&rest[..end]);
                    let line = mem::take(&mut self.line);
                    let result = self.process_line(&line, on_item);
                    self.line = line;
                    self.line.clear();
                    result?;
                    rest = self.after_line_end(rest, end);
                }
            }
        }

        // Whole lines, straight from the chunk.
        while let Some(end) = memchr::memchr2(b'\r', b'\n', rest) {
            self.check_line_len(end)?;
            self.process_line(&rest[..end], on_item)?;
            rest = self.after_line_end(rest, end);
        }

        // The start of a line that ends in a later chunk.
        if !rest.is_empty() {
            self.check_line_len(rest.len())?;
            self.line.extend_from_slice(rest);
        }
        Ok(())
    }

    /// Consumes the BOM (or the part of it seen so far) at the start of a stream. Sets
    /// `bom_checked` once the question is settled; if the bytes turned out not to be a BOM, the
    /// prefix that matched starts the first line.
    fn skip_bom<'c>(&mut self, chunk: &'c [u8]) -> &'c [u8] {
        let mut rest = chunk;
        while let Some((&b, tail)) = rest.split_first() {
            if b != BOM[usize::from(self.bom_seen)] {
                let seen = usize::from(self.bom_seen);
                self.line.extend_from_slice(&BOM[..seen]);
                self.bom_checked = true;
                return rest;
            }
            rest = tail;
            self.bom_seen += 1;
            if usize::from(self.bom_seen) == BOM.len() {
                self.bom_checked = true;
                return rest;
            }
        }
        rest
    }

    /// The bytes after the line ending that starts at `rest[end]` (a CR or an LF).
    #[inline]
    fn after_line_end<'c>(&mut self, rest: &'c [u8], end: usize) -> &'c [u8] {
        let next = end + 1;
        if rest[end] == b'\r' {
            match rest.get(next) {
                Some(b'\n') => return &rest[next + 1..],
                None => self.last_was_cr = true,
                Some(_) => {}
            }
        }
        &rest[next..]
    }

    #[inline]
    fn check_line_len(&self, len: usize) -> Result<(), ParseError> {
        if len > self.limits.max_line_bytes {
            Err(ParseError::LineTooLong {
                limit: self.limits.max_line_bytes,
            })
        } else {
            Ok(())
        }
    }

    /// Interprets one complete line (without its line ending).
    #[inline]
    fn process_line(
        &mut self,
        line: &[u8],
        on_item: &mut impl FnMut(Item<'_>),
    ) -> Result<(), ParseError> {
        let Some(&first) = line.first() else {
            self.dispatch(on_item);
            return Ok(());
        };
        if first == b':' {
            let text = strip_one_space(&line[1..]);
            match std::str::from_utf8(text) {
                Ok(text) => on_item(Item::Comment(text)),
                Err(_) => {
                    self.scratch.clear();
                    push_lossy(&mut self.scratch, text);
                    on_item(Item::Comment(&self.scratch));
                }
            }
            return Ok(());
        }
        let (field, value) = match memchr::memchr(b':', line) {
            Some(colon) => (&line[..colon], strip_one_space(&line[colon + 1..])),
            None => (line, &[][..]),
        };
        match field {
            b"data" => {
                push_lossy(&mut self.data, value);
                self.data.push('\n');
                self.event_started = true;
                // The data as dispatched excludes the final LF.
                if self.data.len() - 1 > self.limits.max_event_bytes {
                    return Err(ParseError::EventTooLarge {
                        limit: self.limits.max_event_bytes,
                    });
                }
            }
            b"event" => {
                self.event_type.clear();
                push_lossy(&mut self.event_type, value);
                self.event_started = true;
            }
            // A value containing U+0000 leaves the id buffer alone.
            b"id" if memchr::memchr(0, value).is_none() => {
                self.id_buffer.clear();
                push_lossy(&mut self.id_buffer, value);
                self.id_pending = true;
                self.event_started = true;
            }
            b"retry" => {
                if let Some(ms) = parse_retry(value) {
                    self.reconnection_time = Some(ms);
                    on_item(Item::Retry(ms));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// An empty line: commits the id buffer and fires the event, if it has data.
    fn dispatch(&mut self, on_item: &mut impl FnMut(Item<'_>)) {
        if self.id_pending {
            // The old value left in `id_buffer` is never read: it is overwritten by the next `id`
            // line before `id_pending` is set again.
            mem::swap(&mut self.id_buffer, &mut self.last_event_id);
            self.id_pending = false;
        }
        self.event_started = false;
        if !self.data.is_empty() {
            // The data buffer always ends in the LF its last `data` line appended.
            self.data.pop();
            let event_type = if self.event_type.is_empty() {
                "message"
            } else {
                &self.event_type
            };
            on_item(Item::Event(EventRef {
                event_type,
                data: &self.data,
                last_event_id: &self.last_event_id,
            }));
            self.data.clear();
        }
        self.event_type.clear();
    }
}

#[inline]
fn strip_one_space(value: &[u8]) -> &[u8] {
    match value.split_first() {
        Some((b' ', rest)) => rest,
        _ => value,
    }
}

/// Appends `bytes` decoded as UTF-8, with U+FFFD for each maximal invalid sequence (the same text
/// as `String::from_utf8_lossy`, without allocating).
#[inline]
fn push_lossy(out: &mut String, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(text) => out.push_str(text),
        Err(_) => push_lossy_slow(out, bytes),
    }
}

#[cold]
fn push_lossy_slow(out: &mut String, bytes: &[u8]) {
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        if !chunk.invalid().is_empty() {
            out.push(char::REPLACEMENT_CHARACTER);
        }
    }
}

/// A `retry` value: non-empty ASCII digits that fit a `u64`.
fn parse_retry(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |acc, &b| {
        if b.is_ascii_digit() {
            acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests;
