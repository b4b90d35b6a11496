#!/usr/bin/env bash
# What ssebench depends on, checked with cargo deny (deny.toml): licenses, bans (wildcards;
# duplicate versions are shown as warnings), sources (crates.io only), and RustSec advisories
# (vulnerable, unmaintained or yanked crates).
#
# The advisory database lives on GitHub. Where GitHub is unreachable (this project's machines),
# point SSEBENCH_ADVISORY_DB at a local clone or mirror of github.com/rustsec/advisory-db; without
# one, and without network, the advisories are reported NOT CHECKED (the other checks still run and
# still fail the script).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-deny >/dev/null 2>&1; then
  echo "installing cargo-deny (once; a few minutes)" >&2
  cargo install cargo-deny --locked --version 0.20.2 >/dev/null
fi

cargo deny --locked check licenses bans sources

db_root=$(mktemp -d)
trap 'rm -rf "$db_root"' EXIT
config="$db_root/deny.toml"
sed "s|^\[advisories\]|[advisories]\ndb-path = \"$db_root\"|" deny.toml > "$config"

if [ -n "${SSEBENCH_ADVISORY_DB:-}" ]; then
  # cargo deny looks for the database in a directory named after its URL: learn the name from an
  # offline run, then clone the local copy there.
  probe=$(cargo deny --offline --config "$config" check advisories 2>&1 || true)
  where=$(printf '%s\n' "$probe" | sed -n "s/.*cannot change to '\([^']*\)'.*/\1/p" | head -1)
  if [ -z "$where" ]; then
    echo "error: cannot tell where cargo deny wants the advisory database" >&2
    exit 2
  fi
  git clone -q "$SSEBENCH_ADVISORY_DB" "$where"
  echo "advisories: database $(git -C "$where" log -1 --format='%h of %cs') from $SSEBENCH_ADVISORY_DB"
  cargo deny --offline --config "$config" check advisories
elif timeout 60 cargo deny --config "$config" fetch db >/dev/null 2>&1; then
  cargo deny --offline --config "$config" check advisories
else
  echo "advisories: NOT CHECKED: the RustSec database (github.com/rustsec/advisory-db) is unreachable;" \
       "set SSEBENCH_ADVISORY_DB to a local copy to check them" >&2
fi
