#!/usr/bin/env bash
# Measures the CI regression gate itself: how often it cries wolf on an unchanged tree (false
# alarms), and how often it catches a server made slower or wrong by one of the embedded server's
# faults (power), against the committed baseline (results/baseline/).
#
#   scripts/gate-reliability.sh [N]          # N gates of each kind (default 20)
#   KINDS="unchanged ticks/2" scripts/gate-reliability.sh 5    # some kinds only
#   NAME=gate-reliability-faults KINDS=... scripts/gate-reliability.sh 20   # files named NAME.*
#
# Each gate is one full `scripts/ci-regression.sh` (3 new runs of scenarios/ci-smoke.toml against
# the committed baseline), run as CI runs it, judged once (SSEBENCH_CI_CONFIRM=0), so the figures
# are those of one set of runs; the CI gate fails only when a fresh second set confirms, so its
# false-alarm rate is at most this one and its power that of two sets in a row. The kinds (each
# fault is a key of the scenario's [faults] table, scenarios/README.md):
#   unchanged      the tree as it is
#   events+2ms     every event written 2 ms after it was stamped (faults.delay_events=2ms)
#   events-x2      the event_delivery medians doubled (faults.delay_events=<half the baseline's
#                  largest event_delivery p50>): under 1 ms a stream waits by yielding to the
#                  others, and with 16 or 32 streams waiting at once each wait lasts about twice
#                  its length or more (30 us moved medians of 51 to 89 us by 55 to 200 us), so
#                  half the largest median at least doubles every row's; every gate's log line
#                  shows the four medians, base and new
#   ticks/2        every 2nd tick made and never written (faults.drop_ticks_every_nth=2)
#   stream-1       the 16th GET /events of each point answered 503 (faults.stream_error_every_nth=16):
#                  one stream fewer opened in the 16-stream points
#   tls+5ms        every TLS handshake 5 ms late (faults.delay_tls_handshake=5ms)
#   posts+2ms      every POST answered 2 ms late (faults.delay_posts=2ms)
#
# Writes results/gate/NAME.log (NAME is gate-reliability unless set: command, date, git revision,
# machine, load average, one line per gate with its load average and the lines that flagged it,
# the summary) and results/gate/gate-output.txt (the full output of the first unchanged gate: every
# line the gate prints, judged or saying why not), and the figures to results/benchmarks/NAME.tsv
# (scripts/lib/results.sh). Takes about N x 7 x 1 min.
set -euo pipefail

