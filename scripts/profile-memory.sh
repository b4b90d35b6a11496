#!/usr/bin/env bash
# Where the server's memory per idle subscriber goes: the `server` binary's code with the system
# allocator (crates/server/examples/heap_server.rs; heaptrack sees malloc, not jemalloc) under
# heaptrack, with CLIENTS idle subscribers of ARM (STREAMS each) connected by bench as
# scripts/server-memory.sh connects them (ticks off, no POSTs). Prints the heap's peak consumers,
# one line per allocation site (the innermost frames outside the allocator), largest first, in
# bytes per stream at the peak (all streams open).
#
#   scripts/profile-memory.sh [ARM [CLIENTS [STREAMS]]]   # default: h1 1000 1
#   scripts/profile-memory.sh h2 20 250                   # what an HTTP/2 stream costs
#
# The heaptrack file and the collapsed stacks stay in OUT (default a new temporary directory,
# printed) and are not committed; crates/sse-server/FINDINGS.md, "Memory per subscriber", says
# what they showed. TOP (default 20) lines. SSEBENCH_NO_BUILD=1 skips the release build.
#
# Needs: heaptrack (apt-get install -y heaptrack).
set -euo pipefail
cd "$(dirname "$0")/.."
arm=${1:-h1}
clients=${2:-1000}
streams=${3:-1}
top=${TOP:-20}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
command -v heaptrack >/dev/null || { echo "error: heaptrack is missing: apt-get install -y heaptrack" >&2; exit 2; }
source scripts/lib/common.sh
build_release bench
[ -n "${SSEBENCH_NO_BUILD:-}" ] || cargo build --release --locked -p server --example heap_server >&2
trap stop_server EXIT

start_server "$out/server.out" "$out/server.err" 1 heaptrack -o "$out/heaptrack" \
  target/release/examples/heap_server "--$arm" 127.0.0.1:0 --write-cert "$out/cert.pem" \
  --event-interval 1d --replay-ring 4096 --max-connections 100000 --max-concurrent-streams 256
url=$(listening_url "$out/server.out")
target/release/bench scenarios/sse-vs-websocket.toml --set "protocols=[\"$arm\"]" --set "clients=$clients" \
  --set "streams_per_client=$streams" --set warmup=10s --set duration=1s --set posts.rate_per_client=0 \
  --set connect_timeout=30s --target "$arm=$url" --cacert "$out/cert.pem" \
  --out "$out/report" --no-plot --no-progress > "$out/bench.out" 2>&1 || { cat "$out/bench.out" >&2; exit 1; }
# heaptrack runs the server as its child: stop that one, so heaptrack writes its file and exits.
kill -INT "$(pgrep -P "$server_pid" -f heap_server | head -1)"
wait "$server_pid" || true
server_pid=""
heaptrack_print -f "$out/heaptrack.zst" -F "$out/stacks.txt" --flamegraph-cost-type peak > "$out/summary.txt" 2>&1
grep -E '^peak' "$out/summary.txt"
total=$((clients * streams))
awk -v total="$total" '{ c = $NF; $NF = ""; print c "\t" $0 }' "$out/stacks.txt" | sort -nr | head -"$top" |
  awk -F'\t' -v total="$total" '{
    n = split($2, f, ";"); s = ""; k = 0
    for (i = n; i > 0 && k < 8; i--)
      if (f[i] !~ /alloc|raw_vec|boxed|sync\.rs|with_capacity|^ *$|poll<>|closure|poll_fn|harness|unsafe_cell|panic/) { s = s " < " f[i]; k++ }
    printf "%8.0f B%s\n", $1 / total, s
  }'
echo "profile: $out" >&2
