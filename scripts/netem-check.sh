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
# Exits with cargo test's status: non-zero when a figure is outside its tolerance.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

[[ $(id -u) -eq 0 ]] || echo "netem-check: not root: the tests will fail naming the missing capabilities" >&2
command -v ip >/dev/null || { echo "netem-check: FAIL: ip (iproute2) is not installed" >&2; exit 1; }

profile_flag=()
[[ ${PROFILE:-debug} == release ]] && profile_flag=(--release)

cargo build -p netem --tests "${profile_flag[@]}" --quiet
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# --test-threads=1: one figure at a time on a small machine (the tests also serialize themselves).
cargo test -p netem "${profile_flag[@]}" --quiet -- --nocapture --test-threads=1 >"$log" 2>&1 || status=$?

echo "configured vs measured (crates/netem/tests/emulator.rs, $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)):"
grep -o 'netem-check: .*' "$log" | sed 's/^netem-check: /  /' || true
echo
grep -E '^test result:|^failures:|panicked at|^---- ' "$log" || true
if [[ $status -ne 0 ]]; then
    echo "netem-check: FAIL (cargo test exited $status); full log follows" >&2
    cat "$log" >&2
fi
exit "$status"
