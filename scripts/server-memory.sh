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
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-scenarios/sse-vs-websocket.toml}
out=${2:-$(mktemp -d)}
read -r -a arms <<< "${ARMS:-h1-tls h2 wss}"
read -r -a clients_list <<< "${CLIENTS:-50 1000}"

source scripts/lib/common.sh
build_release bench server
mkdir -p "$out"
trap stop_server EXIT

printf '%-7s %8s %14s %16s\n' arm clients streams_opened rss_per_client
for arm in "${arms[@]}"; do
  for clients in "${clients_list[@]}"; do
    dir="$out/$arm-$clients"
    mkdir -p "$dir"
    start_server "$dir/server.out" "$dir/server.err" 1 target/release/server "--$arm" 127.0.0.1:0 \
        --write-cert "$dir/cert.pem" --event-interval 1s --replay-ring 4096 --max-connections 100000
    url=$(listening_url "$dir/server.out")
    sleep 1 # idle before its baseline
    target/release/bench "$scenario" --set "protocols=[\"$arm\"]" --set "clients=$clients" \
        --target "$arm=$url" --cacert "$dir/cert.pem" --server-pid "$server_pid" \
        --out "$dir" --no-plot --no-progress > "$dir/bench.out" 2>&1 \
        || { cat "$dir/bench.out" >&2; exit 1; }
    stop_server
    csv=$(ls "$dir"/*.csv)
    awk -F, -v arm="$arm" -v clients="$clients" '
      NR == 1 { for (i = 1; i <= NF; i++) at[$i] = i; next }
      $at["metric"] == "streams_opened" { opened = $at["value"] }
      $at["metric"] == "server_rss_per_client" { rss = $at["value"] }
      END { printf "%-7s %8s %14s %14s B\n", arm, clients, opened, rss }' "$csv"
  done
done
echo "reports: $out" >&2
