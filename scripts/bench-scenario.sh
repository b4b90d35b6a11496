#!/usr/bin/env bash
# Runs a scenario RUNS times with the release `bench` and records every point's figures, each run's
# and their medians, in results/benchmarks/scenario-NAME[-LABEL].tsv (scripts/lib/results.sh):
# what the README's tables of a shipped scenario are read from.
#
#   scripts/bench-scenario.sh NAME RUNS [BENCH ARGS...]
#   scripts/bench-scenario.sh lossy-network 3                       # as root: [network]
#   LABEL=ws scripts/bench-scenario.sh reconnect 1 --set 'protocols=["h2", "ws", "wss"]'
#
# NAME is a shipped scenario (`bench scenarios`) or a scenario file. Per point (the case: arm,
# clients, streams per client, and the network when emulated): the counters the README's tables
# use (streams, connections by the client and by the server, POSTs, the loss proof, reconnects,
# errors, events, every `*_censored` count: a latency marked `>=` has censored samples), and for
# every latency with samples its count, p50 and p99 in ms. Each run's summary table (bench's own
# output) is kept in the file as `# run N:` lines, and each run's load average as a figure.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n '6,8p' "$0" | sed 's/^# *//' >&2; exit 2; }
name=$1 runs=$2
shift 2
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "error: RUNS must be a positive integer, not '$runs'" >&2; exit 2; }
SCRIPT_ARGS="$name $runs $*"
source scripts/lib/common.sh
source scripts/lib/results.sh
build_release bench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

label=$(basename "$name" .toml)${LABEL:+-$LABEL}
results_begin "scenario-$label" "bench $name $*: every point's figures per run (latencies in ms), medians over the $runs runs"

# Every point's figures of one report, as `case<TAB>metric<TAB>value` lines.
figures() {
  awk -F, '
    NR == 1 { for (i = 1; i <= NF; i++) at[$i] = i; next }
    {
      point = $at["protocol"] " clients=" $at["clients"] " streams=" $at["streams_per_client"]
      if ($at["network"] != "loopback") point = point " " $at["network"]
      m = $at["metric"]
      if ($at["kind"] == "counter") {
        if (m ~ /^(streams_(requested|opened|queued_at_end|open_at_end)|connections_carrying_requests|server_connections_carrying_requests|posts_(scheduled|completed|stalled_at_end)|messages_(expected|lost|duplicated|missed)|reconnects|events_received|errors|errors_.*|server_rss_per_client|.*_censored)$/)
          printf "%s\t%s\t%s\n", point, m, $at["value"]
      } else if ($at["count"] > 0) {
        printf "%s\t%s_count\t%s\n", point, m, $at["count"]
        printf "%s\t%s_p50_ms\t%.3f\n", point, m, $at["p50"] / 1000
        printf "%s\t%s_p99_ms\t%.3f\n", point, m, $at["p99"] / 1000
      }
    }' "$1"
}

for i in $(seq 1 "$runs"); do
  load=$(cut -d' ' -f1 /proc/loadavg)
  echo "== $name: run $i of $runs (load average $load)" >&2
  status=0
  target/release/bench "$name" --out "$work/run$i" --no-plot --no-progress "$@" \
    > "$work/run$i.out" 2> "$work/run$i.err" || status=$?
  if [ "$status" -ne 0 ]; then
    echo "error: bench exited $status:" >&2
    tail -5 "$work/run$i.err" >&2
    exit 1
  fi
  grep -vE "^(report|time series|plot): " "$work/run$i.out" | sed "s/^/# run $i: /" >> "$RESULTS_FILE" || true
  results_add "$i" machine load_average_1min "$load"
  while IFS=$'\t' read -r point metric value; do
    results_add "$i" "$point" "$metric" "$value"
  done < <(figures "$(ls "$work/run$i"/*.csv)")
done
results_medians
results_end
