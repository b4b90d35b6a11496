#!/usr/bin/env bash
# The test server under attack (issue 13): each attack against a fresh release `server` process on
# loopback, driven by crates/test-support/examples/server_abuse (the attacks are described there).
# Per attack it prints the server's RSS before / at its peak during / after the attack, whether a
# well-behaved client was locked out, and that client's latency p50/p99 during the attack; then a
# table of all attacks against the goals: no lockout, RSS after within 10% of before, p99 < 50 ms.
#
#   scripts/server-abuse.sh                          # every attack, twice each: about 9 minutes
#   ROUNDS=1 scripts/server-abuse.sh stalled-posts zero-window
#
# ROUNDS (1 to 5, default 2) runs each attack that many times against the same server process:
# memory the allocator keeps after round 1 and reuses in round 2 is a high-water mark, not a leak.
#
# Each attack is bounded in count and time. The server runs with its defaults except the flags
# below, which shorten a timeout so the attack's end is seen within the run, set the connection
# limit of the issue's report (stalled-posts), or restore the kernel's send buffer autotuning
# (slow-readers-autotune, for comparison).
#
# RSS after an attack is what glibc's malloc keeps: it does not give freed memory back to the
# kernel unless the free space sits at the top of a heap. Run with
# GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4096 to have buffers of 4 KiB and more mapped apart and
# returned at once, which shows how much of it is the allocator's.
set -euo pipefail
cd "$(dirname "$0")/.."

rounds=${ROUNDS:-2}
all=(channel-flood small-channel-flood stalled-posts stalled-posts-churn idle-h2c zero-window
  slow-readers slow-readers-autotune)
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
    *) echo "error: unknown attack $1 (one of ${all[*]})" >&2; exit 2 ;;
  esac
}
for a in "${attacks[@]}"; do flags_for "$a" >/dev/null; done

source scripts/lib/common.sh
cargo build --release --locked -p sse-server --bin server >&2
cargo build --release --locked -p test-support --example server_abuse >&2
server=target/release/server
driver=target/release/examples/server_abuse

work=$(mktemp -d)
cleanup() {
  stop_server
  rm -rf "$work"
}
trap cleanup EXIT

echo "host: $(uname -srm), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg);" \
  "git $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
results=()
for attack in "${attacks[@]}"; do
  flags=$(flags_for "$attack")
  echo
  echo "== $attack: server $flags"
  rm -f "$work/listening" "$work/cert.pem"
  # shellcheck disable=SC2086 # the flags are words
  start_server "$work/listening" "$work/server.err" 4 "$server" --write-cert "$work/cert.pem" $flags
  out=$("$driver" --listening "$work/listening" --cert "$work/cert.pem" --pid "$server_pid" \
    --attack "$attack" --rounds "$rounds") || { echo "$out"; echo "error: the driver failed" >&2; exit 1; }
  echo "$out" | grep -v '^RESULT'
  while read -r line; do results+=("$line"); done < <(echo "$out" | grep '^RESULT')
  echo "  server log: $(grep -c . "$work/server.err") lines, $(grep -c ' WARN ' "$work/server.err") WARN;" \
    "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
  stop_server
done

echo
echo "RSS in MiB (before: the server's baseline before round 1); latencies in ms during the attack:"
echo "msg = a chat message from POST to event on kept-alive h2; new = connect + GET /health"
fmt='%-20s %5s %8s %8s %8s %8s %8s %8s %8s %8s %8s  %s\n'
# shellcheck disable=SC2059 # the format is ours
printf "$fmt" attack round before peak after "after%" lockout "msg p50" "msg p99" "new p50" \
  "new p99" goals
for r in "${results[@]}"; do
  get() { echo "$r" | tr ' ' '\n' | sed -n "s/^$1=//p"; }
  # shellcheck disable=SC2059
  printf "$fmt" "$(get attack)" "$(get round)" "$(get rss_before_mib)" "$(get rss_peak_mib)" \
    "$(get rss_after_mib)" "$(get rss_after_pct)" "$(get locked_out)" "$(get delivery_p50_ms)" \
    "$(get delivery_p99_ms)" "$(get newcomer_p50_ms)" "$(get newcomer_p99_ms)" "$(get goals)"
done
