//! Event streams from servers we did not write: every line ending, every split, huge lines, a
//! BOM, binary garbage, a line that never ends, a stream cut mid-event, the wrong content type and
//! an error status. Each runs against a scripted server (`test_support::scripted`) on every arm
//! with event streams and checks what the client made of the events, not only how many there were:
//!
//! - **data**: every event's data carries a send stamp (the `event_delivery` convention,
//!   `sse_wire::stamp`) dated a whole number of [`AGE_STEP`]s in the past, so `event_delivery`'s
//!   histogram lists the age of every event parsed ([`ages`]); a stamp whose digits were cut or
//!   garbled reads as another age, or as none. Where the test is about line endings the stamp's
//!   field name itself is split across two `data:` lines ([`SPLIT_FIELD`]): the client finds it
//!   only if the lines were split where they end, one space stripped after each colon, the lines
//!   joined with exactly one LF and the UTF-8 decoded across reads;
//! - **type** and **id**: `message` events with integer ids are checked for gaps and duplicates,
//!   other types are not (`Counter::Gaps`, `Counter::Duplicates`), so an event type or an id read
//!   wrongly changes those counts; and a reconnecting stream sends the last id back
//!   (`Last-Event-ID`, recorded by the server).
//!
//! The expectations come from the WHATWG rules (`docs/event-stream.md`, "The event-stream format").

use std::time::Duration;

use loadgen::{Counter, ErrorClass, Latency, PointOutcome, Protocol};
use sse_wire::stamp::{SendStamp, StampUnit};
use test_support::emulation;
use test_support::scripted::{self, Reply, Step, Then};

/// Runs one client with one stream for `duration` against `target`.
async fn run_one(
    target: loadgen::Target,
    duration: Duration,
    tweak: impl FnOnce(&mut loadgen::PointConfig),
) -> PointOutcome {
    let mut config = emulation::point(target);
    config.workload.warmup = Duration::ZERO;
    config.workload.duration = duration;
    tweak(&mut config);
    let out = emulation::run(&config).await;
    assert!(out.fatal.is_none(), "fatal: {:?}", out.fatal);
    out
}

fn events(out: &PointOutcome) -> u64 {
    out.metrics.get(Counter::EventsReceived)
}

/// The unit of an event's age: far longer than any delivery, so every age reads back exactly.
const AGE_STEP: Duration = Duration::from_secs(100);

/// A send stamp (nanoseconds since the Unix epoch) `age` [`AGE_STEP`]s before now.
fn stamp(age: u64) -> u64 {
    sse_wire::stamp::now_unix_ns() - age * AGE_STEP.as_nanos() as u64
}

/// The ages of the events whose data carried a send stamp, in increasing order (the histogram
/// keeps no order).
fn ages(out: &PointOutcome) -> Vec<u64> {
    let step_us = AGE_STEP.as_micros() as u64;
    let delivery = out.metrics.histogram(Latency::EventDelivery);
    let mut ages = Vec::new();
    for v in delivery.iter_recorded() {
        let age = (v.value_iterated_to() + step_us / 2) / step_us;
        ages.extend(std::iter::repeat_n(age, v.count_at_value() as usize));
    }
    ages
}

/// The (gaps, duplicates) the client counted among `message` events with integer ids.
fn gaps_and_duplicates(out: &PointOutcome) -> (u64, u64) {
    (
        out.metrics.get(Counter::Gaps),
        out.metrics.get(Counter::Duplicates),
    )
}

/// The send stamp field of the line-ending tests: `sent`, an LF and a four-byte character. An
/// event's data `{"sent` LF `\u{1F600}":STAMP}` is written as two `data:` lines.
const SPLIT_FIELD: &str = "sent\n\u{1F600}";

fn split_stamp(config: &mut loadgen::PointConfig) {
    config.send_stamp = SendStamp::new(SPLIT_FIELD, StampUnit::Ns);
}

/// One event whose data is the [`SPLIT_FIELD`] stamp of age `age`, with `fields` (e.g. `id: 1`)
/// first, every line ended by `eol`.
fn split_event(fields: &[&str], eol: &str, age: u64) -> String {
    let mut event = String::new();
    for field in fields {
        event.push_str(&format!("{field}{eol}"));
    }
    let (first, second) = SPLIT_FIELD.split_once('\n').expect("a two-line field");
    event.push_str(&format!(
        "data: {{\"{first}{eol}data: {second}\":{}}}{eol}{eol}",
        stamp(age)
    ));
    event
}

