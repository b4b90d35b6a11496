# The load generator's efficiency points, defined once for scripts/bench-h2-scale.sh (bench
# against h2load) and scripts/ab-client-cpu.sh (one bench against another); `source` it.
#
# Each point is 5 s of EventSources, no warm-up, every stream ticking every millisecond with
# 100-byte events: h2 one client with 100 streams (one connection), h1 17 clients with 6 streams
# (102 connections).

EFFICIENCY_PATH='/events?channel=eff&interval_ms=1&size=100'

# efficiency_shape ARM: "CLIENTS STREAMS_PER_CLIENT" of ARM's point (h1 or h2).
efficiency_shape() {
  case $1 in
    h2) echo "1 100" ;;
    h1) echo "17 6" ;;
    *) echo "error: the efficiency points are h1 and h2, not $1" >&2; return 2 ;;
  esac
}

# efficiency_run BENCH ARM URL CERT DIR: one run of BENCH on ARM's point, pinned to CPU 0, under
# /usr/bin/time. Its report goes to DIR/report, its output to DIR/bench.out, and "user system"
# CPU-seconds to DIR/cpu; exits on a failed run.
efficiency_run() {
  local bench=$1 arm=$2 url=$3 cert=$4 dir=$5 clients streams
  read -r clients streams < <(efficiency_shape "$arm")
  mkdir -p "$dir"
  cat > "$dir/point.toml" <<EOT
name = "eff-$arm"
protocols = ["$arm"]
clients = $clients
streams_per_client = $streams
warmup = "0s"
duration = "5s"
EOT
  /usr/bin/time -f '%U %S' -o "$dir/cpu" taskset -c 0 "$bench" "$dir/point.toml" --target "$arm=$url" \
    --cacert "$cert" --events-path "$EFFICIENCY_PATH" --out "$dir/report" --no-plot --no-progress \
    > "$dir/bench.out" 2>&1 || { tail -5 "$dir/bench.out" >&2; exit 1; }
}
