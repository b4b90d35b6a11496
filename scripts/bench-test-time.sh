#!/usr/bin/env bash
# How long the README's test command takes, as a new user runs it: `time scripts/test.sh` on a
# clean clone of HEAD with an empty target directory (cold build: every dependency compiled), and
# how that splits into building and running the test binaries. Writes
# results/benchmarks/test-time.tsv (scripts/lib/results.sh), which the README's test section cites.
#
#   scripts/bench-test-time.sh           # one run (a cold run takes 10 minutes or more here)
#   RUNS=3 scripts/bench-test-time.sh    # three, with medians
#   WARM=1 scripts/bench-test-time.sh    # reuse this checkout's target/ (only the test run counts)
#   NAME=test-time-x scripts/bench-test-time.sh   # results/benchmarks/<NAME>.tsv
#   KEEP_LOGS=DIR scripts/bench-test-time.sh      # keep each run's whole log (every binary's time)
#
# Figures, per run: `total_s` is the whole command (installing nothing: the packages are already
# there), `test_binaries_s` the runner's own sum line ("N test jobs in S s wall"), `build_s` the
# rest (compiling, linking, the server binary), `binaries_failed` how many test jobs failed,
# `exit` the command's exit status. Each cold run builds into a fresh directory that is removed
# afterwards (several GB).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
runs=${RUNS:-1}
name=${NAME:-test-time}
source scripts/lib/results.sh

scratch=$(mktemp -d /tmp/ssebench-test-time.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
git clone -q "$top" "$scratch/clone"

mode=cold
[ -z "${WARM:-}" ] || mode=warm
SCRIPT_ARGS="(RUNS=$runs, $mode)" results_begin "$name" \
  "scripts/test.sh on a clean clone of HEAD; $mode target directory; JOBS and TEST_THREADS at their defaults"
for run in $(seq "$runs"); do
  if [ "$mode" = cold ]; then
    target="$scratch/target"
    rm -rf "$target"
  else
    target="$top/target"
  fi
  log="$scratch/run-$run.log"
  echo "run $run of $runs ($mode): scripts/test.sh, log in $log" >&2
  start=$(date +%s.%N)
  set +e
  (cd "$scratch/clone" && CARGO_TARGET_DIR="$target" scripts/test.sh) > "$log" 2>&1
  status=$?
  set -e
  end=$(date +%s.%N)
  total=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", b - a }')
  tests=$(awk '/^==== [0-9]+ test jobs in [0-9.]+ s wall/ { print $6 }' "$log")
  failed=$(awk '/^error: [0-9]+ of [0-9]+ test jobs failed/ { print $2 }' "$log")
  if [ -z "$tests" ]; then
    echo "error: run $run printed no summary line (exit $status); its last lines:" >&2
    tail -20 "$log" >&2
    results_add "$run" tests exit "$status"
    continue
  fi
  results_add "$run" tests total_s "$total"
  results_add "$run" tests test_binaries_s "$tests"
  results_add "$run" tests build_s "$(awk -v a="$total" -v b="$tests" 'BEGIN { print a - b }')"
  results_add "$run" tests binaries_failed "${failed:-0}"
  results_add "$run" tests exit "$status"
  awk '/^==== test binaries/,/^==== [0-9]+ test jobs/' "$log" | head -12 | sed 's/^/  /' >&2
  echo "run $run: $total s in all, $tests s of test binaries, exit $status" >&2
  [ -z "${KEEP_LOGS:-}" ] || { mkdir -p "$KEEP_LOGS" && cp "$log" "$KEEP_LOGS/"; }
  [ "$mode" = warm ] || rm -rf "$target"
done
results_medians
results_end
