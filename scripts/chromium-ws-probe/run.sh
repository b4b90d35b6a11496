#!/usr/bin/env bash
# The probes behind Chromium's WebSocket facts (README.md and FINDINGS.md here, followed by
# crates/loadgen/src/websocket/gate.rs), each in a loopback-only network namespace
# (scripts/loopback-netns.sh), with Chromium launched
# with crates/browser's fixed flags. Usage: scripts/chromium-ws-probe/run.sh [NAME...]; output in
# runs/NAME.txt. Needs root, chromium, openssl (for tls), python3 with websocket-client.
set -euo pipefail
cd "$(dirname "$0")"
source ../lib/common.sh
probe() { local name=$1; shift; run_probe "$name" python3 ws_probe.py "$@"; }
select_probes "$@"
want count-10 && probe count-10 --n 10 --seconds 4
want serial && probe serial --n 4 --delay 0.3 --seconds 3
want slots && probe slots --n 8 --after --seconds 4
want contexts && probe contexts --n 4 --delay 0.3 --contexts 2 --seconds 3
want tls && probe tls --n 10 --tls --seconds 4
want count-300 && probe count-300 --n 300 --seconds 20
want count-250-then-20 && probe count-250-then-20 --n 250 --then 20 --then-at 8000 --seconds 14
exit 0
