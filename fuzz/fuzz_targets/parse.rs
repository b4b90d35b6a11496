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
use sse_wire::{Item, Limits, Parser};

/// The system allocator, counting live bytes and their peak.
struct Counting;

static LIVE: AtomicIsize = AtomicIsize::new(0);
static PEAK: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded unchanged to the system allocator; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live =
                LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed) + layout.size() as isize;
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

#[path = "../check.rs"]
mod check;

/// What the parser may hold live while it is fed, whatever the stream: the partial line; the data,
/// event type, id buffer and last event id (lossy decoding can triple invalid bytes, and `Vec`
/// growth can double a capacity); the comment scratch; plus a little slack.
fn memory_bound(limits: Limits) -> isize {
    let line = limits.max_line_bytes as isize;
    let event = limits.max_event_bytes as isize;
    2 * (line + 4) + 2 * (event + 3 * line + 8) + 4 * 2 * (3 * line + 8) + 4096
}

fuzz_target!(|input: &[u8]| {
    let Some(decoded) = check::decode(input) else {
        return;
    };
    check::split_invariance(&decoded, 512);
    let check::Decoded {
        limits,
        stream,
        chunks,
        ..
    } = decoded;

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
