//! Tests for the push parser: one per rule, split invariance at every index, and property tests
//! against a straightforward reference parser and against the encoder.

#![allow(clippy::unwrap_used)]

use super::*;
use crate::encode;
use proptest::prelude::*;

use crate::owned::{OwnedEvent, OwnedItem as Owned};

fn ev(event_type: &str, data: &str, id: &str) -> Owned {
    Owned::Event(OwnedEvent {
        event_type: event_type.to_owned(),
        data: data.to_owned(),
        id: id.to_owned(),
    })
}

fn comment(text: &str) -> Owned {
    Owned::Comment(text.to_owned())
}

/// Everything one run reports: the items, what `finish` returned, and the state it left.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Run {
    items: Vec<Owned>,
    discarded: bool,
    last_event_id: String,
    reconnection_time: Option<u64>,
}

fn feed_all(p: &mut Parser, chunks: &[&[u8]], items: &mut Vec<Owned>) {
    for chunk in chunks {
        p.feed(chunk, |item| items.push(item.into())).unwrap();
    }
}

fn run_chunks(chunks: &[&[u8]]) -> Run {
    let mut p = Parser::new();
    let mut items = Vec::new();
    feed_all(&mut p, chunks, &mut items);
    let discarded = p.finish();
    Run {
        items,
        discarded,
        last_event_id: p.last_event_id().to_owned(),
        reconnection_time: p.reconnection_time(),
    }
}

fn run(stream: &[u8]) -> Run {
    run_chunks(&[stream])
}

fn items(stream: &[u8]) -> Vec<Owned> {
    run(stream).items
}

/// Feeds `stream` cut at the given (sorted) indices.
fn run_split(stream: &[u8], cuts: &[usize]) -> Run {
    let mut chunks = Vec::new();
    let mut start = 0;
    for &cut in cuts {
        chunks.push(&stream[start..cut]);
        start = cut;
    }
    chunks.push(&stream[start..]);
    run_chunks(&chunks)
}

// ---------------------------------------------------------------------------------------------
// Line endings

#[test]
fn lf_cr_crlf_and_mixed_line_endings() {
    let want = vec![ev("message", "a\nb", "")];
    assert_eq!(items(b"data: a\ndata: b\n\n"), want);
    assert_eq!(items(b"data: a\rdata: b\r\r"), want);
    assert_eq!(items(b"data: a\r\ndata: b\r\n\r\n"), want);
    assert_eq!(items(b"data: a\rdata: b\r\n\n"), want);
    assert_eq!(items(b"data: a\r\ndata: b\n\r"), want);
    // LF CR is two line endings, so it dispatches.
    assert_eq!(
        items(b"data: a\n\rdata: b\n\n"),
        vec![ev("message", "a", ""), ev("message", "b", "")]
    );
}

#[test]
fn crlf_split_across_feeds_is_one_line_ending() {
    let r = run_chunks(&[b"data: a\r", b"\ndata: b\r", b"\n", b"\r", b"\n"]);
    assert_eq!(r.items, vec![ev("message", "a\nb", "")]);
    assert!(!r.discarded);
}

#[test]
fn cr_at_chunk_end_then_cr_is_two_line_endings() {
    let r = run_chunks(&[b"data: a\r", b"\rdata: b\n\n"]);
    assert_eq!(
        r.items,
        vec![ev("message", "a", ""), ev("message", "b", "")]
    );
}

#[test]
fn cr_flag_survives_empty_feeds_and_only_skips_one_lf() {
    let r = run_chunks(&[b"data: a\r", b"", b"\n", b"\n"]);
    assert_eq!(r.items, vec![ev("message", "a", "")]);
}

#[test]
fn cr_at_end_of_stream_ends_the_line() {
    let r = run(b"data: a\r\r");
    assert_eq!(r.items, vec![ev("message", "a", "")]);
    assert!(!r.discarded);
}

// ---------------------------------------------------------------------------------------------
// BOM

