#!/usr/bin/env bash
# Run a command in a fresh network namespace (needs root): loopback up, plus a TUN interface
# that nobody reads, holding the default routes. Packets for any other host are dropped inside
# the namespace, yet resolvers and browsers still see a configured network, so their attempts
# are made (and show up under strace) instead of being skipped. Used to measure what a browser
# tries to reach without letting anything leave the machine.
#
#   scripts/loopback-netns.sh COMMAND [ARGS...]
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: $0 COMMAND [ARGS...]" >&2; exit 2; }
exec unshare --net bash -c '
  set -e
  ip link set lo up
  ip tuntap add dev sink0 mode tun
  ip addr add 192.0.2.2/24 dev sink0
  ip -6 addr add fd00::2/64 dev sink0 nodad
  ip link set sink0 up
  ip route add default dev sink0
  ip -6 route add default dev sink0
  exec "$@"' bash "$@"
