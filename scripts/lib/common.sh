# Shell helpers the scripts share; `source "$(dirname "$0")/lib/common.sh"` (or ../lib/common.sh).

# --- probes: scripts/chromium-ws-probe/run.sh, scripts/firefox-probes/run.sh ---------------------
# select_probes NAME...: the probes asked for (none: all); want NAME: whether to run NAME.
select_probes() { selected=("$@"); }
want() { [ ${#selected[@]} -eq 0 ] || [[ " ${selected[*]} " == *" $1 "* ]]; }
# run_probe NAME COMMAND...: COMMAND in a loopback-only network namespace (scripts/loopback-netns.sh),
# bounded to 180 s, its output shown and kept in runs/NAME.txt (stderr dropped with PROBE_QUIET=1).
run_probe() {
  local name=$1 sandbox
  shift
  sandbox="$(dirname "${BASH_SOURCE[0]}")/../loopback-netns.sh"
  mkdir -p runs
  echo "### $name: $*"
  if [ -n "${PROBE_QUIET:-}" ]; then
    timeout 180 "$sandbox" "$@" 2>/dev/null | grep -v '^\[' | tee "runs/$name.txt"
  else
    timeout 180 "$sandbox" "$@" 2>&1 | tee "runs/$name.txt"
  fi
}

# firefox_user_js FILE: writes ssebench's Firefox preferences (crates/browser's user.js) to FILE.
firefox_user_js() {
  (cd "$(dirname "${BASH_SOURCE[0]}")/../.." && cargo run -q --offline -p browser --example firefox_user_js) > "$1"
}

# --- benchmarks: the release binaries and a `server` process on port 0 ----------------------------
# build_release BIN...: cargo build --release of those binaries, unless SSEBENCH_NO_BUILD is set.
build_release() {
  local args=() b
  for b in "$@"; do args+=(--bin "$b"); done
  [ -n "${SSEBENCH_NO_BUILD:-}" ] || cargo build --release --locked "${args[@]}" >&2
}
# build_floor: the HTTP/1.1 floor, target/release/examples/http1_floor (FLOOR=1 in the benchmark
# scripts), unless SSEBENCH_NO_BUILD is set.
build_floor() {
  [ -n "${SSEBENCH_NO_BUILD:-}" ] || cargo build --release --locked -p sse-server --example http1_floor >&2
}
# start_server OUT ERR LINES COMMAND...: starts COMMAND (a `server`) in the background with its
# stdout in OUT and stderr in ERR, sets server_pid, and waits up to 10 s for LINES `listening`
# lines; exits 1 naming the server's stderr if they do not come.
start_server() {
  local out=$1 err=$2 lines=$3
  shift 3
  # Emptied here, not by the background job's redirection, which may run after the first check
  # below and let it read a previous server's lines.
  : > "$out"
  : > "$err"
  "$@" > "$out" 2> "$err" &
  server_pid=$!
  for _ in $(seq 100); do
    [ "$(grep -c '^listening' "$out" 2>/dev/null)" -ge "$lines" ] && return 0
    sleep 0.1
  done
  echo "error: the server did not start: $(cat "$err")" >&2
  exit 1
}
# listening_url OUT [PROTOCOL]: the URL of the server's first (or PROTOCOL's) listener.
listening_url() { awk -v p="${2:-}" '/^listening/ && (p == "" || $2 == p) { print $3; exit }' "$1"; }
# stop_server: stops the server start_server started, if any.
stop_server() {
  [ -z "${server_pid:-}" ] || { kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; }
  server_pid=""
}

# --- reading reports --------------------------------------------------------------------------
# report_field METRIC COLUMN < report.csv: one column (value, count, p50, p99, ...) of a metric's
# first row, the column found by its name in the header.
report_field() {
  awk -F, -v m="$1" -v col="$2" 'NR == 1 { for (i = 1; i <= NF; i++) at[$i] = i; next }
    $at["metric"] == m { print $at[col]; exit }'
}
# median < numbers: the median of one number per line.
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
