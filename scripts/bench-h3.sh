#!/usr/bin/env bash
# HTTP/3 benchmarks (issue #24), each writing a results file under results/benchmarks/ through
# scripts/lib/results.sh. Two parts:
#
#   scale   10,000 concurrent h3 streams (40 clients x 250 streams, a tick a second each) against
#           the `server` binary in its own process (listeners h2 and h3, CPU 1; bench on CPU 0),
#           and the same point on h2 against the same server in the same run: streams opened,
#           errors, connections, event_delivery p50/p99, and the client's CPU per event (bench's
#           own client_cpu_ms / events_received), h3 / h2. RUNS runs, medians.
#           -> results/benchmarks/h3-scale.tsv
#   loss    "Does HTTP/3 fix it?": h1-tls vs h2 vs h3 at 100 ms RTT and 0/1/2/5 % loss each way,
#           through the emulated network (needs root): the shipped lossy-network (one tab of 5
#           streams, 2 POSTs/s) and lossy-network-chat (20 users, one stream, 0.5 POSTs/s each),
#           RUNS runs: fanout and post_rtt p50/p99, POSTs completed, connections, the client's
#           QUIC packets lost, the network's drops. -> results/benchmarks/h3-loss.tsv
#   browser The same question in real Chromium, at one loss rate: the shipped lossy-network (one
#           tab of 5 streams, 2 POSTs/s) at 100 ms RTT and BROWSER_LOSS % loss (2), h1-tls vs h2 vs
#           h3, with `bench browser` and, in the same run, the emulation (Chromium's rules): POST
#           round trip p50/p99, time to first event p50, POSTs completed, connections, errors (and
#           the emulation's fanout, which the browser's page does not measure), RUNS runs.
#           -> results/benchmarks/h3-browser-loss.tsv
#
#   scripts/bench-h3.sh [scale|loss|browser ...]  # default: scale and loss; RUNS=3;
#                                                 # LOSS_DURATION=20s (each loss point's measured
#                                                 # time, the scenarios' own)
#
# Needs taskset (util-linux); `loss` and `browser` need root, /dev/net/tun and iproute2 (as `bench`
# with a [network] table does); `browser` needs Chromium (`apt-get install chromium`).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(scale loss)
SCRIPT_ARGS="${parts[*]}"

source scripts/lib/common.sh
source scripts/lib/results.sh
build_release bench server
bench=target/release/bench
work=$(mktemp -d)
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

# row_field CSV PROTOCOL NETWORK STREAMS METRIC COLUMN: one cell of the point's row of METRIC
# (NETWORK and STREAMS empty: any).
row_field() {
  awk -F, -v p="$2" -v n="$3" -v s="$4" -v m="$5" -v col="$6" '
    NR == 1 { for (i = 1; i <= NF; i++) at[$i] = i; next }
    $at["protocol"] == p && (n == "" || $at["network"] == n) && (s == "" || $at["streams_per_client"] == s) \
      && $at["metric"] == m { print $at[col]; exit }' "$1"
}
ms() { awk -v us="$1" 'BEGIN { if (us == "") print ""; else printf "%.1f", us / 1000 }'; }

