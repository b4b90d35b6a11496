#!/usr/bin/env bash
# One run split over N bench processes on this machine, then merged exactly: what a Kubernetes
# Indexed Job does across machines (deploy/kubernetes/), on loopback.
#
#   scripts/sharded.sh N SCENARIO [BENCH ARGS...]
#   scripts/sharded.sh 3 scenarios/sharded-45k.toml
#   scripts/sharded.sh 2 scenarios/ci-smoke.toml --set duration=2s
#
# 1. builds the release `bench` and `server` binaries (skip with SSEBENCH_NO_BUILD=1);
# 2. starts the `server` binary: one process per shard (default), or one for all
#    (SSEBENCH_SERVERS=one). Each listens on every protocol on 127.0.0.1 port 0 and prints its
#    `listening <protocol> <url>` lines, which give the ports; each writes its own certificate;
# 3. runs `bench SCENARIO --shard i/N` for i = 1..N in parallel, shard i against server
#    ((i-1) mod servers) + 1, each with its own --out directory;
# 4. waits for them, reads each server's peak RSS, stops the servers;
# 5. `bench merge` of the N shard reports into OUT/merged.csv, and prints a summary of it per point:
#    streams opened, open at the end, queued, connections, errors, time to first event and event
#    delivery p50/p99 (exact: the merged histograms), with each process's peak RSS, the servers'
#    own count of open streams and connections (their /stats, sampled every 5 s while the shards
#    run, and their counters at the end: accepted, timed out, reclaimed, refused), the wall time
#    and the load average before and after.
#
# Every process it starts is stopped on exit, whatever the exit (trap). Bounded in time: the
# servers get 30 s to print their lines and every bench process is interrupted (SIGINT: it writes
# what it measured, and exits 130) after SSEBENCH_TIMEOUT seconds (default 1800).
#
# Environment:
#   SSEBENCH_SERVERS      per-shard (default) or one
#   SSEBENCH_SERVER_ARGS  extra flags for every server process (word-split), e.g.
#                         "--header-read-timeout 60s". --max-connections defaults to the
#                         descriptor hard limit less 100 (the server's default, 10,000, is too
#                         low for big shards)
#   SSEBENCH_OUT          output directory (default results/sharded/<scenario>-<UTC time>)
#   SSEBENCH_TIMEOUT      seconds each bench process may run (default 1800)
#   SSEBENCH_NO_BUILD     set: use target/release/{bench,server} as they are
#   RUNS                  the whole run this many times (default 1), each in OUT/runI when more
#   SSEBENCH_LABEL        a label for the results file (e.g. the server flags of a variant)
#
# Each run's figures (from the merged report: streams, connections, errors, event_delivery and
# time_to_first_event p50/p99 in ms; the wall time, the load average, every process's peak RSS,
# the servers' own peak of open streams) and their medians go to
# results/benchmarks/sharded-<scenario>[-LABEL].tsv (scripts/lib/results.sh).
#
# Exit: 0 every shard ran and the merge succeeded; otherwise the first failing bench's exit code
# (the merge is still attempted when every shard wrote a report), or the merge's.
set -euo pipefail

usage() { sed -n '5,7p' "$0" | sed 's/^# *//' >&2; exit 2; }
[ $# -ge 2 ] || usage
shards=$1; scenario=$2; shift 2
bench_args=("$@")
[[ "$shards" =~ ^[1-9][0-9]*$ ]] || { echo "error: N must be a positive integer, not '$shards'" >&2; exit 2; }
[ -f "$scenario" ] || { echo "error: no scenario file $scenario" >&2; exit 2; }
# Paths given relative to where the script was called from, before moving to the repository.
scenario=$(realpath "$scenario")
[ -z "${SSEBENCH_OUT:-}" ] || SSEBENCH_OUT=$(realpath -m "$SSEBENCH_OUT")
cd "$(dirname "$0")/.."
for a in "${bench_args[@]}"; do
  case $a in
    --shard|--shard=*|--out|--out=*|--target|--target=*|--cacert|--cacert=*)
      echo "error: $a is set by this script (one per shard); SSEBENCH_OUT sets the directory" >&2; exit 2 ;;
  esac
