#!/usr/bin/env bash
# The browser isolation test (crates/browser/tests/isolation.rs) inside a network namespace
# whose only way out is a dead TUN device (scripts/loopback-netns.sh): whatever a browser
# tries to reach is logged by strace and goes nowhere. Run it after a browser upgrade, before
# running the browsers on the host. Needs root, strace, chromium and firefox-esr.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --offline -p browser --test isolation --no-run
exec scripts/loopback-netns.sh cargo test --offline -p browser --test isolation -- --nocapture --test-threads 1
