#!/usr/bin/env bash
# A server's memory per connected client, per arm: for each arm, client count and streams per
# client, a fresh server process (ours: the release `server` with only that arm's listener), then
# one `bench` run of SCENARIO against it with --server-pid, which reads the server's VmRSS before
# the clients start and at the end of the warm-up (every stream or socket open, no message sent
# yet) and reports the growth divided by the clients as `server_rss_per_client`. A fresh server
# per point, because memory a process frees stays resident. With SERVERS="ours nchan" each point
# also runs against a fresh nginx with the nchan module (scripts/lib/nchan.sh), whose one worker
# process (not the master) is the one measured, and the two take turns (which goes first
# alternates run by run). Prints one line per point; the CSV reports stay in OUT.
#
#   scripts/server-memory.sh [SCENARIO [OUT]]    # default: scenarios/sse-vs-websocket.toml, a temp dir
#   ARMS="h1-tls h2 wss" CLIENTS="50 1000" scripts/server-memory.sh
#   RUNS=3 scripts/server-memory.sh              # each point 3 times, and the medians
#   SERVERS="ours nchan" ARMS="h1 h1-tls h2 ws wss" CLIENTS="1000 5000" RUNS=3 scripts/server-memory.sh
#   SERVERS="ours nchan" ARMS=h2 CLIENTS=20 STREAMS="1 250" NAME=server-memory-h2-streams RUNS=3 \
#     scripts/server-memory.sh                   # memory per additional HTTP/2 stream
#
# Both servers alike: one worker (ours: one tokio worker thread; nginx: `worker_processes 1`)
# pinned to CPU 1, bench pinned to CPU 0, the same certificate (ECDSA P-256), HTTP/2's
# SETTINGS_MAX_CONCURRENT_STREAMS 256 (so 250 streams fit on a connection; Chromium's own cap is
# 256), the address space capped at MEMORY_CAP_KB (default 2 GiB). The subscribers are idle:
# ours sends no ticks (TICKS, default 1d; nchan sends none) and the scenario's POSTs are off; the
# point lasts WARMUP (default 10s: the clients connect) + 1 s. nchan's subscribers are at
# /sub?channel= (EventSource, and the WebSocket arms' sockets), given to bench as --events-path
# and the ws/wss target's path.
#
# Per point and server, in results/benchmarks/NAME.tsv (scripts/lib/results.sh; NAME defaults to
# server-memory, or server-memory-nchan with nchan among SERVERS): the baseline RSS (read just
# before bench starts), rss_per_client in bytes, streams opened and open at the end, the slowest
# stream's time to open (under WARMUP: every stream was open when the memory was read), and with
# both servers the ratio ours / nchan of the medians. With two STREAMS values S1 < S2 the file
# also gives each server's growth per additional stream, (median at S2 - median at S1) per client
# divided by (S2 - S1).
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-scenarios/sse-vs-websocket.toml}
out=${2:-$(mktemp -d)}
read -r -a servers <<< "${SERVERS:-ours}"
read -r -a arms <<< "${ARMS:-h1-tls h2 wss}"
read -r -a clients_list <<< "${CLIENTS:-50 1000}"
read -r -a streams_list <<< "${STREAMS:-1}"
runs=${RUNS:-1}
ticks=${TICKS:-1d}
warmup=${WARMUP:-10s}
cap_kb=${MEMORY_CAP_KB:-2097152}
if [[ " ${servers[*]} " == *" nchan "* ]]; then name=${NAME:-server-memory-nchan}; else name=${NAME:-server-memory}; fi

source scripts/lib/common.sh
source scripts/lib/results.sh
[[ " ${servers[*]} " != *" nchan "* ]] || source scripts/lib/nchan.sh
build_release bench server
export NGINX_H2_STREAMS=256
nchan_note=""
[ -z "${nchan_module:-}" ] ||
  nchan_note="; nginx $(nginx -v 2>&1 | cut -d/ -f2) + nchan $(dpkg-query -W -f '${Version}' libnginx-mod-nchan), 1 worker, the worker's RSS"
RESULTS_COMMAND="SERVERS=\"${servers[*]}\" ARMS=\"${arms[*]}\" CLIENTS=\"${clients_list[*]}\" STREAMS=\"${streams_list[*]}\" RUNS=$runs TICKS=$ticks WARMUP=$warmup NAME=$name scripts/server-memory.sh $*" \
  results_begin "$name" "$scenario with warmup=$warmup, duration=1s, no POSTs: a fresh server process per point (ours: release server, 1 tokio worker, ticks every $ticks$nchan_note), each on CPU 1, bench on CPU 0 with --server-pid; case = ARM-CLIENTS-STREAMS_PER_CLIENT; rss_per_client in bytes"
mkdir -p "$out"
work=$(mktemp -d)
cleanup() {
  stop_server
  [ -z "${nginx_pid:-}" ] || stop_nchan
  rm -rf "$work"
}
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$work/key.pem" -out "$work/cert.pem" -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null

