#!/usr/bin/env bash
# One command per reading in FINDINGS.md.
#   ./experiments.sh BROWSER NAME      one experiment (BROWSER: chromium or firefox)
#   ./experiments.sh BROWSER all       every experiment for that browser
#   ./experiments.sh list              the experiment names
# Output: runs/BROWSER-NAME/{events.jsonl,summary.txt,browser.stderr[,netlog.json,mozlog.txt*]}
# and runs/BROWSER-NAME.stdout.log. --duration counts from the page load; `timeout` bounds a run.
# Loopback only: the server binds 127.0.0.1, the browsers start with the project's no-traffic
# flags and prefs (see drivers.py). For certainty run it under scripts/loopback-netns.sh.
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-$( [ -x .venv/bin/python ] && echo .venv/bin/python || echo python3 )}
mkdir -p runs

# name | arguments (both browsers unless the name says otherwise)
EXPERIMENTS=$(cat <<'EOF'
basic           | --k 5 --posts 1 --duration 6
flow            | --k 1 --posts 0 --tick-ms 5 --tick-pad 16000 --duration 25 --quiet
none-L3-k5      | --max-streams 3 --credit none --k 5 --duration 6
none-L3-k6      | --max-streams 3 --credit none --k 6 --duration 6
none-L3-k10     | --max-streams 3 --credit none --k 10 --duration 6
none-L3-k20     | --max-streams 3 --credit none --k 20 --duration 6
none-L10-k5     | --max-streams 10 --credit none --k 5 --duration 6
none-L10-k6     | --max-streams 10 --credit none --k 6 --duration 6
none-L10-k10    | --max-streams 10 --credit none --k 10 --duration 6
none-L10-k20    | --max-streams 10 --credit none --k 20 --duration 6
none-L100-k5    | --max-streams 100 --credit none --k 5 --duration 6
none-L100-k6    | --max-streams 100 --credit none --k 6 --duration 6
none-L100-k10   | --max-streams 100 --credit none --k 10 --duration 6
none-L100-k20   | --max-streams 100 --credit none --k 20 --duration 6
credit-L3-k5    | --max-streams 3 --k 5 --duration 6
credit-L3-k6    | --max-streams 3 --k 6 --duration 6
credit-L3-k10   | --max-streams 3 --k 10 --duration 6
credit-L3-k20   | --max-streams 3 --k 20 --duration 6
credit-L10-k5   | --max-streams 10 --k 5 --duration 6
credit-L10-k6   | --max-streams 10 --k 6 --duration 6
credit-L10-k10  | --max-streams 10 --k 10 --duration 6
credit-L10-k20  | --max-streams 10 --k 20 --duration 6
credit-L100-k20 | --max-streams 100 --k 20 --duration 6
order-L3-k10    | --max-streams 3 --k 10 --post-after-ms 500 --end-stream-ms 2000 --retry-ms 600000 --duration 16
raise-3-to-10   | --max-streams 3 --credit none --raise-streams 2000:10 --k 10 --duration 6
late-requests   | --max-streams 100 --k 3 --posts 3 --post-after-ms 1000 --late 3 --late-after-ms 1500 --duration 6
goaway-at       | --k 5 --goaway-at-ms 1500 --posts 2 --post-after-ms 2500 --late 3 --late-after-ms 3000 --duration 8
goaway-after3-reject | --k 10 --goaway-after 3 --goaway-late reject --duration 7
goaway-after3-ignore | --k 10 --goaway-after 3 --goaway-late ignore --duration 7
goaway-back2-reject | --k 5 --goaway-at-ms 1500 --goaway-back 2 --goaway-late reject --duration 8
goaway-back2-ignore | --k 5 --goaway-at-ms 1500 --goaway-back 2 --goaway-late ignore --duration 8
goaway-at-tcp   | --tcp-serve --k 5 --goaway-at-ms 1500 --posts 2 --post-after-ms 2500 --late 3 --late-after-ms 3000 --duration 8
goaway-close    | --k 5 --goaway-at-ms 1500 --goaway-close-ms 2000 --posts 2 --post-after-ms 2500 --duration 12
reset-es-cancelled | --k 3 --posts 0 --reset i=1@1500 --duration 10
reset-es-rejected-early | --k 3 --posts 0 --reset i=1@0:H3_REQUEST_REJECTED --duration 8
reset-es-rejected-late | --k 3 --posts 0 --reset i=1@1500:H3_REQUEST_REJECTED --duration 10
reset-post-cancelled | --k 2 --reset POST@0 --duration 6
reset-post-rejected | --k 2 --reset POST@0:H3_REQUEST_REJECTED --duration 6
close-no-error  | --k 3 --posts 3 --post-after-ms 1000 --post-every-ms 2000 --close-at-ms 2500 --duration 12
close-internal  | --k 3 --posts 0 --close-at-ms 2500 --close-code H3_INTERNAL_ERROR --duration 12
close-internal-tcp | --tcp-serve --k 3 --posts 0 --close-at-ms 2500 --close-code H3_INTERNAL_ERROR --duration 12
idle-silence    | --k 3 --posts 0 --idle-timeout 5 --silence-at-ms 2500 --duration 22
idle-quiet      | --k 2 --posts 0 --tick-ms 100000 --duration 45
altsvc          | --tcp-serve --k 5 --late 3 --late-after-ms 2000 --posts 1 --duration 7
firefox:setup-no-warmup | --ff-warmup-ms 0 --k 3 --posts 0 --duration 5
firefox:setup-third-party-roots | --ff-pref network.http.http3.disable_when_third_party_roots_found=true --k 3 --posts 0 --duration 5
firefox:goaway-at-mozlog | --moz-log nsHttp:5 --k 5 --goaway-at-ms 1500 --posts 2 --post-after-ms 2500 --late 1 --late-after-ms 3000 --duration 6 --quiet
firefox:reset-es-rejected-early-mozlog | --moz-log nsHttp:5 --k 3 --posts 0 --reset i=1@0:H3_REQUEST_REJECTED --duration 8 --quiet
chromium:basic-netlog | --netlog --k 5 --posts 1 --duration 6
chromium:none-L3-k10-netlog | --netlog --max-streams 3 --credit none --k 10 --duration 6
chromium:altsvc-netlog | --netlog --chromium-quic altsvc --tcp-serve --k 5 --late 3 --late-after-ms 2000 --posts 1 --duration 7
chromium:goaway-after3-reject-netlog | --netlog --k 10 --goaway-after 3 --goaway-late reject --duration 7
EOF
)