#[test]
fn leading_bom_is_skipped() {
    assert_eq!(
        items(b"\xEF\xBB\xBFdata: a\n\n"),
        vec![ev("message", "a", "")]
    );
}

#[test]
fn bom_split_across_feeds_is_skipped() {
    let r = run_chunks(&[b"\xEF", b"\xBB", b"\xBF", b"data: a\n\n"]);
    assert_eq!(r.items, vec![ev("message", "a", "")]);
    let r = run_chunks(&[b"\xEF\xBB", b"\xBFdata: a\n\n"]);
    assert_eq!(r.items, vec![ev("message", "a", "")]);
    let r = run_chunks(&[b"\xEF", b"\xBB\xBF:c\n"]);
    assert_eq!(r.items, vec![comment("c")]);
}

#[test]
fn second_bom_is_content() {
    // The second BOM is part of the first line's field name, so `data` is not recognised.
    assert_eq!(items(b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\n"), vec![]);
    // A BOM inside a value is kept as U+FEFF.
    assert_eq!(
        items(b"\xEF\xBB\xBF:\xEF\xBB\xBFx\n"),
        vec![comment("\u{feff}x")]
    );
    // Only at the start of the stream: not after a line.
    assert_eq!(items(b":a\n\xEF\xBB\xBF:b\n"), vec![comment("a")]);
}

#[test]
fn bom_prefix_that_is_not_a_bom_is_content() {
    // EF BB followed by something else: those bytes start the first line (field "\u{FFFD}data").
    assert_eq!(
        items(b"\xEF\xBBdata: a\n\ndata: b\n\n"),
        vec![ev("message", "b", "")]
    );
    assert_eq!(items(b"\xEF:c\n"), vec![]);
    // An EF alone at the end of the stream is an unterminated line.
    assert!(run(b"\xEF").discarded);
    assert!(run(b"\xEF\xBB").discarded);
    assert!(!run(b"\xEF\xBB\xBF").discarded);
    // Split, the prefix still lands in the first line.
    let r = run_chunks(&[b"\xEF", b"\xBB", b"\n:c\n"]);
    assert_eq!(r.items, vec![comment("c")]);
}

#[test]
fn bom_is_expected_again_after_reset_and_finish() {
    let mut p = Parser::new();
    let mut got = Vec::new();
    feed_all(&mut p, &[b"\xEF\xBB\xBF:a\n"], &mut got);
    p.reset_stream();
    feed_all(&mut p, &[b"\xEF\xBB", b"\xBF:b\n"], &mut got);
    assert!(!p.finish());
    feed_all(&mut p, &[b"\xEF\xBB\xBF:c\n"], &mut got);
    assert_eq!(got, vec![comment("a"), comment("b"), comment("c")]);
}

// ---------------------------------------------------------------------------------------------
// Comments and fields

#[test]
fn comments_strip_the_colon_and_one_space() {
    assert_eq!(
        items(b": hello\n:hello\n:  two\n:\n: \n::x\n"),
        vec![
            comment("hello"),
            comment("hello"),
            comment(" two"),
            comment(""),
            comment(""),
            comment(":x"),
        ]
    );
}

#[test]
fn comments_do_not_dispatch_or_disturb_an_event() {
    assert_eq!(
        items(b"data: a\n: hb\ndata: b\n\n"),
        vec![comment("hb"), ev("message", "a\nb", "")]
    );
}

#[test]
fn field_without_colon_has_an_empty_value() {
    assert_eq!(items(b"data\n\n"), vec![ev("message", "", "")]);
    assert_eq!(items(b"data\ndata\n\n"), vec![ev("message", "\n", "")]);
    assert_eq!(items(b"data: a\ndata\n\n"), vec![ev("message", "a\n", "")]);
}

#[test]
fn value_loses_exactly_one_leading_space() {
    assert_eq!(items(b"data:x\n\n"), vec![ev("message", "x", "")]);
    assert_eq!(items(b"data: x\n\n"), vec![ev("message", "x", "")]);
    assert_eq!(items(b"data:  x\n\n"), vec![ev("message", " x", "")]);
    assert_eq!(items(b"data:\tx\n\n"), vec![ev("message", "\tx", "")]);
    assert_eq!(items(b"data: x \n\n"), vec![ev("message", "x ", "")]);
}

#[test]
fn only_the_first_colon_splits() {
    assert_eq!(
        items(b"data: {\"a\":1}\nevent: x:y\n\n"),
        vec![ev("x:y", "{\"a\":1}", "")]
    );
}

#[test]
fn event_type_is_set_and_resets_after_dispatch() {
    assert_eq!(
        items(b"event: tick\ndata: 1\n\ndata: 2\n\n"),
        vec![ev("tick", "1", ""), ev("message", "2", "")]
    );
    // The last `event` line wins; an empty one means `message`.
    assert_eq!(
        items(b"event: a\nevent: b\ndata: 1\n\nevent: a\nevent\ndata: 2\n\n"),
        vec![ev("b", "1", ""), ev("message", "2", "")]
    );
}

#[test]
fn empty_data_buffer_dispatches_nothing_and_resets_event_type() {
    assert_eq!(items(b"\n\n\n"), vec![]);
    assert_eq!(
        items(b"event: x\n\ndata: a\n\n"),
        vec![ev("message", "a", "")]
    );
    assert_eq!(items(b"retry: 5\n\n"), vec![Owned::Retry(5)]);
}

#[test]
fn unknown_fields_and_other_cases_are_ignored() {
    let r = run(b"foo: bar\nData: x\nDATA: y\nEvent: e\nID: 9\nRetry: 7\ndata : z\n retry: 3\n\n");
    assert_eq!(r.items, vec![]);
    assert_eq!(r.last_event_id, "");
    assert_eq!(r.reconnection_time, None);
    assert_eq!(
        items(b"data: a\nfoo\nidx: 1\ndata: b\n\n"),
        vec![ev("message", "a\nb", "")]
    );
}

// ---------------------------------------------------------------------------------------------
// id

#[test]
fn id_persists_across_events() {
    let r = run(b"id: 1\ndata: a\n\ndata: b\n\nid: 2\ndata: c\n\n");
    assert_eq!(
        r.items,
        vec![
            ev("message", "a", "1"),
            ev("message", "b", "1"),
            ev("message", "c", "2")
        ]
    );
    assert_eq!(r.last_event_id, "2");
}

#[test]
fn empty_id_resets_it() {
    let r = run(b"id: 1\ndata: a\n\nid\ndata: b\n\nid: 3\n\nid:\ndata: c\n\n");
    assert_eq!(
        r.items,
        vec![
            ev("message", "a", "1"),
            ev("message", "b", ""),
            ev("message", "c", "")
        ]
    );
    assert_eq!(r.last_event_id, "");
}

#[test]
fn id_with_nul_is_ignored() {
    let r = run(b"id: 1\ndata: a\n\nid: x\0y\ndata: b\n\nid: \0\ndata: c\n\n");
    assert_eq!(
        r.items,
        vec![
            ev("message", "a", "1"),
            ev("message", "b", "1"),
            ev("message", "c", "1")
        ]
    );
    assert_eq!(r.last_event_id, "1");
}

#[test]
fn id_commits_at_an_empty_line_even_without_data() {
    let r = run(b"id: 7\n\ndata: a\n\n");
    assert_eq!(r.items, vec![ev("message", "a", "7")]);
    assert_eq!(r.last_event_id, "7");
}

#[test]
fn id_of_an_unterminated_event_never_becomes_the_last_event_id() {
    let mut p = Parser::new();
    let mut got = Vec::new();
    feed_all(&mut p, &[b"id: 1\ndata: a\n\nid: 2\ndata: b\n"], &mut got);
    assert_eq!(p.last_event_id(), "1");
    assert!(p.finish());
    assert_eq!(p.last_event_id(), "1");
    // The next stream starts from the committed id, not the discarded one.
    feed_all(&mut p, &[b"data: c\n\n"], &mut got);
    assert_eq!(got, vec![ev("message", "a", "1"), ev("message", "c", "1")]);
}

// ---------------------------------------------------------------------------------------------
// retry

#[test]
fn retry_accepts_only_non_empty_ascii_digits_that_fit() {
    let r = run(b"retry: 10\n\n");
    assert_eq!(r.items, vec![Owned::Retry(10)]);
    assert_eq!(r.reconnection_time, Some(10));

    for bad in [
        &b"retry:\n"[..],
        b"retry\n",
        b"retry: \n",
        b"retry:  5\n",
        b"retry: 5 \n",
        b"retry: 1x\n",
        b"retry: -1\n",
        b"retry: +1\n",
        b"retry: 1.5\n",
        b"retry: \xD9\xA3\n", // ARABIC-INDIC DIGIT THREE is not an ASCII digit
        b"retry: 18446744073709551616\n",
        b"retry: 99999999999999999999999\n",
    ] {
        let r = run(bad);
        assert_eq!(r.items, vec![], "{:?}", String::from_utf8_lossy(bad));
        assert_eq!(
            r.reconnection_time,
            None,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }

    let r = run(b"retry: 18446744073709551615\nretry:007\n");
    assert_eq!(r.items, vec![Owned::Retry(u64::MAX), Owned::Retry(7)]);
    assert_eq!(r.reconnection_time, Some(7));
}

#[test]
fn invalid_retry_keeps_the_previous_value_and_every_valid_line_reports() {
    let r = run(b"retry: 100\nretry: x\nretry: 100\n");
    assert_eq!(r.items, vec![Owned::Retry(100), Owned::Retry(100)]);
    assert_eq!(r.reconnection_time, Some(100));
}

// ---------------------------------------------------------------------------------------------
// End of stream, reset

#[test]
fn unterminated_event_is_discarded_at_end_of_stream() {
    let r = run(b"data: a\n\ndata: b\n");
    assert_eq!(r.items, vec![ev("message", "a", "")]);
    assert!(r.discarded);

    let r = run(b"data: a\n\ndata: b");
    assert_eq!(r.items, vec![ev("message", "a", "")]);
    assert!(r.discarded);

    let r = run(b"data: a\n\n: trailing comment without newline");
    assert_eq!(r.items, vec![ev("message", "a", "")]);
    assert!(r.discarded);

    let r = run(b"event: x\n");
    assert!(r.discarded);
    let r = run(b"id: 1\n");
    assert!(r.discarded);
    assert_eq!(r.last_event_id, "");
}

#[test]
fn clean_end_of_stream_discards_nothing() {
    for stream in [
        &b""[..],
        b"data: a\n\n",
        b"data: a\n\n: hb\n",
        b"retry: 5\n",
        b"foo: bar\n",
        b"data: a\r\n\r\n",
    ] {
        assert!(
            !run(stream).discarded,
            "{:?}",
            String::from_utf8_lossy(stream)
        );
    }
}

#[test]
fn finish_prepares_for_a_new_stream() {
    let mut p = Parser::new();
    let mut got = Vec::new();
    feed_all(
        &mut p,
        &[b"id: 1\nretry: 9\nevent: e\ndata: a\n\ndata: lost\r"],
        &mut got,
    );
    assert!(p.finish());
    // No CR flag left over: the leading LF is an empty line (nothing buffered, so nothing fires).
    feed_all(&mut p, &[b"\ndata: b\n\n"], &mut got);
    assert_eq!(
        got,
        vec![Owned::Retry(9), ev("e", "a", "1"), ev("message", "b", "1")]
    );
    assert_eq!(p.reconnection_time(), Some(9));
    assert!(!p.finish());
}

#[test]
fn reset_stream_drops_partial_state_but_keeps_id_and_retry() {
    let mut p = Parser::new();
    let mut got = Vec::new();
    feed_all(
        &mut p,
        &[b"retry: 3000\nid: 5\ndata: a\n\nevent: x\nid: 6\ndata: part\ndata: half a li"],
        &mut got,
    );
    p.reset_stream();
    assert_eq!(p.last_event_id(), "5");
    assert_eq!(p.reconnection_time(), Some(3000));
    feed_all(&mut p, &[b"ne\n\ndata: b\n\n"], &mut got);
    assert_eq!(
        got,
        vec![
            Owned::Retry(3000),
            ev("message", "a", "5"),
            ev("message", "b", "5")
        ]
    );
}

#[test]
fn reset_stream_clears_the_cr_flag() {
    let mut p = Parser::new();
    let mut got = Vec::new();
    feed_all(&mut p, &[b"data: a\r"], &mut got);
    p.reset_stream();
    // Had the flag survived, this LF would be swallowed and "x" would be part of the event.
    feed_all(&mut p, &[b"\ndata: x\n\n"], &mut got);
    assert_eq!(got, vec![ev("message", "x", "")]);
}

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

// ---------------------------------------------------------------------------------------------
// Split invariance

const SAMPLES: &[&[u8]] = &[
    b"\xEF\xBB\xBFid: 1\r\nevent: tick\r\ndata: {\"seq\":1}\r\n\r\n",
    b"\xEF\xBB\xBF\xEF\xBB\xBFdata: a\n\ndata: b\n\n",
    b"\xEF\xBBdata: a\n\n:x\n",
    b"\xEF\n\xEF\xBB\xBF:c\r",
    b"data: a\rdata: b\r\rdata: c\r\n\r\ndata: d\n\r\n",
    b"data\ndata\n\ndata:\r\r:\r: x\r\n::\n",
    b"data:x\ndata:  y\ndata: z \n\n",
    b"id: 1\ndata: a\n\nid: a\0b\ndata: b\n\nid\ndata: c\n\nid: 9\n\n",
    b"retry: 10\nretry: x\nretry:\nretry: 18446744073709551616\nretry: 007\r\n",
    b"event: a\n\nevent: b\ndata: 1\n\ndata: 2\n\n",
    b"Data: x\nfoo: bar\nID: 3\ndata : y\n\n",
    b"data: \xE2\x82\xAC\xFF\xE2\x82\ndata: \xF0\x9F\x98\x80\n\n: \xC3\xA9\xC3\n",
    b"data: a\n\ndata: unterminated\n",
    b"data: a\n\ndata: partial line",
    b"\r\n\r\n\n\r\r\n",
    b"data: a\r\r\n\n\r\ndata: b\r\n\r",
];

#[test]
fn every_single_split_point_gives_the_same_items() {
    for sample in SAMPLES {
        let whole = run(sample);
        for cut in 0..=sample.len() {
            assert_eq!(
                run_split(sample, &[cut]),
                whole,
                "sample {:?} cut at {cut}",
                String::from_utf8_lossy(sample)
            );
        }
    }
}

#[test]
fn every_pair_of_split_points_gives_the_same_items() {
    for sample in SAMPLES {
        let whole = run(sample);
        for a in 0..=sample.len() {
            for b in a..=sample.len() {
                assert_eq!(
                    run_split(sample, &[a, b]),
                    whole,
                    "sample {:?} cut at {a} and {b}",
                    String::from_utf8_lossy(sample)
                );
            }
        }
    }
}

#[test]
fn one_byte_at_a_time_gives_the_same_items() {
    for sample in SAMPLES {
        let bytes: Vec<&[u8]> = sample.chunks(1).collect();
        assert_eq!(
            run_chunks(&bytes),
            run(sample),
            "sample {:?}",
            String::from_utf8_lossy(sample)
        );
    }
}

#[test]
fn samples_match_the_reference_parser() {
    for sample in SAMPLES {
        assert_eq!(
            run(sample),
            reference(sample),
            "sample {:?}",
            String::from_utf8_lossy(sample)
        );
    }
}

#[test]
fn a_few_samples_have_the_expected_items() {
    // Guards against the reference and the parser agreeing on something wrong.
    assert_eq!(run(SAMPLES[0]).items, vec![ev("tick", "{\"seq\":1}", "1")]);
    assert_eq!(
        run(SAMPLES[4]).items,
        vec![
            ev("message", "a\nb", ""),
            ev("message", "c", ""),
            ev("message", "d", "")
        ]
    );
    assert_eq!(
        run(SAMPLES[8]).items,
        vec![Owned::Retry(10), Owned::Retry(7)]
    );
}

// ---------------------------------------------------------------------------------------------
// Reference parser: decode everything, split into lines, interpret; allocates freely.

fn reference(stream: &[u8]) -> Run {
    let bytes = stream.strip_prefix(&BOM[..]).unwrap_or(stream);
    let text = String::from_utf8_lossy(bytes);

    // Complete lines only; what follows the last line ending is discarded.
    let mut lines = Vec::new();
    let mut current = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                lines.push(mem::take(&mut current));
            }
            '\n' => lines.push(mem::take(&mut current)),
            c => current.push(c),
        }
    }
    let partial = !current.is_empty();

    let mut items = Vec::new();
    let (mut data, mut event_type, mut id_buffer) = (String::new(), String::new(), String::new());
    let mut last_event_id = String::new();
    let mut reconnection_time = None;
    let mut started = false;
    for line in lines {
        if line.is_empty() {
            last_event_id = id_buffer.clone();
            started = false;
            if !data.is_empty() {
                if data.ends_with('\n') {
                    data.pop();
                }
                let ty = if event_type.is_empty() {
                    "message"
                } else {
                    &event_type
                };
                items.push(ev(ty, &data, &last_event_id));
            }
            data.clear();
            event_type.clear();
        } else if let Some(text) = line.strip_prefix(':') {
            items.push(comment(text.strip_prefix(' ').unwrap_or(text)));
        } else {
            let (field, value) = match line.split_once(':') {
                Some((f, v)) => (f, v.strip_prefix(' ').unwrap_or(v)),
                None => (line.as_str(), ""),
            };
            match field {
                "event" => {
                    event_type = value.to_owned();
                    started = true;
                }
                "data" => {
                    data.push_str(value);
                    data.push('\n');
                    started = true;
                }
                "id" if !value.contains('\0') => {
                    id_buffer = value.to_owned();
                    started = true;
                }
                "retry" if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
                    if let Ok(ms) = value.parse::<u64>() {
                        reconnection_time = Some(ms);
                        items.push(Owned::Retry(ms));
                    }
                }
                _ => {}
            }
        }
    }
    // A BOM prefix cut off by the end of the stream is an unterminated line too.
    let bom_prefix = !stream.is_empty() && stream.len() < 3 && BOM.starts_with(stream);
    Run {
        items,
        discarded: partial || started || bom_prefix,
        last_event_id,
        reconnection_time,
    }
}

