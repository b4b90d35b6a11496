#!/usr/bin/env bash
# Checks the network emulator (crates/netem) against its config and prints the measured figures
# next to the configured ones: RTT (TCP connect time), jitter, bandwidth (bulk transfers), loss
# (the forwarder's drop counters over 200,000 datagrams each way), the bottleneck queue, TCP
# recovering through loss, and cleanup.
#
# Needs root (network namespaces, TUN devices, setns) and iproute2. All traffic stays inside two
# namespaces the tests create, on 198.18.0.0/15 (RFC 2544 benchmarking range).
#
# Usage: scripts/netem-check.sh          (debug build, as `cargo test` does)
#        PROFILE=release scripts/netem-check.sh
# Exits with cargo test's status: non-zero when a figure is outside its tolerance. The figures
# (and every `netem-check:` line) go to results/benchmarks/netem-check.tsv (scripts/lib/results.sh).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
source scripts/lib/results.sh

[[ $(id -u) -eq 0 ]] || echo "netem-check: not root: the tests will fail naming the missing capabilities" >&2
command -v ip >/dev/null || { echo "netem-check: FAIL: ip (iproute2) is not installed" >&2; exit 1; }

profile_flag=()
[[ ${PROFILE:-debug} == release ]] && profile_flag=(--release)

cargo build -p netem --tests "${profile_flag[@]}" --quiet
RESULTS_COMMAND="${PROFILE:+PROFILE=$PROFILE }scripts/netem-check.sh" results_begin netem-check \
  "configured vs measured, one run of cargo test -p netem (${PROFILE:-debug}); every netem-check line below"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# --test-threads=1: one figure at a time on a small machine (the tests also serialize themselves).
cargo test -p netem "${profile_flag[@]}" --quiet -- --nocapture --test-threads=1 >"$log" 2>&1 || status=$?

echo "configured vs measured (crates/netem/tests/emulator.rs, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)):"
grep -o 'netem-check: .*' "$log" | sed 's/^netem-check: /  /' || true

grep -o 'netem-check: .*' "$log" | sed 's/^netem-check: /# /' >> "$RESULTS_FILE" || true
# The figures the README quotes, read from those lines.
grep -o 'netem-check: .*' "$log" | awk '
  /^netem-check: rtt configured/ {
    for (i = 1; i <= NF; i++) if ($i == "median") { v = $(i + 1); break }
    printf "1\trtt %s ms\tmeasured_median_ms\t%s\n", $4, v
  }
  /^netem-check: bandwidth/ {
    for (i = 1; i <= NF; i++) if ($i == "goodput") { v = $(i + 1); break }
    b = $5 " " $6; sub(/,$/, "", b)
    printf "1\tbandwidth %s %s\tgoodput_mbit_s\t%s\n", $3, b, v
  }
  /^netem-check: loss (up|down) configured/ {
    gsub(/[,%]/, "", $5); gsub(/%/, "", $7)
    printf "1\tloss %s %s%%\tmeasured_percent\t%s\n", $3, $5, $7
    printf "1\tloss %s %s%%\tpackets_seen\t%s\n", $3, $5, $11
  }' >> "$RESULTS_FILE" || true
printf '1\tmachine\tcargo_test_exit\t%s\n' "$status" >> "$RESULTS_FILE"
results_end
echo
grep -E '^test result:|^failures:|panicked at|^---- ' "$log" || true
if [[ $status -ne 0 ]]; then
    echo "netem-check: FAIL (cargo test exited $status); full log follows" >&2
    cat "$log" >&2
fi
exit "$status"
