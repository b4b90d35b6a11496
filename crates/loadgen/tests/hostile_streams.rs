//! Event streams from servers we did not write: every line ending, every split, huge lines, a
//! BOM, binary garbage, a line that never ends, a stream cut mid-event, the wrong content type and
//! an error status. Each runs against a scripted server (`common::raw`) on every arm and checks
//! the counters the run reports.

mod common;

use std::time::Duration;

use common::raw::{self, Reply, Step, Then};
use loadgen::{Counter, ErrorClass, PointOutcome, Protocol};

/// Runs one client with one stream for `duration` against `target`.
async fn run_one(
    target: loadgen::Target,
    duration: Duration,
    tweak: impl FnOnce(&mut loadgen::PointConfig),
) -> PointOutcome {
    let mut config = common::point(target);
    config.warmup = Duration::ZERO;
    config.duration = duration;
    tweak(&mut config);
    let out = common::run(&config).await;
    assert!(out.fatal.is_none(), "fatal: {:?}", out.fatal);
    out
}

fn events(out: &PointOutcome) -> u64 {
    out.metrics.get(Counter::EventsReceived)
}

/// Three events, one per line ending (CR, LF, CRLF), then one mixing all three.
const LINE_ENDINGS: &[u8] =
    b"data: cr\r\rdata: lf\n\ndata: crlf\r\n\r\nevent: mixed\rdata: a\ndata: b\r\n\n";

async fn every_line_ending(arm: Protocol) {
    let (target, seen) = raw::serve(arm, |_| {
        Reply::events(vec![Step::Write(LINE_ENDINGS.to_vec())])
    })
    .await;
    let out = run_one(target, Duration::from_millis(500), |_| {}).await;
    assert_eq!(events(&out), 4, "{:?}", common::errors(&out));
    assert_eq!(out.metrics.total_errors(), 0);
    assert_eq!(out.metrics.get(Counter::Reconnects), 0);
    assert_eq!(seen.requests(), 1);
}
for_all_arms!(line_endings, super::every_line_ending);

/// The same events and more, one byte per TCP write (or DATA frame): every split point, CR and LF
/// of one line ending in different reads included.
async fn split_at_every_byte(arm: Protocol) {
    let mut body = b"\xEF\xBB\xBF: comment\r\nid: 1\r\ndata: {\"x\":1}\r\n\r\n".to_vec();
    body.extend_from_slice(LINE_ENDINGS);
    body.extend_from_slice("data: caf\u{e9} \u{1F600}\r\n\r\n".as_bytes());
    let (target, _) = raw::serve(arm, move |_| {
        Reply::bytewise(&body, Duration::from_millis(1))
    })
    .await;
    let out = run_one(target, Duration::from_millis(1500), |_| {}).await;
    assert_eq!(events(&out), 6, "{:?}", common::errors(&out));
    assert_eq!(out.metrics.total_errors(), 0);
}
for_all_arms!(split_every_byte, super::split_at_every_byte);

/// A 768 KiB data line (under the 1 MiB line cap) is one event; one of 2 MiB is not, and counts
/// as a parse error: the stream reconnects.
async fn huge_lines(arm: Protocol) {
    let line = |n: usize| {
        let mut v = b"data: ".to_vec();
        v.extend(std::iter::repeat_n(b'x', n));
        v.extend_from_slice(b"\n\n");
        v
    };
    let (ok, _) = raw::serve(arm, move |_| {
        Reply::events(vec![Step::Write(line(768 << 10))])
    })
    .await;
    let out = run_one(ok, Duration::from_millis(800), |_| {}).await;
    assert_eq!(events(&out), 1, "{:?}", common::errors(&out));
    assert_eq!(out.metrics.total_errors(), 0);

    let (too_long, seen) = raw::serve(arm, move |n| {
        if n == 0 {
            Reply::events(vec![Step::Write(line(2 << 20))])
        } else {
            Reply::events(vec![Step::Write(b"data: fine\n\n".to_vec())])
        }
    })
    .await;
    let out = run_one(too_long, Duration::from_millis(800), |_| {}).await;
    assert_eq!(
        out.metrics.errors(ErrorClass::Parse),
        1,
        "{:?}",
        common::errors(&out)
    );
    assert!(out.metrics.get(Counter::Reconnects) >= 1);
    assert!(seen.requests() >= 2);
    assert_eq!(events(&out), 1, "only the reconnected stream's event");
}
for_all_arms!(huge, super::huge_lines);