// ---------------------------------------------------------------------------------------------
// Property tests

fn field_name() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        4 => Just(b"data".to_vec()),
        2 => Just(b"event".to_vec()),
        2 => Just(b"id".to_vec()),
        2 => Just(b"retry".to_vec()),
        1 => Just(b"Data".to_vec()),
        1 => Just(b"foo".to_vec()),
        1 => Just(b"".to_vec()),
        1 => Just(b"dat".to_vec()),
        1 => Just(b"data ".to_vec()),
    ]
}

/// Value bytes, biased towards what matters: colons, spaces, digits, NUL, non-ASCII, invalid
/// UTF-8 and BOM bytes. Never CR or LF (those end lines).
fn value_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b" ".to_vec()),
        Just(b":".to_vec()),
        Just(b"0".to_vec()),
        Just(b"42".to_vec()),
        Just(b"x".to_vec()),
        Just(b"\0".to_vec()),
        Just("é".as_bytes().to_vec()),
        Just("😀".as_bytes().to_vec()),
        Just(b"\xFF".to_vec()),
        Just(b"\xE2\x82".to_vec()),
        Just(BOM.to_vec()),
        Just(b"18446744073709551616".to_vec()),
        "[a-z ]{1,8}".prop_map(String::into_bytes),
    ];
    prop::collection::vec(piece, 0..5).prop_map(|v| v.concat())
}

