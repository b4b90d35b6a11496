//! Inputs found or kept by the fuzz target (`fuzz/fuzz_targets/parse.rs`), replayed with the same
//! decoding and the same split-invariance checks on every `cargo test`. A crash input from
//! `fuzz/artifacts/parse/` goes into `tests/fuzz-regressions/` with a name that says what it
//! exercised; it then stays fixed.
//!
//! Input layout (as in the fuzz target): byte 0 picks the limits, byte 1 the number of cuts
//! (0..=15), then two bytes (little endian) per cut, then the stream.

use std::path::Path;

use sse_wire::{Item, Limits, ParseError, Parser};

#[derive(Debug, Clone, PartialEq, Eq)]
enum Owned {
    Event {
        event_type: String,
        data: String,
        id: String,
    },
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

fn run<'a>(limits: Limits, chunks: impl IntoIterator<Item = &'a [u8]>) -> Run {
    let mut parser = Parser::with_limits(limits);
    let mut items = Vec::new();
    let mut error = None;
    for chunk in chunks {
        if let Err(e) = parser.feed(chunk, |item| items.push(Owned::from(item))) {
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

/// The fuzz target's checks, minus its allocation accounting. Returns the whole-stream run.
fn check(input: &[u8]) -> Option<Run> {
    let (&selector, rest) = input.split_first()?;
    let (&ncuts, rest) = rest.split_first()?;
    let ncuts = usize::from(ncuts % 16);
    if rest.len() < 2 * ncuts {
        return None;
    }
    let (cut_bytes, stream) = rest.split_at(2 * ncuts);
    let limits = limits(selector);
    let mut cuts: Vec<usize> = cut_bytes
        .chunks(2)
        .map(|c| usize::from(u16::from_le_bytes([c[0], c[1]])) % (stream.len() + 1))
        .collect();
    cuts.sort_unstable();
    let mut chunks = Vec::new();
    let mut from = 0;
    for &cut in &cuts {
        chunks.push(&stream[from..cut]);
        from = cut;
    }
    chunks.push(&stream[from..]);
    let whole = run(limits, [stream]);
    let split = run(limits, chunks.iter().copied());
    let bytewise = run(limits, stream.chunks(1));
    for other in [&split, &bytewise] {
        assert_eq!(whole.items, other.items, "cuts {cuts:?}");
        assert_eq!(whole.error, other.error, "cuts {cuts:?}");
        if whole.error.is_none() {
            assert_eq!(&whole, other, "cuts {cuts:?}");
        }
    }
    Some(whole)
}

#[test]
fn kept_fuzz_inputs_keep_their_invariants() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut checked = 0;
    let mut errors = 0;
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/fuzz-regressions")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let input = std::fs::read(&path).expect("readable input");
        let run = check(&input).unwrap_or_else(|| panic!("{} is not a fuzz input", path.display()));
        checked += 1;
        errors += usize::from(run.error.is_some());
    }
    assert!(checked >= 6, "{checked} inputs");
    assert!(errors >= 2, "the kept inputs cross both limits");
}
