#!/usr/bin/env bash
# The server's memory per connected client, per arm: for each arm and client count, a fresh
# release `server` process (only that arm's listener), then one `bench` run of SCENARIO against it
# with --server-pid, which reads the server's VmRSS before the clients start and at the end of the
# warm-up (every stream or socket open, no message sent yet) and reports the growth divided by
# the clients as `server_rss_per_client`. A fresh server per point, because memory a process
# frees stays resident. Prints one line per point; the CSV reports stay in OUT.
#
#   scripts/server-memory.sh [SCENARIO [OUT]]    # default: scenarios/sse-vs-websocket.toml, a temp dir
#   ARMS="h1-tls h2 wss" CLIENTS="50 1000" scripts/server-memory.sh
#   RUNS=3 scripts/server-memory.sh              # each point 3 times, and the medians
#
# The figures go to results/benchmarks/server-memory.tsv (scripts/lib/results.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-scenarios/sse-vs-websocket.toml}
out=${2:-$(mktemp -d)}
read -r -a arms <<< "${ARMS:-h1-tls h2 wss}"
read -r -a clients_list <<< "${CLIENTS:-50 1000}"
runs=${RUNS:-1}

source scripts/lib/common.sh
source scripts/lib/results.sh
build_release bench server
RESULTS_COMMAND="ARMS=\"${arms[*]}\" CLIENTS=\"${clients_list[*]}\" RUNS=$runs scripts/server-memory.sh $*" \
  results_begin server-memory "$scenario: a fresh release server per point, bench --server-pid; server_rss_per_client in bytes"
mkdir -p "$out"
trap stop_server EXIT

printf '%-4s %-7s %8s %14s %16s\n' run arm clients streams_opened rss_per_client
for run in $(seq 1 "$runs"); do
for arm in "${arms[@]}"; do
  for clients in "${clients_list[@]}"; do
    dir="$out/$arm-$clients-$run"
    mkdir -p "$dir"
    start_server "$dir/server.out" "$dir/server.err" 1 target/release/server "--$arm" 127.0.0.1:0 \
        --write-cert "$dir/cert.pem" --event-interval 1s --replay-ring 4096 --max-connections 100000
    url=$(listening_url "$dir/server.out")
    sleep 1 # idle before its baseline
    load=$(cut -d' ' -f1 /proc/loadavg)
    target/release/bench "$scenario" --set "protocols=[\"$arm\"]" --set "clients=$clients" \
        --target "$arm=$url" --cacert "$dir/cert.pem" --server-pid "$server_pid" \
        --out "$dir" --no-plot --no-progress > "$dir/bench.out" 2>&1 \
        || { cat "$dir/bench.out" >&2; exit 1; }
    stop_server
    csv=$(ls "$dir"/*.csv)
    opened=$(report_field streams_opened value < "$csv")
    rss=$(report_field server_rss_per_client value < "$csv")
    printf '%-4s %-7s %8s %14s %14s B\n' "$run" "$arm" "$clients" "$opened" "$rss"
    results_add "$run" "$arm clients=$clients" load_average_1min "$load"
    results_add "$run" "$arm clients=$clients" streams_opened "$opened"
    results_add "$run" "$arm clients=$clients" server_rss_per_client "$rss"
  done
done
done
results_medians
results_end
echo "reports: $out" >&2
