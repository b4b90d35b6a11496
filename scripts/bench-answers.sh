#!/usr/bin/env bash
# Streamed answers: what one load generator carries, and what tabs of answers do to a user.
#
#   scripts/bench-answers.sh capacity   # 10,000 answers at once, 50 tokens/s each (500,000/s)
#   scripts/bench-answers.sh tabs       # scenarios/llm-tabs.toml: the README's table
#   scripts/bench-answers.sh            # both
#
# capacity: 10,000 answers streaming at once at 50 tokens/s each against the release `server`
# binary pinned to CPU 1, bench pinned to CPU 0 with one worker thread, on h2c (100 clients x 100
# answer tabs) and h1 (2,000 clients x 5 tabs, 10,000 connections). Each answer asks 100,000
# tokens (33 minutes' worth), so all of them stream for the whole point. In the same run, per
# arm, the same clients x streams as EventSources at one 200-byte tick every 20 ms (500,000
# events/s): the client's CPU per token beside its CPU per SSE event. Figures per run: tokens (or
# events) received per second over the point, the client's and the server's CPU, the client's CPU
# per token (event) in microseconds, answers (streams) open at the end, errors, token_delivery
# (event_delivery) p50/p99 and the load generator's own timer lag p99 (client_lag: the summary
# warns past 5 ms, when the harness is the bottleneck).
#
# tabs: `bench llm-tabs` (embedded server, release build): per arm and number of tabs, time to
# first token and inter-token gap p50/p99, answers queued at the end, the POSTs' round trip p99 and
# POSTs stalled at the end.
#
# RUNS (default 3) runs of each; results in results/benchmarks/bench-answers-<mode>.tsv through
# scripts/lib/results.sh (RESULTS_DIR overrides the directory). SSEBENCH_NO_BUILD=1 skips the build.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-all}
runs=${RUNS:-3}
case $mode in capacity | tabs | all) ;; *) echo "usage: $0 [capacity|tabs|all]" >&2; exit 2 ;; esac

source scripts/lib/common.sh
source scripts/lib/results.sh
build_release bench server
work=$(mktemp -d)
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

# field CSV PROTOCOL STREAMS METRIC COLUMN: one column of the row of (protocol, streams, metric).
field() {
  awk -F, -v p="$2" -v s="$3" -v m="$4" -v col="$5" '
    NR == 1 { for (i = 1; i <= NF; i++) at[$i] = i; next }
    $at["protocol"] == p && $at["streams_per_client"] == s && $at["metric"] == m { print $at[col]; exit }' "$1"
}
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$1/stat"; }
ms() { awk -v us="${1:-}" 'BEGIN { if (us == "") print "-"; else printf "%.2f", us / 1000 }'; }

