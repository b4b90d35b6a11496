//! The parser's split-invariance checks, shared by the fuzz target (`fuzz_targets/parse.rs`) and
//! the regression test that replays kept inputs (`crates/sse-wire/tests/fuzz_regressions.rs`),
//! both of which include this file by path.
//!
//! Input layout: byte 0 picks the limits, byte 1 the number of cuts (0..=15), then two bytes
//! (little endian) per cut, a position modulo the stream's length, then the stream.

use sse_wire::{Limits, ParseError, Parser};

pub use sse_wire::OwnedItem as Owned;

/// Everything a parser reported for one way of feeding a stream.
#[derive(Debug, PartialEq, Eq)]
pub struct Run {
    pub items: Vec<Owned>,
    pub error: Option<ParseError>,
    pub last_event_id: String,
    pub reconnection_time: Option<u64>,
    pub discarded_at_finish: bool,
}

/// Feeds `chunks` in order, stopping at the first error, then finishes the stream.
pub fn run<'a>(limits: Limits, chunks: impl IntoIterator<Item = &'a [u8]>) -> Run {
    let mut parser = Parser::with_limits(limits);
    let mut items = Vec::new();
    let mut error = None;
    for chunk in chunks {
        if let Err(e) = parser.feed(chunk, |item| items.push(Owned::from(item))) {
            // Fed again, a failed parser returns the same error and reports nothing.
            let again = parser.feed(b"data: x\n\n", |_| panic!("an item after an error"));
            assert_eq!(again, Err(e.clone()));
            error = Some(e);
            break;
        }
    }
    let last_event_id = parser.last_event_id().to_owned();
    let reconnection_time = parser.reconnection_time();
    let discarded_at_finish = parser.finish();
    Run {
        items,
        error,
        last_event_id,
        reconnection_time,
        discarded_at_finish,
    }
}

pub fn limits(selector: u8) -> Limits {
    match selector % 4 {
        // Small caps, so that inputs of a few KiB cross them.
        0 => Limits {
            max_line_bytes: 16,
            max_event_bytes: 32,
        },
        1 => Limits {
            max_line_bytes: 1 + usize::from(selector / 4),
            max_event_bytes: 4 * usize::from(selector),
        },
        2 => Limits {
            max_line_bytes: 256,
            max_event_bytes: 1024,
        },
        _ => Limits::default(),
    }
}

/// A fuzz input decoded: the limits, the stream and the stream cut at the input's positions.
pub struct Decoded<'a> {
    pub limits: Limits,
    pub stream: &'a [u8],
    pub cuts: Vec<usize>,
    pub chunks: Vec<&'a [u8]>,
}

pub fn decode(input: &[u8]) -> Option<Decoded<'_>> {
    let (&selector, rest) = input.split_first()?;
    let (&ncuts, rest) = rest.split_first()?;
    let ncuts = usize::from(ncuts % 16);
    if rest.len() < 2 * ncuts {
        return None;
    }
    let (cut_bytes, stream) = rest.split_at(2 * ncuts);
    let mut cuts: Vec<usize> = cut_bytes
        .chunks(2)
        .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])) % (stream.len() + 1))
        .collect();
    cuts.sort_unstable();
    let mut chunks = Vec::with_capacity(cuts.len() + 1);
    let mut from = 0;
    for &cut in &cuts {
        chunks.push(&stream[from..cut]);
        from = cut;
    }
    chunks.push(&stream[from..]);
    Some(Decoded {
        limits: limits(selector),
        stream,
        cuts,
        chunks,
    })
}

/// Fed whole, split at the cuts, and (for streams up to `bytewise_max` bytes) one byte at a time,
/// the parser reports the same items and error; without an error, also the same final state
/// (after an error, what `finish` discards depends on where the failing chunk ended).
/// Returns the whole-stream run.
pub fn split_invariance(d: &Decoded<'_>, bytewise_max: usize) -> Run {
    let whole = run(d.limits, [d.stream]);
    let split = run(d.limits, d.chunks.iter().copied());
    let bytewise = (d.stream.len() <= bytewise_max).then(|| run(d.limits, d.stream.chunks(1)));
    for other in std::iter::once(&split).chain(bytewise.as_ref()) {
        assert_eq!(
            whole.items, other.items,
            "items differ with cuts {:?}",
            d.cuts
        );
        assert_eq!(
            whole.error, other.error,
            "errors differ with cuts {:?}",
            d.cuts
        );
        if whole.error.is_none() {
            assert_eq!(&whole, other, "cuts {:?}", d.cuts);
        }
    }
    whole
}
