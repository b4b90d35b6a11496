#!/usr/bin/env bash
# The test server against a reference, measured in the same run: h2load POSTs to ssebench's
# `POST /messages` (no subscribers) and to nginx's `return 202`, each server pinned to CPU 1 with
# one worker, h2load pinned to CPU 0, over HTTP/2 with TLS and over cleartext HTTP/1.1.
# Runs alternate between the two servers; the table gives the median req/s of RUNS runs and the
# ratio ours / nginx, and each server's CPU time per POST (all its threads, user and kernel, from
# /proc/PID/task/*/schedstat over the h2load run) and that ratio: when h2load, on its one core, is
# what limits the req/s, the CPU per POST still tells the two servers apart.
#
#   scripts/bench-server.sh                 # RUNS=3 REQUESTS=100000 M="10 1" by default
#
# M: the requests in flight per connection (h2load -m): over HTTP/2 that many streams, over
# HTTP/1.1 that many pipelined requests; each M in the list is one case per protocol.
#
# Each run's req/s, the medians and the ratios go to results/benchmarks/bench-server.tsv
# (scripts/lib/results.sh).
#
# FLOOR=1 adds, on the HTTP/1.1 cases, `crates/sse-server/examples/http1_floor.rs` (a tokio server
# that does a POST's wire work and nothing else: no hyper, no bounds), pinned and loaded the same
# way, with its ratios to nginx: how far a tokio server can go below nginx at all.
#
# Needs: nginx-light, nghttp2-client (h2load), openssl (apt-get install -y nginx-light nghttp2-client openssl).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
read -r -a depths <<< "${M:-10 1}"
requests=${REQUESTS:-100000}
for tool in nginx h2load openssl taskset python3; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing: apt-get install -y nginx-light nghttp2-client openssl" >&2; exit 2; }
done
source scripts/lib/common.sh
source scripts/lib/results.sh
source scripts/lib/nginx.sh
build_release server
floor=${FLOOR:-0}
[ "$floor" != 1 ] || build_floor
RESULTS_COMMAND="RUNS=$runs REQUESTS=$requests M=\"${depths[*]}\" FLOOR=$floor scripts/bench-server.sh" results_begin bench-server \
  "h2load -c10 -mM for each M in ${depths[*]}, $requests POSTs a run, ours and nginx alternating$([ "$floor" != 1 ] || echo ", then the HTTP/1.1 floor (h1 cases)"), each server on CPU 1 with one worker, h2load on CPU 0"

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  stop_nginx
  rm -rf "$work"
}
trap cleanup EXIT

openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$work/key.pem" -out "$work/cert.pem" -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
head -c 128 /dev/zero | tr '\0' 'x' > "$work/body"

# ssebench's server: one listener per protocol.
start_server "$work/server.out" "$work/server.err" 2 taskset -c 1 target/release/server \
  --h1 127.0.0.1:0 --h2 127.0.0.1:0 --cert "$work/cert.pem" --key "$work/key.pem"
pids+=("$server_pid")
ours_pid=$server_pid
ours_h1=$(listening_url "$work/server.out" h1)
ours_h2=$(listening_url "$work/server.out" h2)
if [ "$floor" = 1 ]; then
  start_server "$work/floor.out" "$work/floor.err" 1 taskset -c 1 target/release/examples/http1_floor 127.0.0.1:0
  pids+=("$server_pid")
  floor_pid=$server_pid
  floor_h1=$(listening_url "$work/floor.out" h1)
fi

# nginx (scripts/lib/nginx.sh): one worker, same certificate, `return 202` for every request.
start_nginx "" "location / { return 202 '{\"id\":0}'; }"

