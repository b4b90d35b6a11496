#!/usr/bin/env bash
# One command per experiment of FINDINGS.md, each a run of the capture tool (scripts/h2-capture/h2cap.py
# --browser firefox). Usage: ./experiments.sh NAME   (or: ./experiments.sh all)
# Output of each run: runs/<NAME>/{frames.jsonl,summary.txt,page.log,firefox.stderr}
# Every run is bounded by --duration (Firefox is killed by process group after it) and by `timeout`.
# Firefox gets ssebench's own user.js (written here from crates/browser) and environment.
set -euo pipefail
cd "$(dirname "$0")"
mkdir -p runs
source ../lib/common.sh
[ -s runs/user.js ] || firefox_user_js runs/user.js
run() { local name=$1; shift; echo "### $name"; timeout 180 python3 ../h2-capture/h2cap.py --browser firefox --name "$name" --out "runs/$name" --user-js runs/user.js "$@" > "runs/$name.stdout.log" 2>&1; cat "runs/$name/summary.txt"; }
case "${1:-all}" in
  # Q1: client SETTINGS / connection and stream WINDOW_UPDATEs / receive-side flow control
  q1-settings|all)       run q1-settings --n 1 --duration 5 --quiet-data ;;&
  q1-flow-fast|all)      run q1-flow-fast --n 1 --event-size 1024 --event-interval-ms 1 --duration 12 --quiet-data ;;&
  q1-flow-slow|all)      run q1-flow-slow --n 1 --event-size 40 --event-interval-ms 100 --duration 12 --quiet-data ;;&
  # Q2: server MAX_CONCURRENT_STREAMS=3, N=10 EventSources + a POST: queue order on the connection
  q2-limit3-n10-post|all) run q2-limit3-n10-post --max-streams 3 --n 10 --post-after-ms 500 --end-all-ms 2000 --close-on-error --duration 14 ;;&
  q2-limit3-n10-post-high|all) run q2-limit3-n10-post-high --max-streams 3 --n 10 --post-after-ms 500 --post-priority high --end-all-ms 2000 --close-on-error --duration 14 ;;&
  # Q3: no limit advertised (N=150), limit 1000 (N=300): what Firefox assumes and whether it caps
  q3-nolimit-n150|all)   run q3-nolimit-n150 --n 150 --event-interval-ms 1000 --duration 12 --quiet-data ;;&
  q3-limit1000-n300|all) run q3-limit1000-n300 --max-streams 1000 --n 300 --event-interval-ms 2000 --duration 14 --quiet-data ;;&
  # Q4: requests before the server's SETTINGS (server output held 500 ms on a fresh connection)
  q4-fresh-conn-n150-limit1000|all) run q4-fresh-conn-n150-limit1000 --es-host localhost --max-streams 1000 --settings-delay-ms 500 --settings-delay-from-conn 2 --on-excess accept --n 150 --event-interval-ms 1000 --quiet-data --duration 9 ;;&
  q4-fresh-conn-n10-limit3|all) run q4-fresh-conn-n10-limit3 --es-host localhost --max-streams 3 --settings-delay-ms 500 --settings-delay-from-conn 2 --on-excess accept --n 10 --duration 7 ;;&
  *) : ;;
esac
