#!/usr/bin/env bash
# Fan-out against nginx with the nchan module: the same bench scenario against each server, in the
# same run. Each server runs one worker pinned to CPU 1 (the release `server` binary with one tokio
# worker thread; nginx with `worker_processes 1`), bench runs pinned to CPU 0 with one thread.
# Subscribers are EventSources on one channel (`/events?channel=` here, `/sub?channel=` on nchan);
# POSTs go to `/messages?channel=` here and `/pub?channel=` on nchan, at a fixed total rate, so
# every POST is delivered to every subscriber (deliveries/s = subscribers x POSTs/s).
#
#   scripts/bench-fanout.sh                     # RUNS=3, the default POINTS
#   POINTS="h1:500:100 h2:500:100" scripts/bench-fanout.sh
#   NAME=fanout-nchan-x scripts/bench-fanout.sh   # results/benchmarks/<NAME>.tsv (default fanout-nchan)
#
# A point is ARM:SUBSCRIBERS:POSTS_PER_S (ARM h1: cleartext HTTP/1.1; h2: HTTP/2 over TLS, ALPN h2).
# Per run and point, for each server: the server process's CPU time (utime + stime from
# /proc/PID/stat, nginx's master and worker added; each server process started afresh for the
# point) from bench's start to its end (connects, warm-up with no messages, then the measured
# point: every delivery happens in the point) and its kernel part (stime) alone, the events
# received, CPU-seconds per million delivered events, fan-out p50/p99 (POST sent -> event parsed at
# each subscriber, ms), messages expected and lost (the loss proof), errors; then the ratio ours /
# nchan of CPU per delivered event. Our server's ticks are off (--event-interval 1d): nchan sends
# none, so every event either server sends is a delivered message (and the one tick ours sends each
# stream as it opens: 500 events a point, against 500,000 or more). The two servers take turns
# within a run (which goes first alternates run by run), so both see the same machine.
#
# Results: results/benchmarks/fanout-nchan.tsv through scripts/lib/results.sh (RESULTS_DIR
# overrides the directory). WARMUP (s, default 2) and DURATION (s, default 10) set each point's
# length; MEMORY_CAP_KB (default 2 GiB) caps each server's address space. SSEBENCH_NO_BUILD=1
# skips the release build.
#
# bench's POSTs are an open-loop plan per client: each client sends floor(rate x duration) POSTs,
# its rate the point's POSTs/s divided by its subscribers, so a point needs POSTS_PER_S x DURATION
# to be a multiple of SUBSCRIBERS (the script refuses it otherwise). That is why 5,000 subscribers
# at 50,000 deliveries/s (10 POSTs/s: one POST per client every 500 s) are not among the points;
# 5,000 at 200,000/s takes 125 s points: DURATION=125 POINTS="h1:5000:40 h2:5000:40".
#
# FLOOR=1 adds a third server on the h1 points, `crates/sse-server/examples/http1_floor.rs`: a
# tokio server that does an HTTP/1.1 fan-out's wire work and nothing else (no hyper, no bounds),
# under the same limits, with its ratio to nchan: how far below nchan a tokio server that writes
# each event with a write of its own can go at all.
#
# Needs: nginx-light and libnginx-mod-nchan (installed with apt-get when missing), openssl,
# taskset, prlimit, python3, bc.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
warmup=${WARMUP:-2}
duration=${DURATION:-10}
points=${POINTS:-"h1:500:100 h2:500:100 h1:500:400 h2:500:400"}

for tool in openssl taskset prlimit python3 bc; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing" >&2; exit 2; }
done

source scripts/lib/common.sh
source scripts/lib/results.sh
source scripts/lib/nchan.sh
build_release server bench
servers="ours nchan"
if [ "${FLOOR:-0}" = 1 ]; then
  servers="ours nchan floor"
  build_floor
fi