# The CPU time of every thread of process $1 so far, in nanoseconds (user and kernel).
# (`%.0f`: mawk's `%d` stops at 2^31, 2.1 s of CPU.)
cpu_ns() { cat /proc/"$1"/task/*/schedstat | awk '{ s += $1 } END { printf "%.0f\n", s }'; }

# One h2load run; prints req/s, fails unless every request got a 2xx.
load() { # $1 = h1|h2, $2 = origin, $3 = requests in flight per connection (-m)
  local proto=() out
  [ "$1" = h1 ] && proto=(--h1)
  out=$(taskset -c 0 h2load "${proto[@]}" -n "$requests" -c10 -m"$3" -d "$work/body" \
        -H 'content-type: application/json' "$2/messages?channel=bench" 2>&1)
  local ok
  ok=$(awk '/^status codes:/ { gsub(",", ""); print $3 }' <<<"$out")
  if [ "$ok" != "$requests" ]; then
    echo "error: h2load $1 $2: $ok of $requests got 2xx" >&2
    echo "$out" >&2
    exit 1
  fi
  awk '/^finished in/ { gsub(",", ""); print $4 }' <<<"$out"
}

# One run against one server: its req/s to $work/$1.txt, its CPU per POST (us) to $work/$1_cpu.txt.
measure() { # $1 = ours|nginx, $2 = the server's pid, $3 = h1|h2, $4 = origin, $5 = -m
  local a b
  a=$(cpu_ns "$2")
  load "$3" "$4" "$5" >> "$work/$1.txt"
  b=$(cpu_ns "$2")
  echo "$(( (b - a) / requests ))" | awk '{ printf "%.2f\n", $1 / 1000 }' >> "$work/$1_cpu.txt"
}

# ours / nginx of two numbers, 3 decimals.
ratio() { echo "$1 / $2" | bc -l | xargs printf '%.3f'; }

printf '%-24s %12s %12s %8s %13s %13s %8s   %s\n' "protocol" "ours req/s" "nginx req/s" "ratio" \
  "ours us/POST" "nginx us/POST" "ratio" "(CPU per POST; medians of $runs runs x $requests requests, h2load -c10 -mM)"
cases=()
for m in "${depths[@]}"; do for proto in h2 h1; do cases+=("$proto -m$m"); done; done
for case in "${cases[@]}"; do
  proto=${case%% *}; m=${case##*-m}
  ours_url=ours_$proto; nginx_url=nginx_$proto
  : > "$work/ours.txt"; : > "$work/nginx.txt"; : > "$work/ours_cpu.txt"; : > "$work/nginx_cpu.txt"
  for i in $(seq "$runs"); do
    results_add "$i" machine "load_average_1min_$proto-m$m" "$(cut -d' ' -f1 /proc/loadavg)"
    measure ours "$ours_pid" "$proto" "${!ours_url}" "$m"
    measure nginx "$nginx_worker" "$proto" "${!nginx_url}" "$m"
    o=$(tail -1 "$work/ours.txt"); n=$(tail -1 "$work/nginx.txt")
    oc=$(tail -1 "$work/ours_cpu.txt"); nc=$(tail -1 "$work/nginx_cpu.txt")
    results_add "$i" "$case" ours_req_per_s "$o"
    results_add "$i" "$case" nginx_req_per_s "$n"
    results_add "$i" "$case" ratio_ours_to_nginx "$(ratio "$o" "$n")"
    results_add "$i" "$case" ours_cpu_us_per_post "$oc"
    results_add "$i" "$case" nginx_cpu_us_per_post "$nc"
    results_add "$i" "$case" cpu_ratio_ours_to_nginx "$(ratio "$oc" "$nc")"
    if [ "$floor" = 1 ] && [ "$proto" = h1 ]; then
      : > "$work/floor.txt"; : > "$work/floor_cpu.txt"
      measure floor "$floor_pid" h1 "$floor_h1" "$m"
      f=$(tail -1 "$work/floor.txt"); fc=$(tail -1 "$work/floor_cpu.txt")
      results_add "$i" "$case" floor_req_per_s "$f"
      results_add "$i" "$case" floor_cpu_us_per_post "$fc"
      results_add "$i" "$case" ratio_floor_to_nginx "$(ratio "$f" "$n")"
      results_add "$i" "$case" cpu_ratio_floor_to_nginx "$(ratio "$fc" "$nc")"
    fi
  done
  o=$(median < "$work/ours.txt"); n=$(median < "$work/nginx.txt")
  oc=$(median < "$work/ours_cpu.txt"); nc=$(median < "$work/nginx_cpu.txt")
  label=$([ "$proto" = h2 ] && echo "h2 (TLS, ALPN h2) -m$m" || echo "h1 (cleartext) -m$m")
  printf '%-24s %12.0f %12.0f %7.2fx %13.2f %13.2f %7.2fx   runs: ours %s / nginx %s\n' "$label" "$o" "$n" \
    "$(echo "$o / $n" | bc -l)" "$oc" "$nc" "$(echo "$oc / $nc" | bc -l)" \
    "$(paste -sd' ' "$work/ours.txt")" "$(paste -sd' ' "$work/nginx.txt")"
done
results_medians
# The ratio of the medians (the table's figure), beside the median of the per-run ratios.
for case in "${cases[@]}"; do
  results_add median "$case" ratio_of_medians \
    "$(ratio "$(results_median "$case" ours_req_per_s)" "$(results_median "$case" nginx_req_per_s)")"
  results_add median "$case" cpu_ratio_of_medians \
    "$(ratio "$(results_median "$case" ours_cpu_us_per_post)" "$(results_median "$case" nginx_cpu_us_per_post)")"
  f=$(results_median "$case" floor_req_per_s)
  [ -z "$f" ] || {
    results_add median "$case" floor_ratio_of_medians "$(ratio "$f" "$(results_median "$case" nginx_req_per_s)")"
    results_add median "$case" floor_cpu_ratio_of_medians \
      "$(ratio "$(results_median "$case" floor_cpu_us_per_post)" "$(results_median "$case" nginx_cpu_us_per_post)")"
    printf '%-24s %12.0f %12s %7.2fx %13.2f %13s %7.2fx   (the HTTP/1.1 floor against nginx)\n' "floor $case" "$f" "" \
      "$(results_median "$case" floor_ratio_of_medians)" "$(results_median "$case" floor_cpu_us_per_post)" "" \
      "$(results_median "$case" floor_cpu_ratio_of_medians)"
  }
done
results_end