done
case ${SSEBENCH_SERVERS:-per-shard} in
  per-shard) servers=$shards ;;
  one) servers=1 ;;
  *) echo "error: SSEBENCH_SERVERS must be per-shard or one, not '$SSEBENCH_SERVERS'" >&2; exit 2 ;;
esac
timeout_s=${SSEBENCH_TIMEOUT:-1800}
[[ "$timeout_s" =~ ^[1-9][0-9]*$ ]] || { echo "error: SSEBENCH_TIMEOUT must be seconds, not '$timeout_s'" >&2; exit 2; }
read -r -a server_args <<< "${SSEBENCH_SERVER_ARGS:-}"

# Every process here may use the hard descriptor limit (bench raises its own; the server does not).
ulimit -n "$(ulimit -Hn)"
hard=$(ulimit -Hn)
if [[ " ${server_args[*]} " != *" --max-connections"* ]]; then
  if [ "$hard" = unlimited ]; then server_args+=(--max-connections 1000000)
  else server_args+=(--max-connections $((hard - 100))); fi
fi

[ -n "${SSEBENCH_NO_BUILD:-}" ] || cargo build --release --locked --bin bench --bin server >&2
bench=target/release/bench
server=target/release/server
name=$(basename "$scenario" .toml)
base_out=${SSEBENCH_OUT:-results/sharded/$name-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$base_out"
runs=${RUNS:-1}
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "error: RUNS must be a positive integer, not '$runs'" >&2; exit 2; }
source scripts/lib/results.sh
RESULTS_COMMAND="RUNS=$runs${SSEBENCH_SERVERS:+ SSEBENCH_SERVERS=$SSEBENCH_SERVERS}${SSEBENCH_SERVER_ARGS:+ SSEBENCH_SERVER_ARGS=\"$SSEBENCH_SERVER_ARGS\"} scripts/sharded.sh $shards scenarios/$name.toml ${bench_args[*]}" \
  results_begin "sharded-$name${SSEBENCH_LABEL:+-$SSEBENCH_LABEL}" \
  "$shards shards, $runs run(s), figures from each run's merged report (latencies in ms), peak RSS in MiB"

