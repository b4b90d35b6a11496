//! Conventions that ssebench's server and load generator share inside event data.
//!
//! - A `tick` event's data is a small JSON object carrying the server's send instant in nanoseconds
//!   since the Unix epoch: `{"seq":12,"sent_ns":1732380000123456789,"pad":"xxxx"}`. The client on the
//!   same host subtracts it from its own clock when it parses the event (`event_delivery`).
//! - A POST body carries a unique token: `{"ssebench_token":42,"pad":"xxxx"}`. Any server that
//!   echoes the body inside an event's data (the chat pattern) lets the client match the event to
//!   the POST and time the fan-out, even a server we did not write.
//!
//! Readers search for the key rather than parse JSON: that works whatever the surrounding text is
//! and costs no allocation on the client's hot path. A server we did not write may stamp its events
//! under another field and unit (`"sent_us":...`, `"ts_ms":...`): [`SendStamp`] names them.

use std::sync::LazyLock;
use std::time::{SystemTime, UNIX_EPOCH};

use memchr::memmem::Finder;

const SENT_NS_KEY: &str = "\"sent_ns\":";
const TOKEN_KEY: &str = "\"ssebench_token\":";

/// Now, in nanoseconds since the Unix epoch (0 if the clock is before 1970).
pub fn now_unix_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// Writes a tick's data, padded with `x` so that the data is at least `size` bytes long.
pub fn write_tick_data(seq: u64, sent_ns: u64, size: usize, out: &mut String) {
    use std::fmt::Write;
    let start = out.len();
    let _ = write!(out, "{{\"seq\":{seq},{SENT_NS_KEY}{sent_ns},\"pad\":\"");
    pad_and_close(out, start, size);
}

/// Writes a POST body carrying `token`, padded with `x` to at least `size` bytes.
pub fn write_post_body(token: u64, size: usize, out: &mut String) {
    use std::fmt::Write;
    let start = out.len();
    let _ = write!(out, "{{{TOKEN_KEY}{token},\"pad\":\"");
    pad_and_close(out, start, size);
}

fn pad_and_close(out: &mut String, start: usize, size: usize) {
    let used = out.len() - start + 2; // the closing `"}`
    for _ in used..size {
        out.push('x');
    }
    out.push_str("\"}");
}

/// The server send instant in a tick's data, if present.
pub fn find_sent_ns(data: &str) -> Option<u64> {
    static SENT_NS: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(SENT_NS_KEY));
    find_number_after(data, &SENT_NS)
}

/// The unit of a send stamp, since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StampUnit {
    Ns,
    Us,
    Ms,
    S,
}

impl StampUnit {
    /// Nanoseconds in one unit.
    fn ns(self) -> u64 {
        match self {
            StampUnit::Ns => 1,
            StampUnit::Us => 1_000,
            StampUnit::Ms => 1_000_000,
            StampUnit::S => 1_000_000_000,
        }
    }

    /// The unit named `ns`, `us`, `ms` or `s`.
    pub fn parse(name: &str) -> Option<StampUnit> {
        match name {
            "ns" => Some(StampUnit::Ns),
            "us" => Some(StampUnit::Us),
            "ms" => Some(StampUnit::Ms),
            "s" => Some(StampUnit::S),
            _ => None,
        }
    }
}

/// Where a server writes the instant it sent an event: an integer field of the event's data and
/// its unit since the Unix epoch. ssebench's server writes `"sent_ns"` in nanoseconds.
#[derive(Debug, Clone)]
pub struct SendStamp {
    /// The search for `"FIELD":`, built once: `memmem::find` builds one per call, which cost the
    /// client more than the search itself (2.5 % of its CPU on HTTP/1.1 at 1,000 events/s a
    /// stream, `perf record`).
    finder: Finder<'static>,
    unit: StampUnit,
}

impl PartialEq for SendStamp {
    fn eq(&self, other: &SendStamp) -> bool {
        (self.finder.needle(), self.unit) == (other.finder.needle(), other.unit)
    }
}

impl Eq for SendStamp {}

impl Default for SendStamp {
    /// ssebench's own: `"sent_ns"`, nanoseconds.
    fn default() -> Self {
        SendStamp::new("sent_ns", StampUnit::Ns)
    }
}

impl SendStamp {
    /// The stamp in field `field` (a JSON key, without quotes), in `unit`.
    pub fn new(field: &str, unit: StampUnit) -> SendStamp {
        SendStamp {
            finder: Finder::new(&format!("\"{field}\":")).into_owned(),
            unit,
        }
    }

    /// The send instant in `data`, in nanoseconds since the Unix epoch, if the field is there.
    pub fn find_ns(&self, data: &str) -> Option<u64> {
        find_number_after(data, &self.finder)?.checked_mul(self.unit.ns())
    }
}

/// The POST token in an event's data, if present.
pub fn find_token(data: &str) -> Option<u64> {
    static TOKEN: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(TOKEN_KEY));
    find_number_after(data, &TOKEN)
}

/// The integer after `key` (a `"FIELD":` finder) in `data`.
fn find_number_after(data: &str, key: &Finder<'_>) -> Option<u64> {
    let at = key.find(data.as_bytes())? + key.needle().len();
    let after = &data.as_bytes()[at..];
    // JSON allows whitespace after the colon.
    let spaces = after.iter().take_while(|b| b.is_ascii_whitespace()).count();
    let digits = &after[spaces..];
    let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&digits[..len]).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_round_trip_and_size() {
        let mut s = String::new();
        write_tick_data(3, 1_700_000_000_000_000_123, 100, &mut s);
        assert_eq!(s.len(), 100);
        assert_eq!(find_sent_ns(&s), Some(1_700_000_000_000_000_123));
        assert_eq!(find_token(&s), None);
    }

    #[test]
    fn token_round_trip_inside_other_text() {
        let mut s = String::from("alice says: ");
        write_post_body(42, 10, &mut s);
        assert_eq!(find_token(&s), Some(42));
        assert!(s.ends_with("\"}"));
        assert_eq!(find_token("{\"ssebench_token\":}"), None);
        assert_eq!(find_token("{\"ssebench_token\": 7}"), Some(7));
    }

    #[test]
    fn stamps_of_other_servers() {
        let micros = SendStamp::new("sent_us", StampUnit::Us);
        assert_eq!(
            micros.find_ns("{\"id\":1, \"sent_us\": 1700000000000001}"),
            Some(1_700_000_000_000_001_000)
        );
        assert_eq!(micros.find_ns("{\"sent_ns\":5}"), None);
        let millis = SendStamp::new("ts", StampUnit::parse("ms").unwrap());
        assert_eq!(
            millis.find_ns("{\"ts\":1700000000000}"),
            Some(1_700_000_000_000_000_000)
        );
        assert_eq!(SendStamp::default().find_ns("{\"sent_ns\":42}"), Some(42));
        assert_eq!(
            SendStamp::new("s", StampUnit::S).find_ns("{\"s\":99999999999999999}"),
            None,
            "overflow is no stamp, not a wrong one"
        );
        assert_eq!(StampUnit::parse("min"), None);
    }
}