# start_point SERVER ARM: a fresh server; sets pid (the process to measure), url, extra (bench args).
start_point() {
  local arm=$2
  extra=(--cacert "$work/cert.pem")
  if [ "$1" = ours ]; then
    start_server "$dir/server.out" "$dir/server.err" 1 env TOKIO_WORKER_THREADS=1 taskset -c 1 \
      prlimit --as=$((cap_kb * 1024)) target/release/server "--$arm" 127.0.0.1:0 \
      --cert "$work/cert.pem" --key "$work/key.pem" --event-interval "$ticks" --replay-ring 4096 \
      --max-connections 100000 --max-concurrent-streams 256
    pid=$server_pid
    url=$(listening_url "$dir/server.out")
  else
    start_nchan
    pid=$nginx_worker
    extra+=(--events-path '/sub?channel=CHANNEL' --messages-path '/pub?channel=CHANNEL')
    case $arm in
      h1) url=$nchan_h1 ;;
      h1-tls | h2) url=$nchan_h2 ;;
      ws) url="ws://${nchan_h1#http://}/sub?channel=bench" ;;
      wss) url="wss://${nchan_h2#https://}/sub?channel=bench" ;;
      *) echo "error: nchan has no $arm arm here" >&2; exit 2 ;;
    esac
  fi
}
stop_point() { if [ "$1" = ours ]; then stop_server; else stop_nchan; fi; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

printf '%-4s %-6s %-7s %8s %8s %14s %14s\n' run server arm clients streams streams_open rss_per_client
for run in $(seq 1 "$runs"); do
  results_add "$run" machine load_average_1min "$(cut -d' ' -f1 /proc/loadavg)"
  order=("${servers[@]}")
  [ $((run % 2)) -eq 1 ] || { for ((i = 0; i < ${#servers[@]}; i++)); do order[i]=${servers[${#servers[@]} - 1 - i]}; done; }
  for arm in "${arms[@]}"; do
    for clients in "${clients_list[@]}"; do
      for streams in "${streams_list[@]}"; do
        case="$arm-$clients-$streams"
        for server in "${order[@]}"; do
          dir="$out/$server-$case-$run"
          mkdir -p "$dir"
          start_point "$server" "$arm"
          sleep 1 # idle before its baseline
          before=$(rss_kib "$pid")
          taskset -c 0 target/release/bench "$scenario" --set "protocols=[\"$arm\"]" --set "clients=$clients" \
            --set "streams_per_client=$streams" --set "warmup=$warmup" --set duration=1s \
            --set posts.rate_per_client=0 --set connect_timeout=30s \
            --target "$arm=$url" "${extra[@]}" --server-pid "$pid" \
            --out "$dir" --no-plot --no-progress > "$dir/bench.out" 2>&1 \
            || { cat "$dir/bench.out" >&2; exit 1; }
          stop_point "$server"
          csv=$(ls "$dir"/*.csv)
          opened=$(report_field streams_opened value < "$csv")
          open=$(report_field streams_open_at_end value < "$csv")
          rss=$(report_field server_rss_per_client value < "$csv")
          printf '%-4s %-6s %-7s %8s %8s %14s %12s B\n' "$run" "$server" "$arm" "$clients" "$streams" "$open" "$rss"
          results_add "$run" "$case" "${server}_rss_before_kib" "$before"
          results_add "$run" "$case" "${server}_streams_opened" "$opened"
          results_add "$run" "$case" "${server}_streams_open_at_end" "$open"
          results_add "$run" "$case" "${server}_rss_per_client" "$rss"
          # Under the warm-up: every stream was open when the memory was read.
          results_add "$run" "$case" "${server}_time_to_open_max_ms" \
            "$(awk -v us="$(report_field time_to_open max < "$csv")" 'BEGIN { printf "%.1f", us / 1000 }')"
        done
      done
    done
  done
done
results_medians
for arm in "${arms[@]}"; do
  for clients in "${clients_list[@]}"; do
    for streams in "${streams_list[@]}"; do
      case="$arm-$clients-$streams"
      [ ${#servers[@]} -lt 2 ] ||
        results_add median "$case" ratio_rss_per_client_ours_to_nchan \
          "$(awk -v o="$(results_median "$case" ours_rss_per_client)" -v n="$(results_median "$case" nchan_rss_per_client)" 'BEGIN { printf "%.3f", o / n }')"
    done
    # The growth per additional stream on a connection, between the first two STREAMS values.
    [ ${#streams_list[@]} -lt 2 ] || for server in "${servers[@]}"; do
      s1=${streams_list[0]} s2=${streams_list[1]}
      a=$(results_median "$arm-$clients-$s1" "${server}_rss_per_client")
      b=$(results_median "$arm-$clients-$s2" "${server}_rss_per_client")
      results_add median "$arm-$clients-$s1-to-$s2" "${server}_rss_per_additional_stream" \
        "$(awk -v a="$a" -v b="$b" -v s1="$s1" -v s2="$s2" 'BEGIN { printf "%.0f", (b - a) / (s2 - s1) }')"
    done
  done
done
results_end
grep -E '^median' "$RESULTS_FILE" | grep -E 'rss_per|ratio' | cut -f2- | column -t
echo "reports: $out" >&2
