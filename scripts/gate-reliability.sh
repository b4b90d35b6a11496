#!/usr/bin/env bash
# Measures the CI regression gate itself: how often it cries wolf on an unchanged tree (false
# alarms), and how often it catches a server slowed by 2 ms (power).
#
#   scripts/gate-reliability.sh [N]        # N gates of each kind (default 20)
#
# Each gate is one full `scripts/ci-regression.sh` (3 new runs of scenarios/ci-smoke.toml against
# the committed baseline), run as CI runs it:
#   - unchanged:      the tree as it is;
#   - events +2 ms:   the embedded server writes every event 2 ms after stamping it
#                     (`--set faults.delay_events=2ms`);
#   - POSTs +2 ms:    the embedded server answers every POST 2 ms later
#                     (`--set faults.delay_posts=2ms`).
# Prints one line per gate and a summary: false alarms x/N (goal 0), caught x/N (goal N each).
# Takes about N x 3 x 1 min. Run it on a quiet machine of the kind CI uses.
set -euo pipefail
cd "$(dirname "$0")/.."

n=${1:-20}
cargo build --release --locked --bin bench >/dev/null 2>&1 || cargo build --release --locked --bin bench
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT

run_gates() { # label, overrides
  local label=$1 set=$2 flagged=0 i status
  for i in $(seq 1 "$n"); do
    if SSEBENCH_CI_SET="$set" bash scripts/ci-regression.sh >"$logs/$label-$i.log" 2>&1; then
      status=0
    else
      status=$?
    fi
    if [ "$status" -eq 1 ]; then
      flagged=$((flagged + 1))
      lines=$(grep -E 'REGRESSION|CHANGED' "$logs/$label-$i.log" | awk '{print $2, $4, $5, $6}' | sort -u | paste -sd ';' -)
      echo "$label gate $i/$n: flagged ($lines)"
    elif [ "$status" -eq 0 ]; then
      echo "$label gate $i/$n: passed"
    else
      echo "$label gate $i/$n: unusable (exit $status)"; tail -5 "$logs/$label-$i.log"
      exit 2
    fi
  done
  echo "$flagged" >"$logs/$label.flagged"
}

echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
run_gates unchanged ""
run_gates events+2ms "faults.delay_events=2ms"
run_gates posts+2ms "faults.delay_posts=2ms"

echo
echo "gate reliability over $n gates each ($(date -u +%Y-%m-%dT%H:%MZ), $(git rev-parse --short HEAD), load average at the end $(cut -d' ' -f1-3 /proc/loadavg)):"
echo "  false alarms on the unchanged tree: $(cat "$logs/unchanged.flagged")/$n (goal 0)"
echo "  server events delayed 2 ms, caught: $(cat "$logs/events+2ms.flagged")/$n (goal $n)"
echo "  server POSTs delayed 2 ms, caught:  $(cat "$logs/posts+2ms.flagged")/$n (goal $n)"
