#!/usr/bin/env bash
# Is the load generator what limits a run? Runs scenarios/chat-1000.toml (1,000 clients, one SSE
# stream each, everyone POSTs, every message fans out to every stream) against the release server
# binary in a separate process, bench pinned to CPU 0 and the server to CPU 1, for each arm.
# Reports, per arm: events parsed per second, CPU seconds used by bench and by the server (and each
# as a share of the measured wall time), and bench memory per open stream: (max RSS at 1,000 clients
# - max RSS at 10 clients) / 990 streams, both measured in this run.
#
#   scripts/loadgen-capacity.sh [ARM...]      # default: h2 h1-tls
#
# The figures go to results/benchmarks/loadgen-capacity.tsv (scripts/lib/results.sh), one run.
set -euo pipefail
cd "$(dirname "$0")/.."
arms=("$@")
[ ${#arms[@]} -gt 0 ] || arms=(h2 h1-tls)

SCRIPT_ARGS="$*"
source scripts/lib/common.sh
source scripts/lib/results.sh
build_release bench server
results_begin loadgen-capacity "scenarios/chat-1000.toml against the server binary, bench on CPU 0, server on CPU 1; one run per arm"
work=$(mktemp -d)
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

cpu_seconds() { # utime + stime of a pid, in seconds
  awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"
}

scenario_for() { # $1 arm, $2 clients -> scenario path
  local f="$work/chat-$1-$2.toml"
  sed -e "s/^protocols = .*/protocols = [\"$1\"]/" -e "s/^clients = .*/clients = $2/" \
      -e "s/^name = .*/name = \"chat-capacity\"/" scenarios/chat-1000.toml > "$f"
  echo "$f"
}

printf '%-7s %8s %10s %12s %12s %12s %12s %14s\n' arm clients events/s bench_cpu_s server_cpu_s bench_cpu% server_cpu% mem_per_stream
for arm in "${arms[@]}"; do
  flag="--$arm"
  start_server "$work/server.out" "$work/server.err" 1 taskset -c 1 target/release/server "$flag" 127.0.0.1:0 \
      --write-cert "$work/cert.pem" --event-interval 1s --replay-ring 4096 --max-connections 100000
  url=$(listening_url "$work/server.out")

  declare -A rss=()
  for clients in 10 1000; do
    s0=$(cpu_seconds "$server_pid")
    start=$(date +%s.%N)
    /usr/bin/time -f '%M %U %S' -o "$work/time" taskset -c 0 target/release/bench "$(scenario_for "$arm" "$clients")" \
        --target "$arm=$url" --cacert "$work/cert.pem" --out "$work/out-$arm-$clients" --no-plot --no-progress \
        > "$work/bench-$arm-$clients.out" 2>&1 || { cat "$work/bench-$arm-$clients.out" >&2; exit 1; }
    wall=$(echo "$(date +%s.%N) - $start" | bc)
    s1=$(cpu_seconds "$server_pid")
    read -r maxrss_kb user sys < "$work/time"
    rss[$clients]=$maxrss_kb
    csv=$(ls "$work/out-$arm-$clients"/*.csv)
    events=$(report_field events_received value < "$csv")
    # Events arrive from the first stream opening to the end: warm-up + duration (20 s).
    eps=$(echo "$events / 20" | bc)
    bench_cpu=$(echo "$user + $sys" | bc)
    server_cpu=$(echo "$s1 - $s0" | bc)
    if [ "$clients" = 1000 ]; then
      per=$(( (rss[1000] - rss[10]) * 1024 / 990 ))
      printf '%-7s %8s %10s %12.2f %12.2f %11.0f%% %11.0f%% %12s B\n' "$arm" "$clients" "$eps" "$bench_cpu" "$server_cpu" \
        "$(echo "100 * $bench_cpu / $wall" | bc -l)" "$(echo "100 * $server_cpu / $wall" | bc -l)" "$per"
      results_add 1 "$arm" load_average_1min "$(cut -d' ' -f1 /proc/loadavg)"
      results_add 1 "$arm" events_per_s "$eps"
      results_add 1 "$arm" bench_cpu_s "$bench_cpu"
      results_add 1 "$arm" server_cpu_s "$server_cpu"
      results_add 1 "$arm" bench_cpu_percent "$(echo "100 * $bench_cpu / $wall" | bc -l | xargs printf '%.0f')"
      results_add 1 "$arm" server_cpu_percent "$(echo "100 * $server_cpu / $wall" | bc -l | xargs printf '%.0f')"
      results_add 1 "$arm" bench_memory_bytes_per_stream "$per"
      grep -E "^(clients|[0-9]+ +[0-9]+ +[a-z])" "$work/bench-$arm-$clients.out" | sed 's/^/    /' >&2 || true
    fi
  done
  stop_server
done
results_medians
results_end
