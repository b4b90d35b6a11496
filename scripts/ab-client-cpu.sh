#!/usr/bin/env bash
# The load generator's CPU per event, revision A against revision B: two `bench` binaries, built
# from two revisions, take turns against one `server` binary (the current tree's, pinned to CPU 1),
# each pinned to CPU 0, on the efficiency points of scripts/bench-h2-scale.sh (h2: 1 client x 100
# streams; h1: 17 clients x 6 streams; a 100-byte tick every millisecond a stream, 5 s). Which goes
# first alternates run by run (the points: scripts/lib/efficiency.sh). Per run and binary: events received, CPU-seconds (user + system,
# /usr/bin/time) and CPU-seconds per million events; then each arm's medians and the ratio B / A
# of the medians. The machine's noise moves a single run by 10 % or more: read the medians.
#
#   scripts/ab-client-cpu.sh REV_A [REV_B]    # REV_B defaults to the working tree
#   RUNS=7 ARMS=h1 scripts/ab-client-cpu.sh 7afb467
#
# REV_A is built in a git worktree under a temporary directory with its own target directory (a
# cold release build: a few minutes). Results: results/benchmarks/NAME.tsv (NAME defaults to
# client-cpu-ab; scripts/lib/results.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
rev_a=${1:?usage: $0 REV_A [REV_B]}
rev_b=${2:-}
runs=${RUNS:-5}
read -r -a arms <<< "${ARMS:-h2 h1}"
name=${NAME:-client-cpu-ab}
source scripts/lib/common.sh
source scripts/lib/results.sh
source scripts/lib/efficiency.sh
for arm in "${arms[@]}"; do efficiency_shape "$arm" > /dev/null || exit 2; done
command -v taskset >/dev/null || { echo "error: taskset is missing (util-linux)" >&2; exit 2; }

work=$(mktemp -d)
cleanup() {
  stop_server
  git worktree remove --force "$work/a" 2>/dev/null || true
  [ -z "$rev_b" ] || git worktree remove --force "$work/b" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# build REV DIR: the release bench of REV, copied to DIR/bench.
build() {
  git worktree add -q --detach "$2" "$1"
  (cd "$2" && CARGO_TARGET_DIR="$2/target" cargo build --release --locked -q -p bench) >&2
  cp "$2/target/release/bench" "$2/bench"
}
echo "building bench at $rev_a (a cold release build)" >&2
build "$rev_a" "$work/a"
bench_a=$work/a/bench
build_release bench server
if [ -n "$rev_b" ]; then
  echo "building bench at $rev_b" >&2
  build "$rev_b" "$work/b"
  bench_b=$work/b/bench
else
  bench_b=target/release/bench
fi
label_b=${rev_b:-working tree ($(git rev-parse --short HEAD))}

RESULTS_COMMAND="RUNS=$runs ARMS=\"${arms[*]}\" scripts/ab-client-cpu.sh $rev_a${rev_b:+ $rev_b}" \
  results_begin "$name" "bench's CPU-seconds per million events, A = $rev_a, B = $label_b, against the current tree's server binary (CPU 1), bench on CPU 0, the two alternating"

for arm in "${arms[@]}"; do
  read -r clients streams < <(efficiency_shape "$arm")
  start_server "$work/server.out" "$work/server.err" 1 taskset -c 1 target/release/server "--$arm" 127.0.0.1:0 \
    --write-cert "$work/cert.pem" --max-connections 19000 --max-concurrent-streams 1000
  url=$(listening_url "$work/server.out")
  echo "== $arm: $clients x $streams streams, $runs runs each, A = $rev_a, B = $label_b"
  for i in $(seq 1 "$runs"); do
    if [ $((i % 2)) = 1 ]; then order="a b"; else order="b a"; fi
    for which in $order; do
      bin=$bench_a
      [ "$which" = a ] || bin=$bench_b
      efficiency_run "$bin" "$arm" "$url" "$work/cert.pem" "$work/$arm-$which-$i"
      csv=$(ls "$work/$arm-$which-$i"/report/*.csv)
      events=$(report_field events_received value < "$csv")
      errors=$(report_field errors value < "$csv")
      read -r user sys < "$work/$arm-$which-$i/cpu"
      cpu=$(echo "$user + $sys" | bc)
      per_m=$(awk -v c="$cpu" -v e="$events" 'BEGIN { printf "%.3f", c / (e / 1e6) }')
      printf '%-3s run %s %s: %7d events, %d errors, %5.2f CPU-s, %6s CPU-s per million\n' \
        "$arm" "$i" "$which" "$events" "$errors" "$cpu" "$per_m"
      results_add "$i" "$arm-$which" events "$events"
      results_add "$i" "$arm-$which" errors "$errors"
      results_add "$i" "$arm-$which" cpu_s "$cpu"
      results_add "$i" "$arm-$which" cpu_s_per_million_events "$per_m"
    done
    results_add "$i" machine load_average_1min "$(cut -d' ' -f1 /proc/loadavg)"
  done
  stop_server
done
results_medians
for arm in "${arms[@]}"; do
  a=$(results_median "$arm-a" cpu_s_per_million_events)
  b=$(results_median "$arm-b" cpu_s_per_million_events)
  ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')
  echo "   $arm: median CPU-s per million events A $a, B $b: B / A = $ratio"
  results_add median "$arm" ratio_b_to_a "$ratio"
done
results_end
