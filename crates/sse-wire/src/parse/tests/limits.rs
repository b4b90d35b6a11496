//! The parser's limits (bounded memory whatever the input) and lossy UTF-8 decoding.

#![allow(clippy::unwrap_used)]

use super::*;

// ---------------------------------------------------------------------------------------------
// Limits

#[test]
fn stream_without_newline_hits_the_line_limit_with_bounded_memory() {
    let limits = Limits {
        max_line_bytes: 4096,
        max_event_bytes: 1 << 20,
    };
    let mut p = Parser::with_limits(limits);
    let chunk = [b'a'; 1000];
    let mut fed = 0;
    let err = loop {
        match p.feed(&chunk, |_| panic!("no item expected")) {
            Ok(()) => fed += chunk.len(),
            Err(e) => break e,
        }
        assert!(fed <= 4096, "no error after {fed} bytes");
    };
    assert_eq!(err, ParseError::LineTooLong { limit: 4096 });
    assert_eq!(fed, 4000);
    assert!(
        p.line.capacity() <= 2 * 4096,
        "line buffer grew to {}",
        p.line.capacity()
    );
    // The error sticks until the stream is reset.
    assert_eq!(
        p.feed(b"\n", |_| {}),
        Err(ParseError::LineTooLong { limit: 4096 })
    );
    p.reset_stream();
    let mut got = Vec::new();
    p.feed(b"data: ok\n\n", |i| got.push(Owned::from(i)))
        .unwrap();
    assert_eq!(got, vec![ev("message", "ok", "")]);
}

#[test]
fn line_limit_counts_the_line_without_its_ending_whatever_the_split() {
    let limits = Limits {
        max_line_bytes: 10,
        max_event_bytes: 100,
    };
    let ok = b"data: 1234\r\n\r\n"; // the line is exactly 10 bytes
    let long = b"data: 12345\r\n\r\n";
    for cut in 0..=ok.len() {
        let mut p = Parser::with_limits(limits);
        let mut got = Vec::new();
        p.feed(&ok[..cut], |i| got.push(Owned::from(i))).unwrap();
        p.feed(&ok[cut..], |i| got.push(Owned::from(i))).unwrap();
        assert_eq!(got, vec![ev("message", "1234", "")]);
    }
    for cut in 0..=long.len() {
        let mut p = Parser::with_limits(limits);
        let r = p
            .feed(&long[..cut], |_| {})
            .and_then(|()| p.feed(&long[cut..], |_| {}));
        assert_eq!(
            r,
            Err(ParseError::LineTooLong { limit: 10 }),
            "cut at {cut}"
        );
    }
    // A single chunk holding a complete long line fails too.
    let mut p = Parser::with_limits(limits);
    assert_eq!(
        p.feed(b": a comment that is far too long\n", |_| {}),
        Err(ParseError::LineTooLong { limit: 10 })
    );
}

#[test]
fn huge_event_hits_the_event_limit() {
    let limits = Limits {
        max_line_bytes: 1 << 10,
        max_event_bytes: 100,
    };
    let mut p = Parser::with_limits(limits);
    let line = b"data: 0123456789\n"; // 11 bytes of data buffer each
    let mut lines = 0;
    let err = loop {
        match p.feed(line, |_| panic!("no item expected")) {
            Ok(()) => lines += 1,
            Err(e) => break e,
        }
        assert!(lines < 100, "no error after {lines} lines");
    };
    assert_eq!(err, ParseError::EventTooLarge { limit: 100 });
    // 9 lines: 98 bytes of data once the final LF is stripped; the 10th would make 109.
    assert_eq!(lines, 9);
    assert!(p.data.capacity() <= 2 * 128);
    assert_eq!(
        p.feed(b"\n", |_| {}),
        Err(ParseError::EventTooLarge { limit: 100 })
    );
    p.reset_stream();
    let mut got = Vec::new();
    p.feed(b"data: ok\n\n", |i| got.push(Owned::from(i)))
        .unwrap();
    assert_eq!(got, vec![ev("message", "ok", "")]);
}

#[test]
fn event_exactly_at_the_limit_is_accepted() {
    let limits = Limits {
        max_line_bytes: 1 << 10,
        max_event_bytes: 10,
    };
    let mut p = Parser::with_limits(limits);
    let mut got = Vec::new();
    // "0123\n01234" is 10 bytes.
    p.feed(b"data: 0123\ndata: 01234\n\n", |i| got.push(Owned::from(i)))
        .unwrap();
    assert_eq!(got, vec![ev("message", "0123\n01234", "")]);
    assert_eq!(
        p.feed(b"data: 0123456789a\n", |_| {}),
        Err(ParseError::EventTooLarge { limit: 10 })
    );
}

#[test]
fn errors_display() {
    assert_eq!(
        ParseError::LineTooLong { limit: 3 }.to_string(),
        "event-stream line longer than 3 bytes"
    );
    assert_eq!(
        ParseError::EventTooLarge { limit: 4 }.to_string(),
        "event-stream event larger than 4 bytes"
    );
}

// ---------------------------------------------------------------------------------------------
// UTF-8

#[test]
fn invalid_utf8_is_decoded_lossily_everywhere() {
    let r =
        run(b"id: i\xFFd\nevent: t\xC3\nretry: 1\xFF\n: c\xE2\x82\ndata: a\xFFb\xF0\x9F\x98\n\n");
    assert_eq!(
        r.items,
        vec![
            comment("c\u{FFFD}"),
            ev("t\u{FFFD}", "a\u{FFFD}b\u{FFFD}", "i\u{FFFD}d")
        ]
    );
    assert_eq!(r.reconnection_time, None);
}

#[test]
fn lossy_decoding_matches_decoding_the_whole_stream() {
    // A truncated sequence right before a line ending is one U+FFFD, and the line still ends.
    let stream = b"data: \xE2\x82\ndata: \xE2\x82\xAC\xFF\xFE\n\n";
    let whole = String::from_utf8_lossy(stream);
    let want: Vec<&str> = whole
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .collect();
    assert_eq!(items(stream), vec![ev("message", &want.join("\n"), "")]);
    assert_eq!(want, ["\u{FFFD}", "\u{20AC}\u{FFFD}\u{FFFD}"]);
}

#[test]
fn multibyte_characters_split_across_feeds() {
    let stream = "data: é€😀\n\n".as_bytes();
    for cut in 0..=stream.len() {
        let r = run_split(stream, &[cut]);
        assert_eq!(r.items, vec![ev("message", "é€😀", "")], "cut at {cut}");
    }
}

#[test]
fn valid_non_ascii_passes_through() {
    assert_eq!(
        items("event: é\nid: ü\n: ☃\ndata: 日本\n\n".as_bytes()),
        vec![comment("☃"), ev("é", "日本", "ü")]
    );
}
