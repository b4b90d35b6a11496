//! One test per parsing rule of the WHATWG event-stream format.

#![allow(clippy::unwrap_used)]

use super::*;

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
