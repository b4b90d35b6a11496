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
        let decoded = check::decode(&input)
            .unwrap_or_else(|| panic!("{} is not a fuzz input", path.display()));
        let run = check::split_invariance(&decoded, usize::MAX);
        checked += 1;
        errors += usize::from(run.error.is_some());
    }
    assert!(checked >= 6, "{checked} inputs");
    assert!(errors >= 2, "the kept inputs cross both limits");
}