scale() {
  cat > "$work/scale.toml" <<'EOF'
name = "h3-10k"
description = "10,000 concurrent streams: 40 clients x 250 streams, a tick a second each, h3 and h2"
protocols = ["h3", "h2"]
clients = 40
streams_per_client = 250
warmup = "10s"
duration = "20s"
connect_timeout = "30s"
EOF
  results_begin h3-scale "40 clients x 250 streams, the server binary (h2 + h3 listeners, 256 streams each) on CPU 1, bench on CPU 0; client CPU per event from bench's client_cpu_ms / events_received"
  echo "== scale: 40 clients x 250 streams on h3 and h2 against the server binary, $runs runs"
  printf '%-4s %-3s %13s %6s %6s %17s %14s\n' run arm opened errors conns delivery_p50/p99 cpu_us/event
  for i in $(seq 1 "$runs"); do
    start_server "$work/server.out" "$work/server.err" 2 taskset -c 1 target/release/server \
      --h2 127.0.0.1:0 --h3 127.0.0.1:0 --write-cert "$work/cert.pem" --max-connections 1000 \
      --max-concurrent-streams 256 --http3-max-streams 256 --event-interval 1s
    local h2 h3
    h2=$(listening_url "$work/server.out" h2)
    h3=$(listening_url "$work/server.out" h3)
    taskset -c 0 "$bench" "$work/scale.toml" --target "h2=$h2" --target "h3=$h3" --cacert "$work/cert.pem" \
      --out "$work/scale$i" --no-plot --no-progress > "$work/scale$i.out" 2>&1 \
      || { tail -5 "$work/scale$i.out" >&2; exit 1; }
    stop_server
    local csv
    csv=$(ls "$work/scale$i"/*.csv)
    for arm in h3 h2; do
      local opened requested errors conns events cpu p50 p99 per_event
      opened=$(row_field "$csv" "$arm" "" "" streams_opened value)
      requested=$(row_field "$csv" "$arm" "" "" streams_requested value)
      errors=$(row_field "$csv" "$arm" "" "" errors value)
      conns=$(row_field "$csv" "$arm" "" "" connections_carrying_requests value)
      events=$(row_field "$csv" "$arm" "" "" events_received value)
      cpu=$(row_field "$csv" "$arm" "" "" client_cpu_ms value)
      p50=$(row_field "$csv" "$arm" "" "" event_delivery p50)
      p99=$(row_field "$csv" "$arm" "" "" event_delivery p99)
      per_event=$(awk -v c="$cpu" -v e="$events" 'BEGIN { printf "%.2f", c * 1000 / e }')
      printf '%-4s %-3s %13s %6s %6s %17s %14s\n' "$i" "$arm" "$opened/$requested" "$errors" "$conns" \
        "$(ms "$p50")/$(ms "$p99") ms" "$per_event"
      results_add "$i" "$arm" streams_opened "$opened"
      results_add "$i" "$arm" errors "$errors"
      results_add "$i" "$arm" connections "$conns"
      results_add "$i" "$arm" events_received "$events"
      results_add "$i" "$arm" client_cpu_ms "$cpu"
      results_add "$i" "$arm" client_cpu_us_per_event "$per_event"
      results_add "$i" "$arm" event_delivery_p50_ms "$(ms "$p50")"
      results_add "$i" "$arm" event_delivery_p99_ms "$(ms "$p99")"
    done
    local ratio
    ratio=$(awk -F'\t' -v i="$i" '$1 == i && $3 == "client_cpu_us_per_event" { v[$2] = $4 }
      END { printf "%.2f", v["h3"] / v["h2"] }' "$RESULTS_FILE")
    echo "     client CPU per event, h3 / h2: ${ratio}x"
    results_add "$i" h3/h2 client_cpu_per_event_ratio "$ratio"
    grep -E '^warning' "$work/scale$i.out" | sed 's/^/     /' || true
  done
  results_medians
  results_end
}

loss() {
  [ "$(id -u)" = 0 ] || { echo "error: the loss part needs root (an emulated network)" >&2; exit 2; }
  local duration=${LOSS_DURATION:-20s}
  results_begin h3-loss "shipped lossy-network (streams_per_client=5) and lossy-network-chat, duration=$duration, h1-tls vs h2 vs h3, RTT 100 ms; latencies in ms"
  for i in $(seq 1 "$runs"); do
    for scenario in lossy-network lossy-network-chat; do
      echo "== loss: $scenario, run $i of $runs"
      local sets=(--set "duration=$duration")
      [ "$scenario" = lossy-network ] && sets+=(--set streams_per_client=5)
      "$bench" "$scenario" "${sets[@]}" --out "$work/$scenario-$i" --no-plot --no-progress \
        > "$work/$scenario-$i.out" 2>&1 || { tail -5 "$work/$scenario-$i.out" >&2; exit 1; }
      local csv
      csv=$(ls "$work/$scenario-$i"/*.csv)
      for loss in 0 1 2 5; do
        local network="rtt=100ms loss=${loss}%"
        for arm in h1-tls h2 h3; do
          local case="$scenario loss=${loss}% $arm"
          for metric in fanout post_rtt; do
            results_add "$i" "$case" "${metric}_p50_ms" "$(ms "$(row_field "$csv" "$arm" "$network" "" "$metric" p50)")"
            results_add "$i" "$case" "${metric}_p99_ms" "$(ms "$(row_field "$csv" "$arm" "$network" "" "$metric" p99)")"
          done
          for metric in posts_completed posts_scheduled connections_carrying_requests errors \
              quic_packets_lost quic_packets_sent network_loss_drops_up network_loss_drops_down; do
            local v
            v=$(row_field "$csv" "$arm" "$network" "" "$metric" value)
            [ -z "$v" ] || results_add "$i" "$case" "$metric" "$v"
          done
        done
      done
      grep -E '^warning' "$work/$scenario-$i.out" | sort | uniq -c | sed 's/^/     /' || true
    done
  done
  results_medians
  results_end
}

browser() {
  [ "$(id -u)" = 0 ] || { echo "error: the browser part needs root (an emulated network)" >&2; exit 2; }
  local duration=${LOSS_DURATION:-20s} loss=${BROWSER_LOSS:-2}
  results_begin h3-browser-loss "shipped lossy-network, streams_per_client=5, loss=${loss}%, duration=$duration, h1-tls vs h2 vs h3, RTT 100 ms; bench browser (Chromium) and the emulation in the same run; latencies in ms"
  echo "# chromium: $(chromium --version 2>/dev/null || echo unknown)" >> "$RESULTS_FILE"
  local sets=(--set "duration=$duration" --set streams_per_client=5 --set "network.loss=$loss")
  for i in $(seq 1 "$runs"); do
    for client in chromium emulated; do
      echo "== browser: lossy-network at ${loss}% loss, $client, run $i of $runs"
      local cmd=("$bench")
      [ "$client" = chromium ] && cmd+=(browser)
      "${cmd[@]}" lossy-network "${sets[@]}" --out "$work/browser-$client-$i" --no-plot --no-progress \
        > "$work/browser-$client-$i.out" 2>&1 || { tail -5 "$work/browser-$client-$i.out" >&2; exit 1; }
      local csv
      csv=$(ls "$work/browser-$client-$i"/*.csv)
      for arm in h1-tls h2 h3; do
        local case="$client $arm"
        for metric in post_rtt time_to_first_event fanout; do
          local p50 p99
          p50=$(row_field "$csv" "$arm" "" "" "$metric" p50)
          p99=$(row_field "$csv" "$arm" "" "" "$metric" p99)
          [ -z "$p50" ] || results_add "$i" "$case" "${metric}_p50_ms" "$(ms "$p50")"
          [ -z "$p99" ] || results_add "$i" "$case" "${metric}_p99_ms" "$(ms "$p99")"
        done
        for metric in posts_completed posts_scheduled connections_carrying_requests errors \
            streams_opened; do
          local v
          v=$(row_field "$csv" "$arm" "" "" "$metric" value)
          [ -z "$v" ] || results_add "$i" "$case" "$metric" "$v"
        done
      done
      grep -E '^(warning|skipping)' "$work/browser-$client-$i.out" | sort | uniq -c | sed 's/^/     /' || true
    done
  done
  results_medians
  results_end
}

for part in "${parts[@]}"; do
  case "$part" in
    scale) scale ;;
    loss) loss ;;
    browser) browser ;;
    *) echo "error: unknown part $part (scale, loss, browser)" >&2; exit 2 ;;
  esac
done