/// A BOM at the start is skipped; binary garbage (bytes that are not UTF-8, NULs, control bytes)
/// in field names and values neither fires events nor breaks the stream; invalid UTF-8 in data is
/// decoded lossily.
async fn bom_and_binary_garbage(arm: Protocol) {
    let mut body = b"\xEF\xBB\xBFdata: after bom\n\n".to_vec();
    // Deterministic garbage: every byte value but CR and LF, lines of 61 bytes, none starting
    // with a field name.
    let garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .filter(|b| *b != b'\r' && *b != b'\n')
        .collect();
    for line in garbage.chunks(61) {
        body.push(0x80);
        body.extend_from_slice(line);
        body.push(b'\n');
    }
    body.extend_from_slice(b"\ndata: \xFF\xFE\x00ok\n\n");
    let (target, _) =
        raw::serve(arm, move |_| Reply::events(vec![Step::Write(body.clone())])).await;
    let out = run_one(target, Duration::from_millis(600), |_| {}).await;
    assert_eq!(events(&out), 2, "{:?}", common::errors(&out));
    assert_eq!(out.metrics.total_errors(), 0);
}
for_all_arms!(bom_and_garbage, super::bom_and_binary_garbage);

/// A stream that never sends a line ending: the client gives up at the line cap (here 64 KiB),
/// counts `errors_parse`, drops the connection and reconnects; it never buffers more than the cap,
/// and the server could write only a bounded amount (the cap plus socket and window buffers).
async fn line_that_never_ends(arm: Protocol) {
    let (target, seen) = raw::serve(arm, |_| {
        Reply::events(vec![Step::Flood {
            chunk: vec![b'x'; 16 << 10],
            max_bytes: 256 << 20,
        }])
    })
    .await;
    let out = run_one(target, Duration::from_millis(1000), |c| {
        c.parser_limits = sse_wire::Limits {
            max_line_bytes: 64 << 10,
            max_event_bytes: 256 << 10,
        };
    })
    .await;
    let parse = out.metrics.errors(ErrorClass::Parse);
    assert!(parse >= 1, "{:?}", common::errors(&out));
    assert_eq!(events(&out), 0);
    assert!(out.metrics.get(Counter::Reconnects) >= 1);
    let per_request =
        seen.body_bytes.load(std::sync::atomic::Ordering::Relaxed) / seen.requests() as u64;
    assert!(
        per_request < 64 << 20,
        "the client kept reading: {per_request} bytes per request"
    );
}
for_all_arms!(never_ends, super::line_that_never_ends);

/// A stream cut in the middle of an event: the partial event is discarded, the stream reconnects
/// with the id of the last complete event, and a clean end is not an error.
async fn cut_mid_event(arm: Protocol) {
    let (target, seen) = raw::serve(arm, |n| {
        if n == 0 {
            Reply {
                then: Then::End,
                ..Reply::events(vec![Step::Write(
                    b"id: 7\ndata: one\n\nid: 8\ndata: par".to_vec(),
                )])
            }
        } else {
            Reply::events(vec![Step::Write(b"data: two\n\n".to_vec())])
        }
    })
    .await;
    let out = run_one(target, Duration::from_millis(600), |_| {}).await;
    assert_eq!(events(&out), 2, "{:?}", common::errors(&out));
    assert_eq!(out.metrics.total_errors(), 0);
    assert_eq!(out.metrics.get(Counter::Reconnects), 1);
    assert_eq!(seen.last_event_ids(), ["", "7"]);
}
for_all_arms!(cut, super::cut_mid_event);

/// `200` with another content type, and a `500`: the EventSource fails for good, counted as
/// `errors_status`, and never reconnects.
async fn wrong_content_type_and_error_status(arm: Protocol) {
    for (status, content_type) in [(200, "text/plain"), (500, "text/event-stream")] {
        let (target, seen) = raw::serve(arm, move |_| Reply {
            status,
            content_type,
            steps: vec![Step::Write(b"data: never\n\n".to_vec())],
            then: Then::End,
        })
        .await;
        let out = run_one(target, Duration::from_millis(500), |_| {}).await;
        let m = &out.metrics;
        assert_eq!(m.errors(ErrorClass::Status), 1, "{status} {content_type}");
        assert_eq!(m.total_errors(), 1);
        assert_eq!(m.get(Counter::Reconnects), 0);
        assert_eq!(m.get(Counter::StreamsOpened), 0);
        assert_eq!(events(&out), 0);
        assert_eq!(seen.requests(), 1);
    }
}
for_all_arms!(refused, super::wrong_content_type_and_error_status);
