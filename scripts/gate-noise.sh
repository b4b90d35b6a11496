#!/usr/bin/env bash
# The noise the CI gate's rules are set against: scenarios/ci-smoke.toml run N times at normal
# priority and N times at real-time priority (chrt --fifo 10, as scripts/ci-regression.sh runs
# it), alternating, on the machine as it is. Per run and point: whether the harness warned that
# its own timers ran late (client_lag or server_lag p99 over 5 ms), client_lag p99, and the p50
# of the latencies the gate judges; per run: the points with such a warning. The figures, each
# run's and their medians, go to results/benchmarks/gate-noise.tsv (scripts/lib/results.sh).
#
#   scripts/gate-noise.sh [N]        # default 5 runs of each
set -euo pipefail

main() {
  cd "$(dirname "$0")/.."
  SCRIPT_ARGS="$*"
  source scripts/lib/common.sh
  source scripts/lib/results.sh
  local n=${1:-5}
  build_release bench
  chrt --fifo 10 true 2>/dev/null || { echo "error: chrt --fifo is not permitted here (needs root)" >&2; exit 2; }
  local work
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  results_begin gate-noise "ci-smoke at normal and at real-time priority, alternating; latencies in us"
  local i priority
  for i in $(seq 1 "$n"); do
    for priority in normal realtime; do
      local prefix=()
      [ "$priority" = normal ] || prefix=(chrt --fifo 10)
      results_add "$i" "$priority" load_average_1min "$(cut -d' ' -f1 /proc/loadavg)"
      "${prefix[@]}" target/release/bench scenarios/ci-smoke.toml --out "$work/$priority$i" \
        --no-plot --no-progress > "$work/$priority$i.out" 2>&1
      results_add "$i" "$priority" points_with_late_timers \
        "$(grep -cE '^(warning|note): .*timers ran' "$work/$priority$i.out" || true)"
      awk -F, -v run="$i" -v pr="$priority" '
        NR == 1 { for (c = 1; c <= NF; c++) at[$c] = c; next }
        $at["kind"] == "latency" && $at["count"] > 0 {
          point = pr " " $at["protocol"] " streams=" $at["streams_per_client"]
          m = $at["metric"]
          if (m == "client_lag") printf "%s\t%s\tclient_lag_p99\t%s\n", run, point, $at["p99"]
          else if (m != "server_lag" && m != "replay_fanout")
            printf "%s\t%s\t%s_p50\t%s\n", run, point, m, $at["p50"]
        }' "$(ls "$work/$priority$i"/*.csv)" >> "$RESULTS_FILE"
    done
  done
  results_medians
  results_end
}

main "$@"