/// Five events: ids 1, 2 and 3 ended by CR, LF and CRLF; an `event: mixed` with id 9 and all
/// three line endings; a message with id 5. Their ages are 1 to 5. The messages' ids go 1, 2, 3,
/// 5: one gap; the `mixed` event's id 9 is not a message id, so 5 is no duplicate.
fn every_line_ending() -> Vec<u8> {
    let mut body = split_event(&["id: 1"], "\r", 1);
    body.push_str(&split_event(&["id: 2"], "\n", 2));
    body.push_str(&split_event(&["id: 3"], "\r\n", 3));
    let (first, second) = SPLIT_FIELD.split_once('\n').expect("a two-line field");
    body.push_str(&format!(
        "event: mixed\rid: 9\ndata: {{\"{first}\r\ndata: {second}\":{}}}\r\n\n",
        stamp(4)
    ));
    body.push_str(&split_event(&["id: 5"], "\n", 5));
    body.into_bytes()
}

/// The five events of [`every_line_ending`] in one write; then the stream ends, and the client
/// reconnects with the last id it saw: 5, not the `mixed` event's 9.
#[test_support::arms(sse, flavor = "multi_thread", worker_threads = 2)]
async fn line_endings(arm: Protocol) {
    let (target, seen) = scripted::serve(arm, |n| {
        if n == 0 {
            Reply {
                then: Then::End,
                ..Reply::events(vec![Step::Write(every_line_ending())])
            }
        } else {
            Reply::events(Vec::new())
        }
    })
    .await;
    let out = run_one(target, Duration::from_millis(800), split_stamp).await;
    assert_eq!(events(&out), 5, "{:?}", emulation::errors(&out));
    assert_eq!(ages(&out), [1, 2, 3, 4, 5], "the events' data");
    assert_eq!(
        gaps_and_duplicates(&out),
        (1, 0),
        "the events' types and ids"
    );
    assert_eq!(seen.last_event_ids(), ["", "5"]);
    assert_eq!(out.metrics.total_errors(), 0);
    assert_eq!(out.metrics.get(Counter::Reconnects), 1);
}

/// The same events after a BOM and a comment, one byte per TCP write (or DATA frame): every split
/// point, the BOM's bytes, the CR and LF of one line ending and the bytes of one character in
/// different reads included.
#[test_support::arms(sse, flavor = "multi_thread", worker_threads = 2)]
async fn split_every_byte(arm: Protocol) {
    let (target, _) = scripted::serve(arm, move |_| {
        let mut body = b"\xEF\xBB\xBF: comment\r\n".to_vec();
        body.extend_from_slice(&every_line_ending());
        Reply::bytewise(&body, Duration::from_millis(1))
    })
    .await;
    let out = run_one(target, Duration::from_millis(2500), split_stamp).await;
    assert_eq!(events(&out), 5, "{:?}", emulation::errors(&out));
    assert_eq!(ages(&out), [1, 2, 3, 4, 5], "the events' data");
    assert_eq!(
        gaps_and_duplicates(&out),
        (1, 0),
        "the events' types and ids"
    );
    assert_eq!(out.metrics.total_errors(), 0);
}

/// A 768 KiB data line (under the 1 MiB line cap) is one event, its stamp at the end of the line
/// intact; one of 2 MiB is not, and counts as a parse error: the stream reconnects.
#[test_support::arms(sse, flavor = "multi_thread", worker_threads = 2)]
async fn huge(arm: Protocol) {
    let line = |n: usize, age: u64| {
        let mut v = b"data: {\"pad\":\"".to_vec();
        v.extend(std::iter::repeat_n(b'x', n));
        v.extend_from_slice(format!("\",\"sent_ns\":{}}}\n\n", stamp(age)).as_bytes());
        v
    };
    let (ok, _) = scripted::serve(arm, move |_| {
        Reply::events(vec![Step::Write(line(768 << 10, 1))])
    })
    .await;
    let out = run_one(ok, Duration::from_millis(800), |_| {}).await;
    assert_eq!(events(&out), 1, "{:?}", emulation::errors(&out));
    assert_eq!(ages(&out), [1]);
    assert_eq!(out.metrics.total_errors(), 0);

    let (too_long, seen) = scripted::serve(arm, move |n| {
        if n == 0 {
            Reply::events(vec![Step::Write(line(2 << 20, 1))])
        } else {
            Reply::events(vec![Step::Write(line(10, 2))])
        }
    })
    .await;
    // 3 s, not 800 ms: the line must pass the parser's limit (1 MiB) within the point, and on h3
    // one lost packet costs a QUIC probe timeout (about 1 s, quinn's initial RTT being 333 ms) and
    // a halved window; in a CI run beside the loss-proof suite, 800 ms saw no error at all (not
    // reproduced alone or under busy loops).
    let out = run_one(too_long, Duration::from_secs(3), |_| {}).await;
    assert_eq!(
        out.metrics.errors(ErrorClass::Parse),
        1,
        "{:?}",
        emulation::errors(&out)
    );
    // The second answer is held open: one reconnect, two requests.
    assert_eq!(out.metrics.get(Counter::Reconnects), 1);
    assert_eq!(seen.requests(), 2);
    assert_eq!(events(&out), 1, "only the reconnected stream's event");
    assert_eq!(ages(&out), [2]);
}