server_pids=()
bench_pids=()
cleanup() {
  local pid
  for pid in "${bench_pids[@]}" "${server_pids[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${bench_pids[@]}" "${server_pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT
trap 'echo "error: sharded.sh line $LINENO: $BASH_COMMAND failed" >&2' ERR
trap 'exit 130' INT TERM

peak_rss_mib() { # $1 pid -> peak resident set (VmHWM) in MiB, or "?"
  awk '/^VmHWM:/ { printf "%.0f", $2 / 1024; found = 1 } END { if (!found) printf "?" }' \
    "/proc/$1/status" 2>/dev/null || printf '?'
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# One whole run into $out: servers, shards, merge, summary; its figures as run $1. Sets
# run_status: 0, or the first failing bench's exit code, or the merge's. (It returns 0, so that
# `set -e` still stops the script on anything unexpected inside it.)
run_once() {
  local run=$1 status=0
  run_status=0
  load_before=$(loadavg)
  t0=$(date +%s.%N)

  # Servers: each on port 0; its `listening` lines give the ports.
  for k in $(seq 1 "$servers"); do
    "$server" --write-cert "$out/server-$k.pem" "${server_args[@]}" \
      > "$out/server-$k.out" 2> "$out/server-$k.log" &
    server_pids+=($!)
  done
  for k in $(seq 1 "$servers"); do
    pid=${server_pids[$((k - 1))]}
    lines=0
    for _ in $(seq 300); do # 30 s
      kill -0 "$pid" 2>/dev/null || { echo "error: server $k exited: $(tail -3 "$out/server-$k.log")" >&2; exit 1; }
      now=$(grep -c '^listening ' "$out/server-$k.out" || true)
      # The lines come together once every listener is bound; wait until their count holds.
      [ "$now" -gt 0 ] && [ "$now" = "$lines" ] && break
      lines=$now
      sleep 0.1
    done
    [ "$lines" -gt 0 ] || { echo "error: server $k printed no listening line in 30 s" >&2; exit 1; }
    echo "server $k (pid $pid):$(grep '^listening ' "$out/server-$k.out" | awk '{ printf " %s %s", $2, $3 }')" >&2
  done

  # Shards, in parallel; each interrupted (SIGINT, so it writes what it measured) at the timeout.
  for i in $(seq 1 "$shards"); do
    k=$(( (i - 1) % servers + 1 ))
    target_args=(--cacert "$out/server-$k.pem")
    while read -r _ protocol url; do
      target_args+=(--target "$protocol=$url")
    done < <(grep '^listening ' "$out/server-$k.out")
    timer=()  # the bench process's peak RSS, when GNU time is there
    [ -x /usr/bin/time ] && timer=(/usr/bin/time -o "$out/shard-$i.time" -f '%M %e')
    timeout --preserve-status --signal=INT --kill-after=30 "$timeout_s" "${timer[@]}" \
      "$bench" "$scenario" --shard "$i/$shards" "${target_args[@]}" --out "$out/shard-$i" \
      --no-plot --no-progress "${bench_args[@]}" > "$out/shard-$i.out" 2> "$out/shard-$i.log" &
    bench_pids+=($!)
    echo "shard $i/$shards (pid $!) -> server $k" >&2
  done

  # While they run: every 5 s, each server's /stats (streams and connections open now), summed over
  # the servers at that instant; the peak is the server side's view of "all open at once". Stops
  # when every bench process has (each is bounded by the timeout above).
  stats_peak_streams=0
  stats_peak_conns=0
  alive() { local pid; for pid in "${bench_pids[@]}"; do kill -0 "$pid" 2>/dev/null && return 0; done; return 1; }
  tick=0
  while alive; do
    if command -v curl >/dev/null && [ $((tick % 5)) -eq 4 ]; then
      streams=0; conns=0
      for k in $(seq 1 "$servers"); do
        url=$(awk '/^listening / { print $3; exit }' "$out/server-$k.out")
        # A server too busy to answer in 5 s leaves this sample out (marked `?`).
        json=$(curl -s --max-time 5 --cacert "$out/server-$k.pem" "$url/stats" || true)
        if [[ "$json" != *'"streams_open":'* ]]; then streams="?"; break; fi
        s=$(grep -o '"streams_open":[0-9]*' <<< "$json" | awk -F: '{ n += $2 } END { print n + 0 }')
        c=$(grep -o '"connections_open":[0-9]*' <<< "$json" | awk -F: '{ n += $2 } END { print n + 0 }')
        streams=$((streams + s)); conns=$((conns + c - 1)) # less curl's own connection
      done
      echo "$(date -u +%H:%M:%S) streams_open=$streams connections_open=$conns" >> "$out/server-stats.log"
      [ "$streams" != "?" ] || { tick=$((tick + 1)); sleep 1; continue; }
      [ "$streams" -gt "$stats_peak_streams" ] && stats_peak_streams=$streams
      [ "$conns" -gt "$stats_peak_conns" ] && stats_peak_conns=$conns
    fi
    tick=$((tick + 1))
    sleep 1
  done

  for i in $(seq 1 "$shards"); do
    rc=0
    wait "${bench_pids[$((i - 1))]}" || rc=$?
    if [ "$rc" -ne 0 ]; then
      echo "shard $i/$shards: bench exited $rc ($out/shard-$i.log):" >&2
      grep -E '^(error|warning)' "$out/shard-$i.out" "$out/shard-$i.log" 2>/dev/null | tail -5 >&2 || true
      [ "$status" -ne 0 ] || status=$rc
    fi
  done
  bench_pids=()
  t1=$(date +%s.%N)
  load_after=$(loadavg)

  declare -a server_rss=()
  for k in $(seq 1 "$servers"); do server_rss+=("$(peak_rss_mib "${server_pids[$((k - 1))]}")"); done
  # Each server's own account of the run (its /stats at the end), and a few of its counters summed:
  # connections it closed for a timeout or to make room explain client-side resets.
  server_counters=""
  if command -v curl >/dev/null; then
    for k in $(seq 1 "$servers"); do
      url=$(awk '/^listening / { print $3; exit }' "$out/server-$k.out")
      curl -s --max-time 10 --cacert "$out/server-$k.pem" "$url/stats" > "$out/server-$k.stats.json" || true
    done
    for counter in connections_accepted timeouts connections_reclaimed connections_refused write_timeouts; do
      n=$(cat "$out"/server-*.stats.json | { grep -o "\"$counter\":[0-9]*" || true; } \
        | awk -F: '{ n += $2 } END { print n + 0 }')
      server_counters+=" $counter=$n"
    done
  fi
  for pid in "${server_pids[@]}"; do kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  server_pids=()

  reports=()
  for i in $(seq 1 "$shards"); do
    csv=$(ls "$out/shard-$i"/*.csv 2>/dev/null | head -1 || true)
    if [ -z "$csv" ]; then
      echo "error: shard $i/$shards wrote no report; see $out/shard-$i.log" >&2
      run_status=$(( status ? status : 1 ))
      return 0
    fi
    reports+=("$csv")
  done
  merge_rc=0
  "$bench" merge "${reports[@]}" --out "$out/merged.csv" >&2 || merge_rc=$?
  if [ "$merge_rc" -ne 0 ]; then
    run_status=$merge_rc
    return 0
  fi

  # The merged summary, read from the merged report by column name.
  awk -F, -f scripts/report-summary.awk "$out/merged.csv"
  echo "(from the merged histograms: every shard's samples, exact)"
  for i in $(seq 1 "$shards"); do
    rss="?"
    [ -s "$out/shard-$i.time" ] && rss=$(awk 'END { printf "%.0f", $1 / 1024 }' "$out/shard-$i.time")
    echo "peak RSS: bench shard $i/$shards ${rss} MiB"
  done
  for k in $(seq 1 "$servers"); do echo "peak RSS: server $k ${server_rss[$((k - 1))]} MiB"; done
  echo "servers' /stats, sampled every 5 s, all servers at once: peak streams open $stats_peak_streams," \
    "peak connections open $stats_peak_conns ($out/server-stats.log)"
  [ -z "$server_counters" ] || echo "servers' counters at the end, all servers:$server_counters ($out/server-K.stats.json)"
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "wall time (servers started to last shard done): %.1f s\n", b - a }'
  echo "load average (1, 5, 15 min): before $load_before, after $load_after ($(nproc) cores)"
  echo "shard reports: ${reports[*]}"
  echo "merged report: $out/merged.csv"
  echo "logs: $out/{server-K,shard-I}.{out,log}"
  record "$run" "$out/merged.csv"
  run_status=$status
}

# The run's figures, from the merged report and the measurements above.
record() {
  local run=$1 csv=$2 m
  results_add "$run" machine load_average_1min_before "${load_before%% *}"
  results_add "$run" machine load_average_1min_after "${load_after%% *}"
  for m in streams_requested streams_opened streams_open_at_end connections_carrying_requests \
    errors errors_reset errors_timeout; do
    results_add "$run" merged "$m" "$(report_field "$m" value < "$csv")"
  done
  for m in event_delivery time_to_first_event; do
    results_add "$run" merged "${m}_p50_ms" "$(awk -v us="$(report_field "$m" p50 < "$csv")" 'BEGIN { printf "%.1f", us / 1000 }')"
    results_add "$run" merged "${m}_p99_ms" "$(awk -v us="$(report_field "$m" p99 < "$csv")" 'BEGIN { printf "%.1f", us / 1000 }')"
  done
  results_add "$run" merged wall_s "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')"
  results_add "$run" merged servers_peak_streams_open "$stats_peak_streams"
  local i
  for i in $(seq 1 "$shards"); do
    [ -s "$out/shard-$i.time" ] && results_add "$run" "bench shard $i" peak_rss_mib \
      "$(awk 'END { printf "%.0f", $1 / 1024 }' "$out/shard-$i.time")"
  done
  for i in $(seq 1 "$servers"); do
    results_add "$run" "server $i" peak_rss_mib "${server_rss[$((i - 1))]}"
  done
}

source scripts/lib/common.sh
status=0
for run in $(seq 1 "$runs"); do
  out=$base_out
  [ "$runs" -eq 1 ] || out=$base_out/run$run
  mkdir -p "$out"
  [ "$runs" -eq 1 ] || echo "== run $run of $runs: $out" >&2
  run_once "$run"
  [ "$status" -ne 0 ] || status=$run_status
done
results_medians
results_end
exit "$status"
