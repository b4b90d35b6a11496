//! Fuzzes `sse_wire::Parser` with arbitrary bytes split at arbitrary points.
//!
//! Input layout: byte 0 picks the limits, byte 1 the number of cuts (0..=15), then two bytes per
//! cut (a position, modulo the stream's length), then the stream. Invariants checked:
//!
//! 1. no panic;
//! 2. the items (events, retries, comments), the error, the last event id, the reconnection time
//!    and what `finish` reports are the same whether the stream is fed whole or split at the cuts
//!    (and, for short streams, one byte at a time);
//! 3. memory is bounded by the limits: while the split stream is fed (to a callback that
//!    allocates nothing), the parser's live heap never exceeds a bound computed from the limits,
//!    whatever the stream's length.

#![no_main]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};

use libfuzzer_sys::fuzz_target;
use sse_wire::{Item, Limits, ParseError, Parser};

/// The system allocator, counting live bytes and their peak.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed) + layout.size() as isize;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            let delta = new_size as isize - layout.size() as isize;
            let live = LIVE.fetch_add(delta, Ordering::Relaxed) + delta;
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Owned {
    Event { event_type: String, data: String, id: String },
    Retry(u64),
    Comment(String),
}

impl From<Item<'_>> for Owned {
    fn from(item: Item<'_>) -> Self {
        match item {
            Item::Event(e) => Owned::Event {
                event_type: e.event_type.to_owned(),
                data: e.data.to_owned(),
                id: e.last_event_id.to_owned(),
            },
            Item::Retry(ms) => Owned::Retry(ms),
            Item::Comment(c) => Owned::Comment(c.to_owned()),
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Run {
    items: Vec<Owned>,
    error: Option<ParseError>,
    last_event_id: String,
    reconnection_time: Option<u64>,
    discarded_at_finish: bool,
}

/// Feeds `chunks` in order, stopping at the first error, then finishes the stream.
fn run<'a>(limits: Limits, chunks: impl IntoIterator<Item = &'a [u8]>) -> Run {
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

fn limits(selector: u8) -> Limits {
    match selector % 4 {
        // Small caps, so that inputs of a few KiB cross them.
        0 => Limits { max_line_bytes: 16, max_event_bytes: 32 },
        1 => Limits { max_line_bytes: 1 + usize::from(selector / 4), max_event_bytes: 4 * usize::from(selector) },
        2 => Limits { max_line_bytes: 256, max_event_bytes: 1024 },
        _ => Limits::default(),
    }
}

/// What the parser may hold live while it is fed, whatever the stream: the partial line; the data,
/// event type, id buffer and last event id (lossy decoding can triple invalid bytes, and `Vec`
/// growth can double a capacity); the comment scratch; plus a little slack.
fn memory_bound(limits: Limits) -> isize {
    let line = limits.max_line_bytes as isize;
    let event = limits.max_event_bytes as isize;
    2 * (line + 4) + 2 * (event + 3 * line + 8) + 4 * 2 * (3 * line + 8) + 4096
}

fuzz_target!(|input: &[u8]| {
    let Some((&selector, rest)) = input.split_first() else {
        return;
    };
    let Some((&ncuts, rest)) = rest.split_first() else {
        return;
    };
    let ncuts = usize::from(ncuts % 16);
    if rest.len() < 2 * ncuts {
        return;
    }
    let (cut_bytes, stream) = rest.split_at(2 * ncuts);
    let limits = limits(selector);

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

    let whole = run(limits, [stream]);
    let split = run(limits, chunks.iter().copied());
    assert_eq!(whole.items, split.items, "items differ with cuts {cuts:?}");
    assert_eq!(whole.error, split.error, "errors differ with cuts {cuts:?}");
    // After an error, what `finish` discards depends on where the failing chunk ended: the whole
    // run is compared only for streams without one.
    if whole.error.is_none() {
        assert_eq!(whole, split, "cuts {cuts:?}");
    }
    if stream.len() <= 512 {
        let bytewise = run(limits, stream.chunks(1));
        assert_eq!(whole.items, bytewise.items, "items differ byte by byte");
        assert_eq!(whole.error, bytewise.error, "errors differ byte by byte");
        if whole.error.is_none() {
            assert_eq!(whole, bytewise);
        }
    }

    // Memory: feed the split stream again to a callback that allocates nothing.
    let mut parser = Parser::with_limits(limits);
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let mut seen = 0usize;
    for chunk in &chunks {
        if parser
            .feed(chunk, |item| {
                seen = seen.wrapping_add(match item {
                    Item::Event(e) => e.data.len(),
                    Item::Retry(ms) => ms as usize,
                    Item::Comment(c) => c.len(),
                })
            })
            .is_err()
        {
            break;
        }
    }
    let grew = PEAK.load(Ordering::Relaxed) - base;
    assert!(
        grew <= memory_bound(limits),
        "the parser held {grew} bytes with {limits:?} (stream of {} bytes)",
        stream.len()
    );
    std::hint::black_box(seen);
});
