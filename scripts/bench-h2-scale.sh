#!/usr/bin/env bash
# HTTP/2 at scale, and the load generator's cost per event against h2load (issue #9). Four parts:
#
#   scale       100,000 concurrent h2 streams: 400 clients x 250 streams, one tick per second per
#               stream, the embedded server (on its own threads). RUNS runs; per run: streams
#               opened, errors, connections, event_delivery p50/p99, the process's max RSS per
#               stream (client and embedded server together), and the harness-health line. Then
#               one run against the `server` binary in its own process for the client's memory
#               alone (case external: the server's default tick, one a second per stream), and one
#               more with the server sending no ticks (case external-no-ticks, issue 27's
#               configuration).
#   efficiency  CPU-seconds per million events, bench / h2load, same URLs, same `server` binary
#               pinned to CPU 1, the clients pinned to CPU 0, in the same run, RUNS pairs:
#               h2: 1 client x 100 streams on one connection, 1,000 events/s each;
#               h1: 102 connections (17 clients x 6 streams), 1,000 events/s each.
#   h1-18k      18,000 concurrent HTTP/1.1 connections (3,000 clients x 6 streams) against the
#               `server` binary: all open, 0 errors.
#   memory      the load generator's resident memory per h2 stream against the `server` binary
#               (issue 27): bench's defaults for a --target (one load-generator thread) at 100,000
#               and at 10,000 streams, RUNS runs each (the difference divided by 90,000 is the
#               memory one more stream costs, per run), then one run each with two load-generator
#               threads and with jemalloc instead of glibc's malloc (LD_PRELOAD, when
#               libjemalloc.so.2 is installed). Per run: peak RSS (/usr/bin/time), and VmRSS sampled every second: at
#               the end of the warm-up and at the end, so a warm-up transient would show; and
#               the slowest stream's time to open (its creation to its response head).
#               Where it goes (the README's reading, 8,000 streams: 32 x 250, 3 s + 3 s): run
#               `heaptrack target/release/bench POINT.toml --target h2=URL --cacert CERT --no-plot`
#               (bench itself, not through taskset, which heaptrack would trace instead), then
#               `heaptrack_print -f heaptrack.bench.*.zst --print-peaks 1 -n 3`.
#
#   scripts/bench-h2-scale.sh [scale|efficiency|h1-18k|memory ...]  # default: the first three; RUNS=3
#
# Each part writes its figures, each run's and their medians, to results/benchmarks/ (h2-scale.tsv,
# h2-efficiency.tsv, h1-18k.tsv, h2-memory.tsv; scripts/lib/results.sh).
#
# Needs h2load (apt-get install -y nghttp2-client) for `efficiency`, and taskset (util-linux).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(scale efficiency h1-18k)

source scripts/lib/common.sh
source scripts/lib/results.sh
source scripts/lib/efficiency.sh
build_release bench server
bench=target/release/bench
work=$(mktemp -d)
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

field() { report_field "$@"; }
ms() { awk -v us="$1" 'BEGIN { printf "%.2f", us / 1000 }'; }

server() { # $1 = listener flag (--h2, --h1), then more server flags; sets url and server_pid
  local listener=$1
  shift
  start_server "$work/server.out" "$work/server.err" 1 taskset -c 1 target/release/server "$listener" 127.0.0.1:0 \
    --write-cert "$work/cert.pem" --max-connections 19000 --max-concurrent-streams 1000 "$@"
  url=$(listening_url "$work/server.out")
}

# The 100,000-stream scenario (400 clients x 250 h2 streams, a tick a second) into FILE; its
# [server] table sets the embedded server, and `without_server_table FILE` drops it for a run
# against the server binary.
write_h2_100k() {
  cat > "$1" <<'EOF'
name = "h2-100k"
description = "100,000 concurrent h2 streams: 400 clients x 250 streams, one tick per second each"
protocols = ["h2"]
clients = 400
streams_per_client = 250
warmup = "15s"
duration = "20s"
connect_timeout = "30s"
[server]
event_interval = "1s"
max_concurrent_streams = 256
EOF
}
without_server_table() { sed -i 's/^\[server\]/[ignored-server]/; /^\[ignored-server\]/,$d' "$1"; }

