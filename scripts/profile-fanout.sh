#!/usr/bin/env bash
# Where the server's fan-out time goes: the release `server` binary (one tokio worker thread,
# pinned to CPU 1, ticks off) under the fan-out load of scripts/bench-fanout.sh (bench on CPU 0,
# SUBSCRIBERS EventSources on one channel, POSTS_PER_S POSTs per second), profiled.
#
#   scripts/profile-fanout.sh perf [ARM [SERVER]]      # perf record (DWARF call graphs) over the
#                                                      # point; the top functions, self and inclusive
#   scripts/profile-fanout.sh syscalls [ARM [SERVER]]  # perf stat of the server's system calls over
#                                                      # the point, per delivered event
#   scripts/profile-fanout.sh callgrind [ARM [SERVER]] # valgrind --tool=callgrind: instructions of
#                                                      # the whole server run per delivered event
#
# ARM is h1 (cleartext HTTP/1.1, the default) or h2 (TLS, ALPN h2); SERVER is ours (the default),
# nchan (nginx + nchan as scripts/bench-fanout.sh runs it, scripts/lib/nchan.sh; its worker
# process is the one profiled) or floor (h1 only: crates/sse-server/examples/http1_floor.rs, the
# HTTP/1.1 wire work and nothing else, for what a tokio server needs at least). SUBSCRIBERS (default 500), POSTS_PER_S (default 100; callgrind
# runs the server ~50x slower, so its defaults are 100 subscribers at 20 POSTs/s), DURATION (s,
# default 10). The profiles are left in OUT (default a new temporary directory, printed) and are
# not committed; crates/sse-server/FINDINGS.md, "Fan-out profile", says what they showed. callgrind counts instructions, so its figure is repeatable on a busy machine:
# use it for before/after of a change. SSEBENCH_NO_BUILD=1 skips the release build.
#
# callgrind writes its figures to results/benchmarks/NAME.tsv (scripts/lib/results.sh; NAME
# defaults to profile-fanout-callgrind-ARM). SERVER_BIN profiles another `server` binary (default
# target/release/server), e.g. one built from an earlier revision in a worktree, for the "before":
#   SERVER_BIN=/tmp/old/target/release/server NAME=profile-fanout-callgrind-h1-before \
#     scripts/profile-fanout.sh callgrind h1
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-perf}
arm=${2:-h1}
who=${3:-ours}
usage="usage: $0 [perf|syscalls|callgrind] [h1|h2] [ours|nchan|floor]"
case $mode in perf | syscalls | callgrind) ;; *) echo "$usage" >&2; exit 2 ;; esac
case $arm in h1 | h2) ;; *) echo "$usage" >&2; exit 2 ;; esac
case $who in ours | nchan | floor) ;; *) echo "$usage" >&2; exit 2 ;; esac
[ "$mode/$who" != callgrind/nchan ] || { echo "error: callgrind profiles our server or the floor, not nchan" >&2; exit 2; }
[ "$arm/$who" != h2/floor ] || { echo "error: the floor serves cleartext HTTP/1.1 only (h1)" >&2; exit 2; }
if [ "$mode" != callgrind ]; then
  subs=${SUBSCRIBERS:-500} rate=${POSTS_PER_S:-100}
else
  subs=${SUBSCRIBERS:-100} rate=${POSTS_PER_S:-20}
fi
duration=${DURATION:-10}
warmup=2
[ $((rate * duration % subs)) -eq 0 ] ||
  { echo "error: $rate POSTs/s x ${duration}s is not a multiple of $subs clients" >&2; exit 2; }

source scripts/lib/common.sh
source scripts/lib/nchan.sh
source scripts/lib/results.sh
build_release server bench
server_bin=${SERVER_BIN:-target/release/server}
if [ "$who" = floor ]; then
  build_floor
  server_bin=target/release/examples/http1_floor
fi
cap_kb=${MEMORY_CAP_KB:-2097152}
out=${OUT:-$(mktemp -d)}
mkdir -p "$out"
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
{
  echo 'name = "fanout-profile"'
  echo "protocols = [\"$arm\"]"
  echo "clients = $subs"
  echo 'streams_per_client = 1'
  echo "warmup = \"${warmup}s\""
  echo "duration = \"${duration}s\""
  echo 'client_threads = 1'
  echo 'connect_timeout = "60s"'
  echo '[posts]'
  echo "rate_per_client = $(awk -v r="$rate" -v s="$subs" 'BEGIN { printf "%.6f", r / s }')"
  echo 'body_size = 200'
} > "$work/point.toml"

