#!/usr/bin/env bash
# The test server under attack (issues 13 and 26): each attack against a fresh release `server`
# process on loopback, driven by crates/test-support/examples/server_abuse (the attacks are
# described there: attacks.rs for issue 13's, exhaustion.rs for issue 26's). Per attack and round
# it prints the server's RSS before / at its peak during / 30 s after the attack, a well-behaved
# client's success rate and latency p50/p99 during the attack and in the 5 s after it (chat
# messages on kept-alive HTTP/2; new clients: connect, GET /health, POST to a new channel), and the
# server's counters; then a table of all attacks against the goals: every attempt served, p99 under
# 100 ms, RSS 30 s after within 10% of before. Every figure goes to a results file under
# results/benchmarks/ (scripts/lib/results.sh; named by RESULTS_NAME, default server-abuse) with
# the medians over the rounds.
#
#   ROUNDS=2 scripts/server-abuse.sh                   # every attack, twice each: about 40 minutes
#   ROUNDS=2 scripts/server-abuse.sh websocket-silent replay-storm
#
# ROUNDS (1 to 5, default 2) runs each attack that many times against the same server process:
# memory the allocator keeps after round 1 and reuses in round 2 is a high-water mark, not a leak.
# RESULTS_DIR writes the results file elsewhere (e.g. a scratch directory for a trial run),
# RESULTS_NAME names it (default server-abuse). SERVER_BIN runs another `server` binary (e.g. one
# built from an older revision, for a before/after comparison); SSEBENCH_NO_BUILD skips the builds.
#
# Each attack is bounded in count and time. Issue 26's attacks run against the server's defaults
# (every limit and timeout as documented); issue 13's shorten a timeout so the attack's end is seen
# within the run, set the connection limit of that issue's report (stalled-posts), or restore the
# kernel's send buffer autotuning (slow-readers-autotune, for comparison). Issue 26's attackers
# connect from 127.0.0.2, another client address than the well-behaved client's 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
SCRIPT_ARGS="$*"

rounds=${ROUNDS:-2}
issue13=(channel-flood small-channel-flood stalled-posts stalled-posts-churn idle-h2c zero-window
  slow-readers slow-readers-autotune)
issue26=(websocket-silent websocket-silent-ticks http2-stalled-streams tiny-channel-flood
  held-subscriptions replay-storm replay-unread)
all=("${issue13[@]}" "${issue26[@]}")
attacks=("$@")
[ ${#attacks[@]} -gt 0 ] || attacks=("${all[@]}")

flags_for() {
  case "$1" in
    channel-flood | small-channel-flood) echo "--channel-idle-timeout 5s" ;;
    stalled-posts | stalled-posts-churn) echo "--max-connections 300" ;;
    idle-h2c) echo "--http2-idle-timeout 10s" ;;
    zero-window) echo "--write-stall-timeout 10s" ;;
    slow-readers) echo "" ;;
    # The kernel's send buffer autotuning, as before --socket-send-buffer had a default (300
    # readers: 1,000 would take about 4 GB of kernel memory, past a 2 GB tcp_mem limit).
    slow-readers-autotune) echo "--autotune-socket-send-buffer" ;;
    websocket-silent | websocket-silent-ticks | http2-stalled-streams | tiny-channel-flood | \
      held-subscriptions | replay-storm | replay-unread) echo "" ;;
    *) echo "error: unknown attack $1 (one of ${all[*]})" >&2; exit 2 ;;
  esac
}
for a in "${attacks[@]}"; do flags_for "$a" >/dev/null; done

source scripts/lib/common.sh
source scripts/lib/results.sh
if [ -z "${SSEBENCH_NO_BUILD:-}" ]; then
  cargo build --release --locked -p server --bin server >&2
  cargo build --release --locked -p test-support --example server_abuse >&2
fi
server=${SERVER_BIN:-target/release/server}
driver=target/release/examples/server_abuse

work=$(mktemp -d)
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

results_begin "${RESULTS_NAME:-server-abuse}" \
  "ROUNDS=$rounds; server $server; each attack against a fresh server process, rounds on the same one"
echo "host: $(uname -srm), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg);" \
  "git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
results=()
for attack in "${attacks[@]}"; do
  flags=$(flags_for "$attack")
  echo
  echo "== $attack: server $flags (load average $(cut -d' ' -f1-3 /proc/loadavg))"
  rm -f "$work/listening" "$work/cert.pem"
  # shellcheck disable=SC2086 # the flags are words
  start_server "$work/listening" "$work/server.err" 6 "$server" --write-cert "$work/cert.pem" $flags
  out=$("$driver" --listening "$work/listening" --cert "$work/cert.pem" --pid "$server_pid" \
    --attack "$attack" --rounds "$rounds") || { echo "$out"; echo "error: the driver failed" >&2; exit 1; }
  echo "$out" | grep -v '^RESULT'
  while read -r line; do results+=("$line"); done < <(echo "$out" | grep '^RESULT')
  echo "  server log: $(grep -c . "$work/server.err") lines, $(grep -c ' WARN ' "$work/server.err") WARN;" \
    "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  stop_server
done

# Each RESULT line's figures into the results file: run = the round, case = the attack.
for r in "${results[@]}"; do
  attack=$(echo "$r" | tr ' ' '\n' | sed -n 's/^attack=//p')
  round=$(echo "$r" | tr ' ' '\n' | sed -n 's/^round=//p')
  for kv in $(echo "$r" | tr ' ' '\n' | grep '=' | grep -v -e '^attack=' -e '^round='); do
    value=${kv#*=}
    results_add "$round" "$attack" "${kv%%=*}" "${value#+}"
  done
done
results_medians
results_end

echo
echo "RSS in MiB (before: the server's baseline before round 1; after: 30 s after the attack);"
echo "ok = % of the well-behaved client's attempts served; latencies in ms:"
echo "msg = a chat message from POST to event on kept-alive h2; new = connect, GET /health, POST"
fmt='%-22s %3s %7s %7s %7s %7s %6s %7s %7s %7s %7s %6s %7s %7s  %s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" attack rnd before peak after "after%" ok "msg p50" "msg p99" "new p50" "new p99" \
  "ok aft" "msg p99" "new p99" goals
printf "$fmt" "" "" "" "" "" "" during "" "" "" "" after after after ""
for r in "${results[@]}"; do
  get() { echo "$r" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
  # shellcheck disable=SC2059
  printf "$fmt" "$(get attack)" "$(get round)" "$(get rss_before_mib)" "$(get rss_peak_mib)" \
    "$(get rss_after_mib)" "$(get rss_after_pct)" "$(get ok_pct)" "$(get delivery_p50_ms)" \
    "$(get delivery_p99_ms)" "$(get newcomer_p50_ms)" "$(get newcomer_p99_ms)" \
    "$(get after_ok_pct)" "$(get after_delivery_p99_ms)" "$(get after_newcomer_p99_ms)" "$(get goals)"
done
