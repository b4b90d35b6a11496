#!/usr/bin/env bash
# Where a POST's CPU goes, ours against nginx's `return 202` (issue 27, goal 2), counted in
# instructions, which a shared machine does not disturb: each server runs under
# `valgrind --tool=callgrind` (one nginx worker, master process off; our release `server`), and
# h2load sends N1 then N2 POSTs over cleartext HTTP/1.1 (-c10, -m1 or -m10). The instructions per
# POST are (I(N2) - I(N1)) / (N2 - N1): two fresh processes per server, so start-up and the 10
# connections cancel out. User space only: the kernel's read and write are not counted (they are
# the same syscalls for both servers, `scripts/profile-fanout.sh syscalls` shows how to count them).
#
#   scripts/profile-posts.sh            # M="1 10" N1=2000 N2=12000
#   FLOOR=1 scripts/profile-posts.sh    # and the HTTP/1.1 floor (crates/sse-server/examples/http1_floor.rs)
#
# The figures go to results/benchmarks/profile-posts.tsv (scripts/lib/results.sh). To see where
# ours go: callgrind_annotate --inclusive=yes on a kept profile (KEEP=DIR keeps them there).
set -euo pipefail
cd "$(dirname "$0")/.."
read -r -a depths <<< "${M:-1 10}"
n1=${N1:-2000}
n2=${N2:-12000}
for tool in valgrind callgrind_annotate nginx h2load openssl; do
  command -v "$tool" >/dev/null || { echo "error: $tool is missing: apt-get install -y valgrind nginx-light nghttp2-client openssl" >&2; exit 2; }
done
SCRIPT_ARGS="$*"
source scripts/lib/common.sh
source scripts/lib/results.sh
build_release server
servers=(ours nginx)
if [ "${FLOOR:-0}" = 1 ]; then
  servers+=(floor)
  build_floor
fi
work=$(mktemp -d)
keep=${KEEP:-$work}
mkdir -p "$keep"
cleanup() {
  stop_server
  [ -z "${nginx_pid:-}" ] || kill "$nginx_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
source scripts/lib/nginx.sh
results_begin profile-posts "user-space instructions per POST under callgrind, (I(N2)-I(N1))/(N2-N1), N1=$n1 N2=$n2, h2load --h1 -c10, cleartext HTTP/1.1; servers: ${servers[*]}"
printf '{"text":"hello"}' > "$work/body"
openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

total() { callgrind_annotate "$1" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'; }

post() { # URL N M -> fails unless every POST got a 2xx
  local out ok
  out=$(h2load --h1 -n "$2" -c10 -m "$3" -d "$work/body" "$1" 2>&1)
  ok=$(awk '/^status codes:/ { print $3 }' <<< "$out")
  [ "$ok" = "$2" ] || { echo "error: h2load $1: ${ok:-0} of $2 got 2xx" >&2; echo "$out" >&2; exit 1; }
}

# One profiled process of SERVER (ours|nginx|floor) serving N POSTs at depth M; prints its instructions.
profile() {
  local server=$1 n=$2 m=$3 file="$keep/callgrind.$1.m$3.n$2"
  if [ "$server" != nginx ]; then
    local bin=(target/release/server --h1 127.0.0.1:0)
    [ "$server" = ours ] || bin=(target/release/examples/http1_floor 127.0.0.1:0)
    start_server "$work/s.out" "$work/s.err" 1 valgrind --tool=callgrind --callgrind-out-file="$file" "${bin[@]}"
    post "$(listening_url "$work/s.out" h1)/messages?channel=x" "$n" "$m"
    stop_server
  else
    NGINX_WRAP="valgrind --tool=callgrind --callgrind-out-file=$file" start_nginx "" "location / { return 202 '{\"id\":0}'; }"
    post "$nginx_h1/messages?channel=x" "$n" "$m"
    stop_nginx
  fi
  total "$file"
}

printf '%-8s %-4s %12s\n' server m "instr/POST"
for m in "${depths[@]}"; do
  declare -A per=()
  for server in "${servers[@]}"; do
    a=$(profile "$server" "$n1" "$m")
    b=$(profile "$server" "$n2" "$m")
    per[$server]=$(( (b - a) / (n2 - n1) ))
    results_add 1 "$server h1 -m$m" instructions_per_post "${per[$server]}"
    printf '%-8s %-4s %12s\n' "$server" "$m" "${per[$server]}"
  done
  ratio=$(awk -v a="${per[ours]}" -v b="${per[nginx]}" 'BEGIN { printf "%.2f", a / b }')
  results_add 1 "h1 -m$m" ours_over_nginx "$ratio"
  echo "h1 -m$m: ours / nginx = ${ratio}x instructions per POST"
  if [ -n "${per[floor]:-}" ]; then
    ratio=$(awk -v a="${per[floor]}" -v b="${per[nginx]}" 'BEGIN { printf "%.2f", a / b }')
    results_add 1 "h1 -m$m" floor_over_nginx "$ratio"
    echo "h1 -m$m: floor / nginx = ${ratio}x instructions per POST"
  fi
done
results_end
