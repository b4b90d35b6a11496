//! Inputs found or kept by the fuzz target (`fuzz/fuzz_targets/parse.rs`), replayed with the same
//! decoding and the same split-invariance checks on every `cargo test`. A crash input from
//! `fuzz/artifacts/parse/` goes into `tests/fuzz-regressions/` with a name that says what it
//! exercised; it then stays fixed.
//!
//! Input layout (as in the fuzz target): byte 0 picks the limits, byte 1 the number of cuts
//! (0..=15), then two bytes (little endian) per cut, then the stream.

use std::path::Path;

#[path = "../../../fuzz/check.rs"]
mod check;

/// What each kept input ends with: no error, or the limit it crosses.
const OUTCOMES: &[(&str, &str)] = &[
    ("bom-mixed-endings-split", "ok"),
    ("chat-events-split", "ok"),
    ("event-over-the-cap-in-short-lines", "EventTooLarge"),
    ("invalid-utf8-everywhere", "ok"),
    ("line-over-the-cap-without-newline", "LineTooLong"),
    ("lossy-line-tripled-near-the-cap", "ok"),
    ("nul-id-and-bad-retry", "ok"),
    ("partial-bom-then-cr-at-chunk-end", "ok"),
];

fn outcome(error: &Option<sse_wire::ParseError>) -> &'static str {
    match error {
        None => "ok",
        Some(sse_wire::ParseError::LineTooLong { .. }) => "LineTooLong",
        Some(sse_wire::ParseError::EventTooLarge { .. }) => "EventTooLarge",
    }
}

#[test]
fn kept_fuzz_inputs_keep_their_invariants() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz-regressions");
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/fuzz-regressions")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    let mut seen = Vec::new();
    for path in entries {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let input = std::fs::read(&path).expect("readable input");
        let decoded = check::decode(&input)
            .unwrap_or_else(|| panic!("{} is not a fuzz input", path.display()));
        let run = check::split_invariance(&decoded, usize::MAX);
        let expected = OUTCOMES
            .iter()
            .find(|(n, _)| *n == name)
            .unwrap_or_else(|| panic!("{name}: a kept input says its outcome in OUTCOMES"))
            .1;
        assert_eq!(outcome(&run.error), expected, "{name}: {:?}", run.error);
        seen.push(name);
    }
    assert_eq!(
        seen.len(),
        OUTCOMES.len(),
        "every input of OUTCOMES is kept: {seen:?}"
    );
}
