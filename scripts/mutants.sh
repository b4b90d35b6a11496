#!/usr/bin/env bash
# Mutation testing of the core modules with cargo-mutants (https://mutants.rs): each mutant is
# one small break of the code (an operator flipped, a body replaced by a default); the tests
# must fail on it. A surviving ("missed") mutant is a behaviour no test pins.
#
#   scripts/mutants.sh                       # every crate below, one after the other
#   scripts/mutants.sh loadgen               # one crate (loadgen, sse-wire, report or netem)
#   scripts/mutants.sh report -- --list      # extra arguments go to cargo mutants
#   scripts/mutants.sh loadgen -- --iterate  # only mutants not caught by the previous run
#   MUTANTS_FILES="crates/loadgen/src/websocket/gate.rs" scripts/mutants.sh loadgen   # some files
#   MUTANTS_OUT=target/mutants/loadgen-1 scripts/mutants.sh loadgen -- --shard 1/2  # half, in
#                                            # its own output directory (two halves at once)
#
# Install once: cargo install cargo-mutants --locked
#
# It runs one mutant at a time (MUTANTS_JOBS, default 1), in a copy of the tree (cargo-mutants'
# default; the working tree is never touched), with a time limit for each mutant's tests
# (MUTANTS_TIMEOUT seconds; by default 300 for loadgen, whose tests take about 40 s here, 180 for
# netem, and 60 for the others): a mutant that hangs a test counts as "timeout" (caught) and
# costs that long.
# Results: target/mutants/CRATE/mutants.out/{caught,missed,timeout,unviable}.txt, and each
# mutant's build and test output under log/.
#
# How long a full run took here (2 cores shared with other jobs, debug builds, --jobs 1; the
# figures of each run are in scripts/mutants.md): loadgen 53 min on 30 November (238 mutants,
# about 55 s of tests for each that survives); by 7 December it has 389 mutants and 104 s of
# tests, over four hours in one run (two shards at once, MUTANTS_OUT, halve it); sse-wire 6 min,
# report 9 to 18 min, netem 7 min. Too slow for every CI run: run it when the core modules change
# (`-- --in-diff FILE` tests only the mutants a diff touches).
#
# The files mutated, the tests skipped and the survivors judged harmless (with the reason) are
# listed in scripts/mutants.md.
set -euo pipefail

# The core modules, per crate: the files mutated.
files_of() {
  case "$1" in
    loadgen)
      echo crates/loadgen/src/http1/mod.rs crates/loadgen/src/queue.rs \
        crates/loadgen/src/http2/mod.rs crates/loadgen/src/http2/session.rs \
        crates/loadgen/src/http2/rules.rs crates/loadgen/src/post.rs \
        crates/loadgen/src/delivery.rs crates/loadgen/src/websocket/mod.rs \
        crates/loadgen/src/websocket/gate.rs crates/loadgen/src/websocket/outbox.rs
      ;;
    sse-wire) echo crates/sse-wire/src/parse.rs ;;
    report)
      echo crates/report/src/compare/mod.rs crates/report/src/compare/side.rs \
        crates/report/src/compare/line.rs crates/report/src/compare/error.rs \
        crates/report/src/thresholds/mod.rs crates/report/src/thresholds/rule.rs \
        crates/report/src/thresholds/selector.rs crates/report/src/merge.rs
      ;;
    netem) echo crates/netem/src/shaper.rs crates/netem/src/forwarder.rs ;;
    *)
      echo "unknown crate: $1 (loadgen, sse-wire, report or netem)" >&2
      return 2
      ;;
  esac
}

# The whole script is read before it runs (a function), so editing it during a long run is safe.
main() {
  cd "$(dirname "$0")/.."
  local crates=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do
    crates+=("$1")
    shift
  done
  [ "${1:-}" = "--" ] && shift
  [ ${#crates[@]} -eq 0 ] && crates=(loadgen sse-wire report netem)
  local crate
  for crate in "${crates[@]}"; do files_of "$crate" >/dev/null; done

  if ! cargo mutants --version >/dev/null 2>&1; then
    echo "cargo-mutants is not installed: cargo install cargo-mutants --locked" >&2
    exit 2
  fi

  # No debug info: each mutant rebuilds the crate and links its tests, most of the time spent.
  export CARGO_PROFILE_DEV_DEBUG=0 CARGO_PROFILE_TEST_DEBUG=0

  local status=0
  for crate in "${crates[@]}"; do
    local file_args=() f
    for f in ${MUTANTS_FILES:-$(files_of "$crate")}; do file_args+=(--file "$f"); done
    local timeout=${MUTANTS_TIMEOUT:-60}
    local test_args=()
    if [ "$crate" = loadgen ]; then
      timeout=${MUTANTS_TIMEOUT:-300}
      # loadgen's tests mostly wait on timers and sockets (about 10 s of CPU in two minutes):
      # eight test threads cut their wall time by three. Two timing tests are skipped: under
      # that load on a shared machine they fail now and then, which would count mutants as
      # caught that no test caught (simultaneous_events needs 250 streams' events parsed in
      # time; an_idle_runtime... needs 5 wake-ups of a 10 ms timer within 120 ms). Since
      # loadgen's integration tests became one binary (tests/suite/), the eight threads take
      # tests from all its modules at once rather than one file's; cargo-mutants' first,
      # unmutated run fails if that makes a test flaky (not yet tried since the merge).
      test_args=(-- -- --test-threads 8 --skip simultaneous_events
        --skip an_idle_runtime_runs_its_timers_on_time)
    elif [ "$crate" = netem ]; then
      # netem's tests build namespaces (root) and measure delay, rate and loss through them, one
      # at a time (about 20 s here).
      timeout=${MUTANTS_TIMEOUT:-180}
      test_args=(-- -- --test-threads 1)
    fi
    local out=${MUTANTS_OUT:-target/mutants/$crate}
    mkdir -p "$out"
    echo "== $crate: $(date -u +%FT%TZ)"
    local start
    start=$(date +%s)
    cargo mutants --package "$crate" "${file_args[@]}" \
      --jobs "${MUTANTS_JOBS:-1}" --timeout "$timeout" --build-timeout 900 \
      --output "$out" "$@" "${test_args[@]}" || status=$?
    echo "== $crate: $((($(date +%s) - start) / 60)) min"
  done
  # cargo-mutants exits 2 when mutants were missed, 3 when some timed out.
  exit "$status"
}

main "$@"