extra=()
[ "$arm" = h2 ] && extra=(--cacert "$work/cert.pem")
if [ "$who" != nchan ]; then
  server=("$server_bin" "--$arm" 127.0.0.1:0 --cert "$work/cert.pem" --key "$work/key.pem" --event-interval 1d)
  [ "$who" = ours ] || server=("$server_bin" 127.0.0.1:0)
  if [ "$mode" = callgrind ]; then
    server=(valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" "${server[@]}")
  fi
  start_server "$work/server.out" "$out/server.err" 1 env TOKIO_WORKER_THREADS=1 taskset -c 1 "${server[@]}"
  url=$(listening_url "$work/server.out")
  profiled=$server_pid
else
  start_nchan
  url_var=nchan_$arm
  url=${!url_var}
  profiled=${server_pids[1]}
  extra+=(--events-path '/sub?channel=CHANNEL' --messages-path '/pub?channel=CHANNEL')
fi

bench() {
  taskset -c 0 target/release/bench "$work/point.toml" --target "$arm=$url" "${extra[@]}" \
    --out "$work/report" --no-plot --no-progress > "$out/bench.out" 2>&1 || { cat "$out/bench.out" >&2; exit 1; }
}
window=$((duration - 2))
if [ "$mode" = callgrind ]; then
  bench
else
  bench &
  bench_pid=$!
  # The measured time only: from the end of the warm-up (connects take well under a second here)
  # for `window` seconds, the POSTs being spread evenly over the point.
  sleep $((warmup + 1))
  if [ "$mode" = perf ]; then
    perf record -o "$out/perf.data" -F 999 --call-graph dwarf,32768 -p "$profiled" -- sleep "$window" \
      2> "$out/perf-record.err"
  else
    perf stat -x, -o "$out/syscalls.csv" -p "$profiled" -e raw_syscalls:sys_enter \
      -e 'syscalls:sys_enter_writev,syscalls:sys_enter_write,syscalls:sys_enter_sendmsg,syscalls:sys_enter_sendto' \
      -e 'syscalls:sys_enter_epoll_wait,syscalls:sys_enter_read,syscalls:sys_enter_recvfrom,syscalls:sys_enter_readv' \
      -- sleep "$window"
  fi
  wait "$bench_pid"
fi
if [ "$who" != nchan ]; then
  # SIGINT: the server's graceful shutdown (the floor's end), so that callgrind writes its profile.
  kill -INT "$server_pid"
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
fi
events=$(report_field events_received value < "$(ls "$work"/report/*.csv)")
echo "delivered events (events_received): $events; bench's summary in $out/bench.out"

if [ "$mode" = syscalls ]; then
  # Over the window, deliveries at the point's rate: SUBSCRIBERS x POSTS_PER_S a second.
  delivered=$((subs * rate * window))
  echo "system calls of $who's server over ${window}s (about $delivered deliveries), per delivered event:"
  awk -F, -v d="$delivered" '$1 ~ /^[0-9]+$/ { printf "  %-34s %10d  %.3f\n", $3, $1, $1 / d }' "$out/syscalls.csv"
elif [ "$mode" = perf ]; then
  perf report -i "$out/perf.data" --no-children --sort symbol --stdio --percent-limit 0.7 -g none \
    2>/dev/null | grep -v '^$' | head -60 | tee "$out/self.txt" || true
  perf report -i "$out/perf.data" --children --sort symbol --stdio --percent-limit 3 -g none \
    2>/dev/null | grep -v '^$' | head -70 > "$out/children.txt" || true
  echo "inclusive: $out/children.txt"
else
  total=$(awk '/Collected :/ { print $NF }' "$out/server.err")
  echo "instructions (Ir), whole server run (start, connects, the point): $total; per delivered event: $((total / events))"
  RESULTS_COMMAND="${SERVER_BIN:+SERVER_BIN=$SERVER_BIN }scripts/profile-fanout.sh callgrind $arm $who" \
    results_begin "${NAME:-profile-fanout-callgrind-$arm$([ "$who" = ours ] || echo "-$who")}" \
    "the server's instructions under callgrind, whole run (start, $subs connects, ${duration}s at $rate POSTs/s), per delivered event; server binary $server_bin"
  results_add 1 "$arm" events_received "$events"
  results_add 1 "$arm" instructions "$total"
  results_add 1 "$arm" instructions_per_delivered_event "$((total / events))"
  results_end
  callgrind_annotate --inclusive=yes "$out/callgrind.out" > "$out/inclusive.txt" 2>/dev/null || true
  echo "functions by inclusive instructions: $out/inclusive.txt"
fi
echo "profiles: $out"