capacity() {
  RESULTS_COMMAND="scripts/bench-answers.sh capacity (RUNS=$runs)"
  results_begin bench-answers-capacity \
    "10,000 answers at 50 tokens/s each vs 10,000 EventSources at 50 events/s each; server on CPU 1, bench on CPU 0 (1 thread)"
  local warmup=5 duration=15
  for run in $(seq "$runs"); do
    for arm in h2c h1; do
      local clients streams
      case $arm in h2c) clients=100 streams=100 ;; h1) clients=2000 streams=5 ;; esac
      for kind in answer eventsource; do
        local case="$arm-$kind" f="$work/$arm-$kind.toml"
        {
          echo "name = \"answers-capacity\""
          echo "protocols = [\"$arm\"]"
          echo "clients = $clients"
          echo "streams_per_client = $streams"
          echo "stream_kind = \"$kind\""
          echo "warmup = \"${warmup}s\""
          echo "duration = \"${duration}s\""
          echo "client_threads = 1"
          echo "connect_timeout = \"30s\""
          if [ "$kind" = answer ]; then
            printf '[answers]\nmax_tokens = 100000\nprompt_size = 64\n'
          fi
        } > "$f"
        start_server "$work/server.out" "$work/server.err" 1 taskset -c 1 target/release/server \
          "--$arm" 127.0.0.1:0 --max-connections 100000 --time-to-first-token 0s --token-gap 20ms \
          --event-interval 20ms --event-size 200 --heartbeat 60s
        local url s0 s1
        url=$(listening_url "$work/server.out")
        s0=$(cpu_seconds "$server_pid")
        rm -rf "$work/out"
        taskset -c 0 target/release/bench "$f" --target "$arm=$url" --out "$work/out" --no-plot \
          --no-progress > "$work/bench.out" 2>&1 || { cat "$work/bench.out" >&2; exit 1; }
        s1=$(cpu_seconds "$server_pid")
        stop_server
        local csv got open delivery client_ms lag
        csv=$(ls "$work"/out/*.csv)
        if [ "$kind" = answer ]; then
          got=$(field "$csv" "$arm" "$streams" tokens_received value)
          open=$(field "$csv" "$arm" "$streams" answers_streaming_at_end value)
          delivery=token_delivery
        else
          got=$(field "$csv" "$arm" "$streams" events_received value)
          open=$(field "$csv" "$arm" "$streams" streams_open_at_end value)
          delivery=event_delivery
        fi
        client_ms=$(field "$csv" "$arm" "$streams" client_cpu_ms value)
        lag=$(field "$csv" "$arm" "$streams" client_lag p99)
        results_add "$run" "$case" received_per_s "$(echo "$got / ($warmup + $duration)" | bc)"
        results_add "$run" "$case" open_at_end "$open"
        results_add "$run" "$case" errors "$(field "$csv" "$arm" "$streams" errors value)"
        results_add "$run" "$case" client_cpu_s "$(echo "scale=2; $client_ms / 1000" | bc)"
        results_add "$run" "$case" server_cpu_s "$(echo "scale=2; ($s1 - $s0) / 1" | bc)"
        results_add "$run" "$case" client_cpu_us_per_item "$(echo "scale=3; $client_ms * 1000 / $got" | bc)"
        results_add "$run" "$case" delivery_p50_ms "$(ms "$(field "$csv" "$arm" "$streams" "$delivery" p50)")"
        results_add "$run" "$case" delivery_p99_ms "$(ms "$(field "$csv" "$arm" "$streams" "$delivery" p99)")"
        results_add "$run" "$case" client_lag_p99_ms "$(ms "$lag")"
        if [ "$kind" = answer ]; then
          results_add "$run" "$case" tokens_in_bursts "$(field "$csv" "$arm" "$streams" tokens_in_bursts value)"
        fi
        grep -E "^(warning|buffered|bursts)" "$work/bench.out" | sed "s/^/# run $run $case: /" >> "$RESULTS_FILE" || true
        echo "run $run $case: $got received, CPU ${client_ms} ms, lag p99 $(ms "$lag") ms" >&2
      done
    done
  done
  results_medians
  results_end
}

tabs() {
  RESULTS_COMMAND="scripts/bench-answers.sh tabs (RUNS=$runs)"
  results_begin bench-answers-tabs "bench llm-tabs (scenarios/llm-tabs.toml), embedded server, release build"
  for run in $(seq "$runs"); do
    rm -rf "$work/tabs"
    target/release/bench llm-tabs --out "$work/tabs" --no-plot --no-progress > "$work/tabs.out" 2>&1 ||
      { cat "$work/tabs.out" >&2; exit 1; }
    local csv
    csv=$(ls "$work"/tabs/*.csv)
    for arm in h1-tls h2; do
      for tabs in 1 2 4 6 7 8; do
        local c="$arm-$tabs"
        results_add "$run" "$c" ttft_p50_ms "$(ms "$(field "$csv" "$arm" "$tabs" time_to_first_token p50)")"
        results_add "$run" "$c" ttft_p99_ms "$(ms "$(field "$csv" "$arm" "$tabs" time_to_first_token p99)")"
        results_add "$run" "$c" itl_p50_ms "$(ms "$(field "$csv" "$arm" "$tabs" inter_token_gap p50)")"
        results_add "$run" "$c" itl_p99_ms "$(ms "$(field "$csv" "$arm" "$tabs" inter_token_gap p99)")"
        results_add "$run" "$c" answers_completed "$(field "$csv" "$arm" "$tabs" answers_completed value)"
        results_add "$run" "$c" answers_queued_at_end "$(field "$csv" "$arm" "$tabs" answers_queued_at_end value)"
        results_add "$run" "$c" ttft_censored "$(field "$csv" "$arm" "$tabs" time_to_first_token_censored value)"
        results_add "$run" "$c" post_rtt_p99_ms "$(ms "$(field "$csv" "$arm" "$tabs" post_rtt p99)")"
        results_add "$run" "$c" posts_stalled_at_end "$(field "$csv" "$arm" "$tabs" posts_stalled_at_end value)"
        results_add "$run" "$c" errors "$(field "$csv" "$arm" "$tabs" errors value)"
      done
    done
    grep -E "^(warning|buffered|bursts)" "$work/tabs.out" | sed "s/^/# run $run: /" >> "$RESULTS_FILE" || true
    echo "tabs run $run done" >&2
  done
  results_medians
  results_end
}

case $mode in
  capacity) capacity ;;
  tabs) tabs ;;
  all) capacity; tabs ;;
esac
