#!/usr/bin/env bash
# The probes behind scripts/firefox-probes/FINDINGS.md, each in a loopback-only network namespace
# (scripts/loopback-netns.sh), with Firefox launched as crates/browser launches it (its user.js
# and environment). Usage: scripts/firefox-probes/run.sh [NAME...]; output in runs/NAME.txt.
# Needs root, firefox-esr, chromium (for urgent-chromium), python3 with websocket-client, curl.
# Builds the `server` binary and writes runs/user.js, unless SSE_SERVER and USER_JS name them.
set -euo pipefail
cd "$(dirname "$0")"
source ../lib/common.sh
root=$(cd ../.. && pwd)
mkdir -p runs
if [ -z "${SSE_SERVER:-}" ] || [ -z "${USER_JS:-}" ]; then
  (cd "$root" && cargo build -q --offline --bin server)
  firefox_user_js runs/user.js
  SSE_SERVER="$root/target/debug/server" USER_JS="$PWD/runs/user.js"
fi
export SSE_SERVER USER_JS PROBE_QUIET=1
probe() { local name=$1; shift; run_probe "$name" python3 "$@"; }
select_probes "$@"
want prefs && probe prefs prefs.py dom.serverEvents.defaultReconnectionTime \
  network.http.max-persistent-connections-per-server network.http.max-connections \
  network.http.max-urgent-start-excessive-connections-per-host network.http.http2.default-concurrent \
  network.http.http2.push-allowance network.http.http2.pull-allowance network.http.http2.default-hpack-buffer \
  network.http.http2.send_NO_RFC7540_PRI network.http.http2.websockets network.http.priority_header.enabled \
  network.websocket.max-connections privacy.reduceTimerPrecision \
  privacy.resistFingerprinting.reduceTimerPrecision.microseconds
want reconnect && probe reconnect reconnect.py "" 17
want reconnect-retry && probe reconnect-retry reconnect.py 1000 5
want queue-h1 && probe queue-h1 queue.py h1 8
want queue-h1-high && probe queue-h1-high queue.py h1 8 high
want queue-h2-limit3 && probe queue-h2-limit3 queue.py h2 8 "" 3
want queue-h2-limit3-high && probe queue-h2-limit3-high queue.py h2 8 high 3
want urgent && probe urgent urgent.py 6
want urgent-chromium && probe urgent-chromium urgent_chromium.py
want ws && probe ws ws.py 8 5
want ws-serial && WS_DELAY=0.3 probe ws-serial ws.py 4 4
exit 0