fn line_ending() -> impl Strategy<Value = &'static [u8]> {
    prop_oneof![Just(&b"\n"[..]), Just(&b"\r"[..]), Just(&b"\r\n"[..])]
}

fn line() -> impl Strategy<Value = Vec<u8>> {
    let field_line = (
        field_name(),
        prop_oneof![Just(""), Just(":"), Just(": ")],
        value_bytes(),
    )
        .prop_map(|(f, sep, v)| [f, sep.as_bytes().to_vec(), v].concat());
    let comment_line = value_bytes().prop_map(|v| [b":".to_vec(), v].concat());
    let body = prop_oneof![
        5 => field_line,
        1 => comment_line,
        3 => Just(Vec::new()),
    ];
    (body, line_ending()).prop_map(|(b, e)| [b, e.to_vec()].concat())
}

fn stream() -> impl Strategy<Value = Vec<u8>> {
    (
        prop_oneof![
            Just(Vec::new()),
            Just(BOM.to_vec()),
            Just(BOM[..2].to_vec())
        ],
        prop::collection::vec(line(), 0..24),
        prop_oneof![
            Just(Vec::new()),
            value_bytes(),
            Just(b"data: tail".to_vec())
        ],
    )
        .prop_map(|(bom, lines, tail)| [bom, lines.concat(), tail].concat())
}

