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
//! and costs no allocation on the client's hot path.

use std::time::{SystemTime, UNIX_EPOCH};

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
    find_number_after(data, SENT_NS_KEY)
}

/// The POST token in an event's data, if present.
pub fn find_token(data: &str) -> Option<u64> {
    find_number_after(data, TOKEN_KEY)
}

fn find_number_after(data: &str, key: &str) -> Option<u64> {
    let at = memchr::memmem::find(data.as_bytes(), key.as_bytes())? + key.len();
    let digits = &data.as_bytes()[at..];
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
    }
}