work=$(mktemp -d)
cleanup() {
  stop_server
  stop_nchan
  rm -rf "$work"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$work/key.pem" -out "$work/cert.pem" -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null

hz=$(getconf CLK_TCK)
# cpu_ticks PID...: "UTIME STIME" of those processes summed, in clock ticks (a process gone counts 0).
cpu_ticks() {
  local u=0 k=0 p ticks
  for p in "$@"; do
    ticks=$(awk '{ print $14, $15 }' "/proc/$p/stat" 2>/dev/null || echo "0 0")
    u=$((u + ${ticks% *})) k=$((k + ${ticks#* }))
  done
  echo "$u $k"
}
# field CSV METRIC COLUMN: one column of the metric's row.
field() { report_field "$2" "$3" < "$1"; }
ms() { awk -v us="${1:-}" 'BEGIN { if (us == "") print "-"; else printf "%.2f", us / 1000 }'; }

# --- the two servers, started afresh for every point and run ----------------------------------
# Each server's address space is capped (MEMORY_CAP_KB, default 2 GiB): in a first version that
# kept nginx up across points, its worker grew to 24 GB at 200,000 deliveries/s (bench behind on
# CPU 0) and was killed by the kernel's OOM killer, on a machine others share.
cap_kb=${MEMORY_CAP_KB:-2097152}
server_pids=()
# start_ours: the release binary, one tokio worker thread, on CPU 1; ticks off, all else default.
start_ours() {
  start_server "$work/server.out" "$work/server.err" 2 env TOKIO_WORKER_THREADS=1 taskset -c 1 \
    prlimit --as=$((cap_kb * 1024)) target/release/server --h1 127.0.0.1:0 --h2 127.0.0.1:0 \
    --cert "$work/cert.pem" --key "$work/key.pem" --event-interval 1d
  server_pids=("$server_pid")
  ours_h1=$(listening_url "$work/server.out" h1)
  ours_h2=$(listening_url "$work/server.out" h2)
}

# start_floor: the HTTP/1.1 floor (FLOOR=1), one tokio worker thread, on CPU 1.
start_floor() {
  start_server "$work/floor.out" "$work/floor.err" 1 env TOKIO_WORKER_THREADS=1 taskset -c 1 \
    prlimit --as=$((cap_kb * 1024)) target/release/examples/http1_floor 127.0.0.1:0
  server_pids=("$server_pid")
  floor_h1=$(listening_url "$work/floor.out" h1)
}

name=${NAME:-fanout-nchan}
RESULTS_COMMAND="RUNS=$runs POINTS=\"$points\" WARMUP=$warmup DURATION=$duration NAME=$name FLOOR=${FLOOR:-0} scripts/bench-fanout.sh" \
  results_begin "$name" "servers: $servers; ours (release server, 1 tokio worker, ticks off) vs nginx $(nginx -v 2>&1 | cut -d/ -f2) + nchan $(dpkg-query -W -f '${Version}' libnginx-mod-nchan) (1 worker), each on CPU 1; bench on CPU 0, 1 thread; ${warmup}s warm-up (no POSTs) + ${duration}s; server CPU from /proc/PID/stat over the whole bench run; case = ARM-SUBSCRIBERS-DELIVERIES_PER_S"

# one_point RUN SERVER ARM SUBSCRIBERS POSTS_PER_S CASE: bench against SERVER, figures to the file;
# sets per_event (CPU-seconds per million delivered events), or empties it when bench stopped
# early (a server that stopped answering: nchan at 5,000 subscribers and 200,000 deliveries/s).
# Such a point is recorded, not dropped: `SERVER_failed 1`, bench's error as a comment, the rows
# bench measured before it stopped; it takes no part in the ratios.
one_point() {
  local run=$1 server=$2 arm=$3 subs=$4 rate=$5 case=$6 f="$work/point.toml" url extra=() url_var
  "start_$server"
  url_var=${server}_$arm
  url=${!url_var}
  {
    echo 'name = "fanout"'
    echo "protocols = [\"$arm\"]"
    echo "clients = $subs"
    echo 'streams_per_client = 1'
    echo "warmup = \"${warmup}s\""
    echo "duration = \"${duration}s\""
    echo 'client_threads = 1'
    echo 'connect_timeout = "30s"'
    echo '[posts]'
    echo "rate_per_client = $(awk -v r="$rate" -v s="$subs" 'BEGIN { printf "%.6f", r / s }')"
    echo 'body_size = 200'
  } > "$f"
  [ "$arm" = h2 ] && extra+=(--cacert "$work/cert.pem")
  [ "$server" = nchan ] && extra+=(--events-path '/sub?channel=CHANNEL' --messages-path '/pub?channel=CHANNEL')
  local c0 c1 failed=0
  c0=$(cpu_ticks "${server_pids[@]}")
  rm -rf "$work/out"
  taskset -c 0 target/release/bench "$f" --target "$arm=$url" "${extra[@]}" --out "$work/out" --no-plot \
    --no-progress > "$work/bench.out" 2>&1 || failed=1
  c1=$(cpu_ticks "${server_pids[@]}")
  stop_server
  stop_nchan
  local csv got cpu_s
  csv=$(ls "$work"/out/*.csv 2>/dev/null || true)
  per_event=""
  if [ "$failed" = 1 ]; then
    results_add "$run" "$case" "${server}_failed" 1
    grep -E "^(error|warning)" "$work/bench.out" | sed "s/^/# run $run $case $server: /" >> "$RESULTS_FILE" || true
    echo "run $run $case $server: bench stopped early: $(grep -m1 '^error' "$work/bench.out" || tail -1 "$work/bench.out")" >&2
    [ -n "$csv" ] || return 0
    for m in events_received messages_expected messages_lost posts_completed errors; do
      results_add "$run" "$case" "${server}_${m}_before_it_stopped" "$(field "$csv" "$m" value)"
    done
    results_add "$run" "$case" "${server}_fanout_p99_ms_before_it_stopped" "$(ms "$(field "$csv" fanout p99)")"
    return 0
  fi
  got=$(field "$csv" events_received value)
  local user_s kernel_s
  user_s=$(echo "scale=3; (${c1% *} - ${c0% *}) / $hz" | bc)
  kernel_s=$(echo "scale=3; (${c1#* } - ${c0#* }) / $hz" | bc)
  cpu_s=$(echo "scale=3; $user_s + $kernel_s" | bc)
  results_add "$run" "$case" "${server}_cpu_s" "$cpu_s"
  results_add "$run" "$case" "${server}_kernel_cpu_s" "$kernel_s"
  results_add "$run" "$case" "${server}_events_received" "$got"
  results_add "$run" "$case" "${server}_cpu_s_per_million" "$(echo "scale=3; $cpu_s * 1000000 / $got" | bc)"
  results_add "$run" "$case" "${server}_fanout_p50_ms" "$(ms "$(field "$csv" fanout p50)")"
  results_add "$run" "$case" "${server}_fanout_p99_ms" "$(ms "$(field "$csv" fanout p99)")"
  results_add "$run" "$case" "${server}_messages_expected" "$(field "$csv" messages_expected value)"
  results_add "$run" "$case" "${server}_messages_lost" "$(field "$csv" messages_lost value)"
  results_add "$run" "$case" "${server}_messages_duplicated" "$(field "$csv" messages_duplicated value)"
  results_add "$run" "$case" "${server}_posts_completed" "$(field "$csv" posts_completed value)"
  results_add "$run" "$case" "${server}_errors" "$(field "$csv" errors value)"
  results_add "$run" "$case" "${server}_client_lag_p99_ms" "$(ms "$(field "$csv" client_lag p99)")"
  grep -E "^warning" "$work/bench.out" | sed "s/^/# run $run $case $server: /" >> "$RESULTS_FILE" || true
  echo "run $run $case $server: $got events, CPU ${cpu_s} s, fanout p99 $(ms "$(field "$csv" fanout p99)") ms" >&2
  per_event=$(echo "scale=3; $cpu_s * 1000000 / $got" | bc)
}

for point in $points; do
  IFS=: read -r arm subs rate <<<"$point"
  [ $((rate * duration % subs)) -eq 0 ] ||
    { echo "error: point $point: $rate POSTs/s x ${duration}s is not a multiple of $subs clients" >&2; exit 2; }
done
for run in $(seq "$runs"); do
  results_add "$run" machine load_average_1min "$(cut -d' ' -f1 /proc/loadavg)"
  for point in $points; do
    IFS=: read -r arm subs rate <<<"$point"
    case="$arm-$subs-$((subs * rate))"
    # Alternate which server goes first, run by run. The floor serves HTTP/1.1 only.
    order=$servers
    [ $((run % 2)) -eq 1 ] || order=$(tr ' ' '\n' <<<"$servers" | tac | paste -sd' ')
    per_floor="" per_ours="" per_nchan=""
    for server in $order; do
      [ "$server" != floor ] || [ "$arm" = h1 ] || continue
      one_point "$run" "$server" "$arm" "$subs" "$rate" "$case"
      declare "per_$server=$per_event"
    done
    [ -z "$per_ours" ] || [ -z "$per_nchan" ] ||
      results_add "$run" "$case" ratio_cpu_per_event_ours_to_nchan "$(echo "scale=3; $per_ours / $per_nchan" | bc)"
    [ -z "$per_floor" ] || [ -z "$per_nchan" ] ||
      results_add "$run" "$case" ratio_cpu_per_event_floor_to_nchan "$(echo "scale=3; $per_floor / $per_nchan" | bc)"
  done
done
results_medians
# The ratio of the medians beside the median of the per-run ratios.
for point in $points; do
  IFS=: read -r arm subs rate <<<"$point"
  case="$arm-$subs-$((subs * rate))"
  o=$(results_median "$case" ours_cpu_s_per_million)
  n=$(results_median "$case" nchan_cpu_s_per_million)
  f=$(results_median "$case" floor_cpu_s_per_million)
  # A server whose every run stopped early has no median, and no ratio.
  [ -z "$n" ] && continue
  [ -z "$o" ] || results_add median "$case" ratio_of_medians "$(echo "scale=3; $o / $n" | bc)"
  [ -z "$f" ] || results_add median "$case" floor_ratio_of_medians "$(echo "scale=3; $f / $n" | bc)"
done
results_end
# The table: medians per point.
awk -F'\t' '$1 == "median" { v[$2, $3] = $4; if (!($2 in seen)) { seen[$2] = 1; order[++n] = $2 } }
  END {
    printf "%-14s %18s %18s %7s %16s %16s %12s\n", "case", "ours CPU-s/M", "nchan CPU-s/M", "ratio", "ours p50/p99", "nchan p50/p99", "lost o/n"
    for (i = 1; i <= n; i++) { c = order[i]; if (c == "machine") continue
      printf "%-14s %18s %18s %7s %16s %16s %12s\n", c, v[c, "ours_cpu_s_per_million"], v[c, "nchan_cpu_s_per_million"],
        v[c, "ratio_of_medians"], v[c, "ours_fanout_p50_ms"] "/" v[c, "ours_fanout_p99_ms"],
        v[c, "nchan_fanout_p50_ms"] "/" v[c, "nchan_fanout_p99_ms"], v[c, "ours_messages_lost"] "/" v[c, "nchan_messages_lost"]
      if ((c, "floor_cpu_s_per_million") in v)
        printf "%-14s %18s %18s %7s %16s %16s %12s\n", "  floor", v[c, "floor_cpu_s_per_million"], "",
          v[c, "floor_ratio_of_medians"], v[c, "floor_fanout_p50_ms"] "/" v[c, "floor_fanout_p99_ms"], "", v[c, "floor_messages_lost"] }
  }' "$RESULTS_FILE"