# The whole script is read before it runs (a function), so editing it during a run is safe.
main() {
  cd "$(dirname "$0")/.."
  SCRIPT_ARGS="$*"
  source scripts/lib/results.sh

  n=${1:-20}
  read -r -a kinds <<< "${KINDS:-unchanged events+2ms events-x2 ticks/2 stream-1 tls+5ms posts+2ms}"
  cargo build --release --locked --bin bench >/dev/null 2>&1 || cargo build --release --locked --bin bench
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  # Every gate runs this copy, so a rebuild during the hours this takes cannot change what is measured.
  cp target/release/bench "$work/bench"
  bench=$work/bench
  export SSEBENCH_CI_BENCH=$bench

  # The largest event_delivery median of the baseline's rows (merged histograms), microseconds.
  baseline_delivery_p50() {
    local base=(results/baseline/ci-smoke-*.csv) args=() b
    args=("${base[0]}" "${base[0]}")
    for b in "${base[@]:1}"; do args+=(--base "$b" --new "$b"); done
    "$bench" compare "${args[@]}" --no-default-thresholds --threshold event_delivery.p50=+50% |
      awk '$1 == "ci-smoke" && $5 == "event_delivery" && $6 == "p50" && $7 + 0 > max { max = $7 + 0 }
        END { printf "%d", max + 0.5 }'
  }
  delivery_us=$(baseline_delivery_p50)

  overrides() { # kind -> the --set overrides of its gates
    case "$1" in
      unchanged) echo "" ;;
      events+2ms) echo "faults.delay_events=2ms" ;;
      events-x2) echo "faults.delay_events=$((delivery_us / 2))us" ;;
      ticks/2) echo "faults.drop_ticks_every_nth=2" ;;
      stream-1) echo "faults.stream_error_every_nth=16" ;;
      tls+5ms) echo "faults.delay_tls_handshake=5ms" ;;
      posts+2ms) echo "faults.delay_posts=2ms" ;;
      *) echo "error: unknown kind $1" >&2; return 2 ;;
    esac
  }
  for kind in "${kinds[@]}"; do overrides "$kind" >/dev/null; done

  target() { # kind -> the metric and stat its fault moves, shown for every gate of the kind
    case "$1" in
      events+2ms | events-x2) echo "event_delivery p50" ;;
      ticks/2) echo "events_received value" ;;
      stream-1) echo "streams_opened value" ;;
      tls+5ms) echo "connect p50" ;;
      posts+2ms) echo "post_rtt p50" ;;
      *) echo "" ;;
    esac
  }

  name=${NAME:-gate-reliability}
  RESULTS_COMMAND="NAME=$name KINDS=\"${kinds[*]}\" scripts/gate-reliability.sh $SCRIPT_ARGS"
  log=results/gate/$name.log
  mkdir -p results/gate
  results_begin "$name" "one row per gate: flagged 1 (regression) or 0 (passed), judged once; totals at the end"
  {
    sed -n '/^# /p' "$RESULTS_FILE" | sed 's/^# //'
    echo "baseline: results/baseline/ ($(ls results/baseline/ci-smoke-*.csv | wc -l) runs), largest event_delivery p50 ${delivery_us} us"
    echo "kinds: ${kinds[*]}; $n gates each"
    echo
  } > "$log"

  declare -A flagged=()
  for kind in "${kinds[@]}"; do
    set=$(overrides "$kind")
    flagged[$kind]=0
    for i in $(seq 1 "$n"); do
      load=$(cut -d' ' -f1 /proc/loadavg)
      status=0
      SSEBENCH_CI_CONFIRM=0 SSEBENCH_CI_SET="$set" bash scripts/ci-regression.sh \
        > "$work/gate.log" 2>&1 || status=$?
      tally=$(grep -E '^[0-9]+ lines: ' "$work/gate.log" | head -1)
      if [ "$kind" = unchanged ] && [ "$i" = 1 ]; then
        { echo "# scripts/ci-regression.sh on the unchanged tree, $(date -u +%FT%TZ), load average $load"
          cat "$work/gate.log"; } > results/gate/gate-output.txt
      fi
      read -r metric stat <<< "$(target "$kind")"
      moved=""
      [ -z "$metric" ] || moved=$(awk -v m="$metric" -v s="$stat" '
        /^failing lines:/ { exit } $1 == "ci-smoke" && $5 == m && $6 == s { printf "%s/%s %s->%s, ", $2, $4, $7, $8 }' \
        "$work/gate.log" | sed 's/emulated\///g; s/, $//')
      moved=${moved:+; $metric $stat: $moved}
      case "$status" in
        1)
          flagged[$kind]=$((flagged[$kind] + 1))
          # The flagged lines: arm/streams, metric, stat, base->new, verdict.
          lines=$(awk '/^failing lines:/ { f = 1; next } f && $1 == "ci-smoke" { printf "%s/%s %s %s %s->%s %s, ", $2, $4, $5, $6, $7, $8, $NF }' \
            "$work/gate.log" | sed 's/emulated\///g; s/, $//')
          echo "$kind gate $i/$n (load $load): flagged ($tally)$moved; flagged lines: $lines" | tee -a "$log"
          results_add "$i" "$kind" flagged 1
          ;;
        0)
          echo "$kind gate $i/$n (load $load): passed ($tally)$moved" | tee -a "$log"
          results_add "$i" "$kind" flagged 0
          ;;
        *)
          echo "$kind gate $i/$n (load $load): unusable (exit $status)" | tee -a "$log"
          tail -20 "$work/gate.log" | tee -a "$log"
          exit 2
          ;;
      esac
    done
  done

  for kind in "${kinds[@]}"; do results_add total "$kind" flagged_gates "${flagged[$kind]}"; done
  results_end
  {
    echo
    echo "gate reliability over $n gates each ($(date -u +%FT%TZ), $(git rev-parse --short HEAD), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)):"
    for kind in "${kinds[@]}"; do
      if [ "$kind" = unchanged ]; then
        echo "  false alarms on the unchanged tree: ${flagged[$kind]}/$n (goal 0)"
      else
        echo "  $kind ($(overrides "$kind")): caught ${flagged[$kind]}/$n (goal $n)"
      fi
    done
  } | tee -a "$log"
  echo "log: $log" >&2
}

main "$@"
