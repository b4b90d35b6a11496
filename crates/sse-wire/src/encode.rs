//! Encoding events as a server writes them onto the wire.
//!
//! Every line ends in LF. Multi-line data becomes one `data:` line per line (CR, LF and CRLF in the
//! input all split lines, since the parser would split on them too). A field value never needs
//! escaping, but `id` and `event` cannot hold line breaks: the encoder replaces them with spaces
//! rather than emit a stream that parses differently from what the caller meant.

/// One event to send. Fields left as `None` are not written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Event<'a> {
    /// The `id:` field (sets the client's last event id).
    pub id: Option<&'a str>,
    /// The `event:` field (the event type; clients default to `message`).
    pub event: Option<&'a str>,
    /// The data; may contain line breaks, each of which starts a new `data:` line.
    pub data: &'a str,
    /// A `retry:` line (the client's reconnection delay in milliseconds).
    pub retry: Option<u64>,
}

impl Event<'_> {
    /// Appends the encoded event, including its terminating blank line, to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        if let Some(retry) = self.retry {
            encode_retry(retry, out);
        }
        if let Some(id) = self.id {
            single_line_field(b"id", id, out);
        }
        if let Some(event) = self.event {
            single_line_field(b"event", event, out);
        }
        for line in split_lines(self.data) {
            out.extend_from_slice(b"data: ");
            out.extend_from_slice(line.as_bytes());
            out.push(b'\n');
        }
        out.push(b'\n');
    }

    /// The encoded event as a new buffer.
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data.len() + 32);
        self.encode_into(&mut out);
        out
    }
}

/// Appends a comment line (`: text`); a heartbeat is a comment. Line breaks in `text` start new
/// comment lines.
pub fn encode_comment(text: &str, out: &mut Vec<u8>) {
    for line in split_lines(text) {
        out.extend_from_slice(b": ");
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
}

/// Appends a lone `retry: MS` line. It takes effect at the client without dispatching an event.
pub fn encode_retry(ms: u64, out: &mut Vec<u8>) {
    out.extend_from_slice(b"retry: ");
    out.extend_from_slice(ms.to_string().as_bytes());
    out.push(b'\n');
}

fn single_line_field(name: &[u8], value: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(name);
    out.extend_from_slice(b": ");
    let start = out.len();
    out.extend_from_slice(value.as_bytes());
    for b in &mut out[start..] {
        if *b == b'\r' || *b == b'\n' {
            *b = b' ';
        }
    }
    out.push(b'\n');
}

/// Splits on CRLF, LF or CR, as the parser does. An empty string is one empty line.
fn split_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = Some(text);
    std::iter::from_fn(move || {
        let s = rest?;
        // Bytes, not chars: CR and LF are ASCII, so their byte offsets are char boundaries.
        match memchr::memchr2(b'\r', b'\n', s.as_bytes()) {
            None => {
                rest = None;
                Some(s)
            }
            Some(i) => {
                let skip = if s[i..].starts_with("\r\n") { 2 } else { 1 };
                rest = Some(&s[i + skip..]);
                Some(&s[..i])
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_event() {
        let e = Event {
            id: Some("7"),
            event: Some("tick"),
            data: "a\nb\r\nc\rd",
            retry: Some(3000),
        };
        assert_eq!(
            String::from_utf8(e.to_vec()).unwrap(),
            "retry: 3000\nid: 7\nevent: tick\ndata: a\ndata: b\ndata: c\ndata: d\n\n"
        );
    }

    #[test]
    fn empty_data_is_one_empty_line_and_ids_lose_line_breaks() {
        let e = Event {
            id: Some("a\nb"),
            ..Event::default()
        };
        assert_eq!(
            String::from_utf8(e.to_vec()).unwrap(),
            "id: a b\ndata: \n\n"
        );
    }

    #[test]
    fn comments_and_retry() {
        let mut out = Vec::new();
        encode_comment("hb\nx", &mut out);
        encode_retry(15, &mut out);
        assert_eq!(String::from_utf8(out).unwrap(), ": hb\n: x\nretry: 15\n");
    }
}