browser_args() {  # what each browser needs beyond the common arguments
  case "$1:$2" in
    chromium:altsvc) echo "--chromium-quic altsvc" ;;
    firefox:altsvc) echo "--ff-h3 altsvc --ff-warmup-ms 0" ;;
    *) echo "" ;;
  esac
}

run() {
  local browser=$1 name=$2 args=$3
  echo "### $browser-$name"
  # shellcheck disable=SC2086
  timeout 180 "$PY" h3cap.py --browser "$browser" --name "$browser-$name" $args $(browser_args "$browser" "$name") \
    > "runs/$browser-$name.stdout.log" 2>&1 || echo "(exit $?)"
  cat "runs/$browser-$name/summary.txt" 2>/dev/null || tail -5 "runs/$browser-$name.stdout.log"
}

if [ "${1:-}" = list ]; then
  echo "$EXPERIMENTS" | cut -d'|' -f1
  exit 0
fi
browser=${1:?usage: $0 chromium|firefox NAME|all   (or: $0 list)}
which=${2:-all}
if [ "$browser" = firefox ] && [ ! -s runs/user.js ]; then
  cargo run -q --offline -p browser --example firefox_user_js > runs/user.js
fi
found=0
while IFS='|' read -r name args; do
  name=$(echo "$name" | xargs)
  case "$name" in
    *:*) [ "${name%%:*}" = "$browser" ] || continue; name=${name#*:} ;;
  esac
  if [ "$which" = all ] || [ "$which" = "$name" ]; then
    found=1
    run "$browser" "$name" "$args"
  fi
done <<< "$EXPERIMENTS"
[ "$found" = 1 ] || { echo "no experiment $which for $browser (see: $0 list)"; exit 2; }
