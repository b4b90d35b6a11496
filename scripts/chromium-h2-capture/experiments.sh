#!/usr/bin/env bash
# One command per experiment of FINDINGS.md, each a run of the capture tool (scripts/h2-capture/h2cap.py
# --browser chromium). Usage: ./experiments.sh NAME   (or: ./experiments.sh all)
# Output of each run: runs/<NAME>/{frames.jsonl,summary.txt,page.log,chromium.stderr[,netlog.json]}
# Every run is bounded by --duration (Chromium is killed by process group after it) and by `timeout`.
set -euo pipefail
cd "$(dirname "$0")"
run() { local name=$1; shift; echo "### $name"; timeout 180 python3 ../h2-capture/h2cap.py --browser chromium --name "$name" --out "runs/$name" "$@" > "runs/$name.stdout.log" 2>&1; cat "runs/$name/summary.txt"; }
mkdir -p runs
case "${1:-all}" in
  # Q1: client SETTINGS / connection WINDOW_UPDATE / receive-side flow control
  q1-flow-fast|all)      run q1-flow-fast --n 1 --event-size 1024 --event-interval-ms 1 --duration 22 --quiet-data ;;&
  q1-flow-veryfast|all)  run q1-flow-veryfast --n 2 --event-size 16000 --event-interval-ms 2 --duration 9 --quiet-data ;;&
  q1-flow-slow|all)      run q1-flow-slow --n 1 --event-size 40 --event-interval-ms 100 --duration 20 --quiet-data ;;&
  # Q2: server MAX_CONCURRENT_STREAMS=3, N=10 EventSources (+ a POST), priorities
  q2-limit3-n10|all)     run q2-limit3-n10 --max-streams 3 --n 10 --end-stream 0:3000 --end-stream 1:5000 --close-on-error --duration 10 ;;&
  q2-limit3-n10-post|all) run q2-limit3-n10-post --max-streams 3 --n 10 --post-after-ms 500 --end-all-ms 2000 --close-on-error --duration 14 ;;&
  q2-limit3-n10-post-netlog|all) run q2-limit3-n10-post-netlog --netlog --max-streams 3 --n 10 --post-after-ms 500 --end-all-ms 2000 --close-on-error --duration 12 ;;&
  q2-limit3-n10-post-high|all) run q2-limit3-n10-post-high --max-streams 3 --n 10 --post-after-ms 500 --post-priority high --end-all-ms 2000 --close-on-error --duration 12 ;;&
  q2-no-rfc7540-priorities|all) run q2-no-rfc7540-priorities --extra-setting 9=1 --n 2 --post-after-ms 300 --duration 4 ;;&
  # Q3: no limit advertised (N=150), limit 1000 (N=300), limit 5 then 20
  q3-nolimit-n150|all)   run q3-nolimit-n150 --n 150 --event-interval-ms 1000 --duration 12 --quiet-data ;;&
  q3-limit1000-n300|all) run q3-limit1000-n300 --max-streams 1000 --n 300 --event-interval-ms 2000 --duration 14 --quiet-data ;;&
  q3-settings-5-then-20|all) run q3-settings-5-then-20 --max-streams 5 --settings-change 2000:20 --n 30 --event-interval-ms 1000 --duration 9 --quiet-data ;;&
  # Q4: requests before the server's SETTINGS (server output held 500 ms)
  q4-settings-delay-own-conn|all) run q4-settings-delay-own-conn --max-streams 3 --settings-delay-ms 500 --n 3 --duration 6 ;;&
  q4-settings-delay-fresh-conn-n10|all) run q4-settings-delay-fresh-conn-n10 --es-host localhost --max-streams 3 --settings-delay-ms 500 --settings-delay-from-conn 2 --on-excess accept --n 10 --duration 7 ;;&
  q4-fresh-conn-n10-refuse-end|all) run q4-fresh-conn-n10-refuse-end --netlog --es-host localhost --max-streams 3 --settings-delay-ms 500 --settings-delay-from-conn 2 --on-excess refuse --n 10 --end-all-ms 1500 --close-on-error --duration 10 ;;&
  q4-fresh-conn-n150-limit1000|all) run q4-fresh-conn-n150-limit1000 --es-host localhost --max-streams 1000 --settings-delay-ms 500 --settings-delay-from-conn 2 --on-excess accept --n 150 --event-interval-ms 1000 --quiet-data --duration 9 ;;&
  # Q5: GOAWAY (keepalive_requests-like) and REFUSED_STREAM
  q5-goaway-then-new-requests|all) run q5-goaway-then-new-requests --n 4 --goaway-after 5 --late-count 6 --late-kind mix --late-every-ms 500 --late-start-ms 1000 --duration 9 ;;&
  q5-goaway-old-streams-end|all) run q5-goaway-old-streams-end --n 4 --goaway-after 5 --end-all-ms 2000 --close-on-error --late-count 2 --late-kind post --late-start-ms 500 --duration 7 ;;&
  q5-goaway-inflight|all) run q5-goaway-inflight --netlog --n 10 --goaway-after 4 --duration 7 ;;&
  q5-refused-one-stream|all) run q5-refused-one-stream --n 4 --refuse-idx 2 --duration 5 ;;&
  # Q6: connections per origin when the page URL is the last command-line argument (startup path)
  q6-argnav|all)         run q6-argnav --nav arg --n 3 --duration 5 ;;&
  q6-argnav-netlog|all)  run q6-argnav-netlog --netlog --nav arg --n 3 --duration 5 ;;&
  q6-fresh-origin-netlog|all) run q6-fresh-origin-netlog --netlog --es-host localhost --n 10 --duration 5 ;;&
  *) : ;;
esac