fn stream_and_cuts() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    stream().prop_flat_map(|s| {
        let len = s.len();
        (Just(s), prop::collection::vec(0..=len, 0..8)).prop_map(|(s, mut cuts)| {
            cuts.sort_unstable();
            (s, cuts)
        })
    })
}

fn event() -> impl Strategy<Value = (Option<String>, Option<String>, String, Option<u64>)> {
    (
        prop::option::of(any::<String>()),
        prop::option::of(any::<String>()),
        any::<String>(),
        prop::option::of(any::<u64>()),
    )
}

proptest! {
    #[test]
    fn random_splits_give_the_same_items((s, cuts) in stream_and_cuts()) {
        let whole = run(&s);
        prop_assert_eq!(&run_split(&s, &cuts), &whole);
        let bytes: Vec<&[u8]> = s.chunks(1).collect();
        prop_assert_eq!(&run_chunks(&bytes), &whole);
    }

    #[test]
    fn random_streams_match_the_reference((s, cuts) in stream_and_cuts()) {
        prop_assert_eq!(run_split(&s, &cuts), reference(&s));
    }

    #[test]
    fn encoded_events_round_trip(
        events in prop::collection::vec(event(), 1..6),
        cuts in prop::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut wire = Vec::new();
        let mut want = Vec::new();
        let mut last_id = String::new();
        for (id, event_type, data, retry) in &events {
            encode::Event {
                id: id.as_deref(),
                event: event_type.as_deref(),
                data,
                retry: *retry,
            }
            .encode_into(&mut wire);
            if let Some(ms) = retry {
                want.push(Owned::Retry(*ms));
            }
            if let Some(id) = id {
                if !id.contains('\0') {
                    last_id = id.replace(['\r', '\n'], " ");
                }
            }
            let event_type = event_type
                .as_deref()
                .map(|t| t.replace(['\r', '\n'], " "))
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| "message".to_owned());
            let data = data.replace("\r\n", "\n").replace('\r', "\n");
            want.push(ev(&event_type, &data, &last_id));
        }
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        cuts.sort_unstable();
        let r = run_split(&wire, &cuts);
        prop_assert_eq!(r.items, want);
        prop_assert!(!r.discarded);
        prop_assert_eq!(r.last_event_id, last_id);
    }
}