/// A BOM at the start is skipped; binary garbage (bytes that are not UTF-8, NULs, control bytes)
/// in field names and values neither fires events nor breaks the stream; invalid UTF-8 in data is
/// decoded lossily, and the stamp after it still reads.
#[test_support::arms(sse, flavor = "multi_thread", worker_threads = 2)]
async fn bom_and_garbage(arm: Protocol) {
    let (target, _) = scripted::serve(arm, move |_| {
        let mut body =
            format!("\u{FEFF}id: 1\ndata: {{\"sent_ns\":{}}}\n\n", stamp(1)).into_bytes();
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
        body.extend_from_slice(b"\nid: 2\ndata: \xFF\xFE\x00");
        body.extend_from_slice(format!("{{\"sent_ns\":{}}}\n\n", stamp(2)).as_bytes());
        Reply::events(vec![Step::Write(body)])
    })
    .await;
    let out = run_one(target, Duration::from_millis(600), |_| {}).await;
    assert_eq!(events(&out), 2, "{:?}", emulation::errors(&out));
    assert_eq!(ages(&out), [1, 2], "the events' data");
    assert_eq!(
        gaps_and_duplicates(&out),
        (0, 0),
        "ids 1 and 2, both messages"
    );
    assert_eq!(out.metrics.total_errors(), 0);
}

/// A stream that never sends a line ending: the client gives up at the line cap (here 64 KiB),
/// counts `errors_parse`, drops the connection and reconnects; it never buffers more than the cap,
/// and the server could write only a bounded amount (the cap plus socket and window buffers).
#[test_support::arms(sse, flavor = "multi_thread", worker_threads = 2)]
async fn never_ends(arm: Protocol) {
    let (target, seen) = scripted::serve(arm, |_| {
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
    assert!(parse >= 1, "{:?}", emulation::errors(&out));
    assert_eq!(events(&out), 0);
    assert!(out.metrics.get(Counter::Reconnects) >= 1);
    let per_request =
        seen.body_bytes.load(std::sync::atomic::Ordering::Relaxed) / seen.requests() as u64;
    assert!(
        per_request < 64 << 20,
        "the client kept reading: {per_request} bytes per request"
    );
}

/// A stream cut in the middle of an event: the partial event is discarded (its data never
/// arrives, its id is not the last id), the stream reconnects with the id of the last complete
/// event, and a clean end is not an error.
#[test_support::arms(sse, flavor = "multi_thread", worker_threads = 2)]
async fn cut(arm: Protocol) {
    let (target, seen) = scripted::serve(arm, |n| {
        if n == 0 {
            let body = format!(
                "id: 7\ndata: {{\"sent_ns\":{}}}\n\nid: 8\ndata: {{\"sent_ns\":{}}}",
                stamp(1),
                stamp(9)
            );
            Reply {
                then: Then::End,
                ..Reply::events(vec![Step::Write(body.into_bytes())])
            }
        } else {
            let body = format!("id: 8\ndata: {{\"sent_ns\":{}}}\n\n", stamp(2));
            Reply::events(vec![Step::Write(body.into_bytes())])
        }
    })
    .await;
    let out = run_one(target, Duration::from_millis(600), |_| {}).await;
    assert_eq!(events(&out), 2, "{:?}", emulation::errors(&out));
    assert_eq!(ages(&out), [1, 2], "the cut event's data never arrives");
    assert_eq!(gaps_and_duplicates(&out), (0, 0), "ids 7 then 8");
    assert_eq!(out.metrics.total_errors(), 0);
    assert_eq!(out.metrics.get(Counter::Reconnects), 1);
    assert_eq!(seen.last_event_ids(), ["", "7"]);
}

/// `200` with another content type, and a `500`: the EventSource fails for good, counted as
/// `errors_status`, and never reconnects.
#[test_support::arms(sse, flavor = "multi_thread", worker_threads = 2)]
async fn refused(arm: Protocol) {
    for (status, content_type) in [(200, "text/plain"), (500, "text/event-stream")] {
        let (target, seen) = scripted::serve(arm, move |_| Reply {
            status,
            content_type,
            steps: vec![Step::Write(b"data: never\n\n".to_vec())],
            then: Then::End,
            head_delay: Duration::ZERO,
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