scale() {
  write_h2_100k "$work/scale.toml"
  RESULTS_COMMAND="RUNS=$runs scripts/bench-h2-scale.sh scale" results_begin h2-scale \
    "400 clients x 250 h2 streams, embedded server (case embedded), then one run against the server binary (case external) and one with no ticks (case external-no-ticks); latencies in ms"
  echo "== scale: 400 clients x 250 h2 streams, embedded server, $runs runs"
  printf '%-4s %15s %7s %6s %17s %15s %14s\n' run opened errors conns delivery_p50/p99 queue_wait_p99 rss_per_stream
  for i in $(seq 1 "$runs"); do
    /usr/bin/time -f '%M' -o "$work/rss" "$bench" "$work/scale.toml" --out "$work/scale$i" --no-plot --no-progress \
      > "$work/scale$i.out" 2>&1 || { tail -5 "$work/scale$i.out" >&2; exit 1; }
    csv=$(ls "$work/scale$i"/*.csv)
    rss_kb=$(cat "$work/rss")
    printf '%-4s %15s %7s %6s %17s %15s %12s B\n' "$i" \
      "$(field streams_opened value < "$csv")/$(field streams_requested value < "$csv")" \
      "$(field errors value < "$csv")" "$(field connections_carrying_requests value < "$csv")" \
      "$(ms "$(field event_delivery p50 < "$csv")")/$(ms "$(field event_delivery p99 < "$csv")") ms" \
      "$(ms "$(field queue_wait p99 < "$csv")") ms" "$((rss_kb * 1024 / 100000))"
    grep -E '^(threads|warning)' "$work/scale$i.out" | sed 's/^/     /' || true
    grep -E '^(threads|warning)' "$work/scale$i.out" | sed "s/^/# run $i: /" >> "$RESULTS_FILE" || true
    results_add "$i" machine load_average_1min "$(cut -d' ' -f1 /proc/loadavg)"
    for m in streams_requested streams_opened errors connections_carrying_requests; do
      results_add "$i" embedded "$m" "$(field "$m" value < "$csv")"
    done
    results_add "$i" embedded event_delivery_p50_ms "$(ms "$(field event_delivery p50 < "$csv")")"
    results_add "$i" embedded event_delivery_p99_ms "$(ms "$(field event_delivery p99 < "$csv")")"
    results_add "$i" embedded queue_wait_p99_ms "$(ms "$(field queue_wait p99 < "$csv")")"
    results_add "$i" embedded client_lag_p99_ms "$(ms "$(field client_lag p99 < "$csv")")"
    results_add "$i" embedded max_rss_bytes_per_stream "$((rss_kb * 1024 / 100000))"
  done
  without_server_table "$work/scale.toml"
  external_point external ""
  external_point external-no-ticks 1d
  results_medians
  results_end
}

# The scale point against the server binary (its own process, CPU 1): the client's memory alone.
# $1 the case; $2 the server's --event-interval ("": its default, one tick a second per stream;
# 1d: no ticks during the run, as issue 27 measured). The client is bench with its defaults for a
# --target (one load-generator thread), pinned to CPU 0.
external_point() {
  local case=$1 interval=$2 extra=()
  [ -z "$interval" ] || extra=(--event-interval "$interval")
  echo "== scale: the same point against the server binary (its own process, CPU 1${interval:+, --event-interval $interval}): the client's memory alone"
  server --h2 "${extra[@]}"
  /usr/bin/time -f '%M' -o "$work/rss" taskset -c 0 "$bench" "$work/scale.toml" --target "h2=$url" \
    --cacert "$work/cert.pem" --out "$work/$case" --no-plot --no-progress > "$work/$case.out" 2>&1 \
    || { tail -5 "$work/$case.out" >&2; exit 1; }
  stop_server
  csv=$(ls "$work/$case"/*.csv)
  echo "   opened $(field streams_opened value < "$csv"), errors $(field errors value < "$csv"), bench max RSS $(( $(cat "$work/rss") / 1024 )) MiB = $(( $(cat "$work/rss") * 1024 / 100000 )) B per stream"
  grep -E '^(threads|warning)' "$work/$case.out" | sed "s/^/# $case: /" >> "$RESULTS_FILE" || true
  results_add 1 "$case" load_average_1min "$(cut -d' ' -f1 /proc/loadavg)"
  results_add 1 "$case" streams_opened "$(field streams_opened value < "$csv")"
  results_add 1 "$case" errors "$(field errors value < "$csv")"
  results_add 1 "$case" events_received "$(field events_received value < "$csv")"
  results_add 1 "$case" bench_max_rss_mib "$(( $(cat "$work/rss") / 1024 ))"
  results_add 1 "$case" bench_max_rss_bytes_per_stream "$(( $(cat "$work/rss") * 1024 / 100000 ))"
}

# One efficiency pair: $1 arm (h2|h1), $2 h2load flags, $3 the run (scripts/lib/efficiency.sh).
efficiency_pair() {
  local arm=$1 h2load_flags=$2 i=$3 clients streams
  read -r clients streams < <(efficiency_shape "$arm")
  efficiency_run "$bench" "$arm" "$url" "$work/cert.pem" "$work/eff-$arm-$i"
  csv=$(ls "$work/eff-$arm-$i"/report/*.csv)
  local events errors
  events=$(field events_received value < "$csv")
  errors=$(field errors value < "$csv")
  local total=$((clients * streams))
  # h2load: the same streams, each ending after 5,000 ticks (5 s at 1,000/s).
  /usr/bin/time -f '%U %S' -o "$work/h2load-cpu" taskset -c 0 h2load $h2load_flags -n "$total" \
    "$url$EFFICIENCY_PATH&count=5000" > "$work/h2load.out" 2>&1 || { tail -5 "$work/h2load.out" >&2; exit 1; }
  local ok h2load_events
  ok=$(awk '/^requests:/ { print $8 }' "$work/h2load.out")
  h2load_events=$((ok * 5000))
  read -r bu bs < "$work/eff-$arm-$i/cpu"
  read -r hu hs < "$work/h2load-cpu"
  awk -v arm="$arm" -v i="$i" -v be="$events" -v err="$errors" -v bc="$(echo "$bu + $bs" | bc)" \
      -v he="$h2load_events" -v hc="$(echo "$hu + $hs" | bc)" 'BEGIN {
    bpm = bc / (be / 1e6); hpm = hc / (he / 1e6)
    printf "%-3s %-3s %10d %6d %9.2f %10.2f %10d %9.2f %10.2f %6.2fx\n", arm, i, be, err, bc, bpm, he, hc, hpm, bpm / hpm
  }' | tee -a "$work/ratios-$arm"
  # The line just printed, as figures.
  read -r _ _ be err bc bpm he hc hpm ratio < <(tail -1 "$work/ratios-$arm")
  results_add "$i" machine load_average_1min "$(cut -d' ' -f1 /proc/loadavg)"
  results_add "$i" "$arm" bench_events "$be"
  results_add "$i" "$arm" errors "$err"
  results_add "$i" "$arm" bench_cpu_s "$bc"
  results_add "$i" "$arm" bench_cpu_s_per_million_events "$bpm"
  results_add "$i" "$arm" h2load_events "$he"
  results_add "$i" "$arm" h2load_cpu_s "$hc"
  results_add "$i" "$arm" h2load_cpu_s_per_million_events "$hpm"
  results_add "$i" "$arm" ratio_bench_to_h2load "${ratio%x}"
}

efficiency() {
  command -v h2load >/dev/null || { echo "error: h2load is missing: apt-get install -y nghttp2-client" >&2; exit 2; }
  RESULTS_COMMAND="RUNS=$runs scripts/bench-h2-scale.sh efficiency" results_begin h2-efficiency \
    "CPU-seconds per million events, bench / h2load, same server pinned to CPU 1, clients to CPU 0; h2: 1 x 100 streams, h1: 17 x 6"
  echo "== efficiency: CPU-seconds per million events, bench / h2load, $runs pairs per arm"
  printf '%-3s %-3s %10s %6s %9s %10s %10s %9s %10s %7s\n' arm run bench_ev errors bench_cpu bench_s/M h2load_ev h2load_cpu h2load_s/M ratio
  server --h2
  for i in $(seq 1 "$runs"); do efficiency_pair h2 "-c1 -m100" "$i"; done
  stop_server
  server --h1
  for i in $(seq 1 "$runs"); do efficiency_pair h1 "--h1 -c102 -m1" "$i"; done
  stop_server
  for arm in h2 h1; do
    echo "   $arm: median ratio $(awk '{ print $NF }' "$work/ratios-$arm" | tr -d x | median)x (goal <= 1.25x)"
  done
  results_medians
  results_end
}

h1_18k() {
  cat > "$work/h1.toml" <<'EOF'
name = "h1-18k"
description = "18,000 concurrent HTTP/1.1 connections: 3,000 clients x 6 streams"
protocols = ["h1"]
clients = 3000
streams_per_client = 6
warmup = "20s"
duration = "10s"
connect_timeout = "30s"
EOF
  RESULTS_COMMAND="scripts/bench-h2-scale.sh h1-18k" results_begin h1-18k \
    "3,000 clients x 6 h1 streams against the server binary, one run; latencies in ms"
  echo "== h1-18k: 3,000 clients x 6 h1 streams against the server binary"
  server --h1
  taskset -c 0 "$bench" "$work/h1.toml" --target "h1=$url" --out "$work/h1" --no-plot --no-progress \
    > "$work/h1.out" 2>&1 || { tail -5 "$work/h1.out" >&2; exit 1; }
  stop_server
  csv=$(ls "$work/h1"/*.csv)
  echo "   opened $(field streams_opened value < "$csv")/$(field streams_requested value < "$csv"), errors $(field errors value < "$csv"), connections $(field connections_carrying_requests value < "$csv"), first event p99 $(ms "$(field time_to_first_event p99 < "$csv")") ms"
  results_add 1 machine load_average_1min "$(cut -d' ' -f1 /proc/loadavg)"
  for m in streams_requested streams_opened errors connections_carrying_requests; do
    results_add 1 h1-18k "$m" "$(field "$m" value < "$csv")"
  done
  results_add 1 h1-18k time_to_first_event_p99_ms "$(ms "$(field time_to_first_event p99 < "$csv")")"
  results_medians
  results_end
}

# One memory point: $1 the case, $2 clients (x 250 streams), $3 client threads ("": bench's
# default), $4 an environment assignment for bench ("": none), $5 the run (default 1). The server
# binary (default tick) runs on CPU 1; bench is not pinned, so two threads can run.
memory_point() {
  local case=$1 clients=$2 threads=$3 env_set=$4 run=${5:-1} streams=$(($2 * 250))
  sed "s/^clients = .*/clients = $clients/" "$work/memory.toml" > "$work/$case.toml"
  [ -z "$threads" ] || echo "client_threads = $threads" >> "$work/$case.toml"
  server --h2
  : > "$work/$case.rss"
  # shellcheck disable=SC2086 # env_set is one word or none
  /usr/bin/time -f '%M' -o "$work/rss" env $env_set "$bench" "$work/$case.toml" --target "h2=$url" \
    --cacert "$work/cert.pem" --out "$work/$case-$run" --no-plot --no-progress > "$work/$case.out" 2>&1 &
  local timer=$! pid="" t=0
  while kill -0 "$timer" 2>/dev/null; do
    [ -n "$pid" ] || pid=$(pgrep -P "$timer" | head -1 || true)
    [ -z "$pid" ] || awk -v t="$t" '/^VmRSS/ { print t, $2 }' "/proc/$pid/status" >> "$work/$case.rss" 2>/dev/null || true
    sleep 1
    t=$((t + 1))
  done
  wait "$timer" || { tail -5 "$work/$case.out" >&2; exit 1; }
  stop_server
  csv=$(ls "$work/$case-$run"/*.csv)
  local peak_kb warm_kb end_kb
  peak_kb=$(cat "$work/rss")
  warm_kb=$(awk '$1 <= 15 { v = $2 } END { print v + 0 }' "$work/$case.rss")
  end_kb=$(awk '{ v = $2 } END { print v + 0 }' "$work/$case.rss")
  printf '%-4s %-16s %8s %7s %4s %9s %9s %9s %9s B %12s\n' "$run" "$case" "$(field streams_opened value < "$csv")" \
    "$(field errors value < "$csv")" "$(grep -oE 'load generator [0-9]+' "$work/$case.out" | grep -oE '[0-9]+$')" \
    "$((peak_kb / 1024))" "$((warm_kb / 1024))" "$((end_kb / 1024))" "$((peak_kb * 1024 / streams))" \
    "$(ms "$(field time_to_open max < "$csv")")"
  grep -E '^(threads|warning)' "$work/$case.out" | sed "s/^/# $case: /" >> "$RESULTS_FILE" || true
  results_add "$run" "$case" load_average_1min "$(cut -d' ' -f1 /proc/loadavg)"
  results_add "$run" "$case" streams_opened "$(field streams_opened value < "$csv")"
  results_add "$run" "$case" errors "$(field errors value < "$csv")"
  results_add "$run" "$case" bench_max_rss_mib "$((peak_kb / 1024))"
  results_add "$run" "$case" bench_rss_end_of_warmup_mib "$((warm_kb / 1024))"
  results_add "$run" "$case" bench_rss_at_end_mib "$((end_kb / 1024))"
  results_add "$run" "$case" bench_max_rss_bytes_per_stream "$((peak_kb * 1024 / streams))"
  # The slowest stream's time from its creation to its response head (issue 27: all 100,000
  # open within 10 s against the server binary on one core, every stream ticking once a second).
  results_add "$run" "$case" time_to_open_max_ms "$(ms "$(field time_to_open max < "$csv")")"
  peaks[$case]=$peak_kb
}

memory() {
  # The scale part's scenario against the server binary, which ticks once a second by default.
  write_h2_100k "$work/memory.toml"
  without_server_table "$work/memory.toml"
  RESULTS_COMMAND="RUNS=$runs scripts/bench-h2-scale.sh memory" results_begin h2-memory \
    "the load generator's resident memory per h2 stream against the server binary (CPU 1, one tick a second per stream), bench unpinned, $runs runs of default-100k and default-10k, one of the others; RSS in MiB"
  echo "== memory: the load generator's resident memory per h2 stream against the server binary"
  printf '%-4s %-16s %8s %7s %4s %9s %9s %9s %11s %12s\n' run case opened errors thr peak_MiB warm_MiB end_MiB peak/stream open_max_ms
  declare -A peaks
  local i marginal
  for i in $(seq 1 "$runs"); do
    memory_point default-100k 400 "" "" "$i"
    memory_point default-10k 40 "" "" "$i"
    marginal=$(((${peaks[default-100k]} - ${peaks[default-10k]}) * 1024 / 90000))
    echo "     run $i: one more stream costs $marginal B ((peak at 100,000 - peak at 10,000) / 90,000)"
    results_add "$i" marginal bench_rss_bytes_per_additional_stream "$marginal"
  done
  memory_point threads-2-100k 400 2 ""
  local jemalloc=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2
  if [ -f "$jemalloc" ]; then
    memory_point jemalloc-100k 400 "" "LD_PRELOAD=$jemalloc"
  else
    echo "   (no $jemalloc: the jemalloc case skipped)"
  fi
  results_medians
  results_end
}

for part in "${parts[@]}"; do
  case "$part" in
    scale) scale ;;
    efficiency) efficiency ;;
    h1-18k) h1_18k ;;
    memory) memory ;;
    *) echo "error: unknown part $part (scale, efficiency, h1-18k, memory)" >&2; exit 2 ;;
  esac
done
