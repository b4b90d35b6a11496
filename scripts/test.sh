#!/usr/bin/env bash
# The test command of the README, on a fresh machine: installs (as root, with apt-get) or names
# (otherwise) what the tests need, and builds and runs the
# workspace's tests. With no arguments scripts/run-tests.py runs the test binaries (one at a time
# by default; JOBS=4 runs the light ones side by side; every test runs either way) and prints a
# table of their times. Arguments mean a plain `cargo test --workspace --locked ARGS` (e.g.
# `scripts/test.sh -p loadgen`, or a test name).
#
# What the tests need beyond Rust:
#   chromium, firefox-esr  the agreement tests run the emulation against both browsers (crates/browser)
#   strace                 the browsers' isolation test watches their every connect
#   iproute2 (ip), root    the network-emulation tests (crates/netem, and the browsers' 50 ms
#                          agreement points) create namespaces; without root they fail, never skip
#   curl, nghttp2-client   the server's smoke test and the HTTP/2 reference benchmarks
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v firefox-esr >/dev/null 2>&1 || need+=(firefox-esr)
command -v strace >/dev/null 2>&1 || need+=(strace)
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v h2load >/dev/null 2>&1 || need+=(nghttp2-client)
command -v python3 >/dev/null 2>&1 || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing: ${need[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "error: the tests need these Debian packages: ${need[*]}" >&2
    echo "       install them (sudo apt-get install ${need[*]}) or run this script as root" >&2
    exit 2
  fi
fi

# bench's tests run the `server` binary (crates/server): run-tests.py's `cargo test --workspace`
# builds it with the test binaries, for crates/server's own tests, in the same cargo run, without
# its `jemalloc` feature (see CARGO_TEST there: jemalloc's C build is about two minutes on one core).
if [ $# -gt 0 ]; then
  exec cargo test --workspace --locked "$@"
fi
exec python3 scripts/run-tests.py
