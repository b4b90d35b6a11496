#!/usr/bin/env python3
"""Chromium NetLog, the QUIC and stream-request part: one line per event, for cross-checking a
capture (the flag --log-net-log is outside the project's fixed set and only explains captures).

usage: netlog_quic.py netlog.json [TYPE_SUBSTRING ...]
Without substrings it prints the QUIC session, HTTP/3 stream and stream-job events. A NetLog
left by a killed Chromium lacks its closing brackets; it is repaired before parsing.
"""
import json
import sys

DEFAULT = ["QUIC_SESSION", "QUIC_CHROMIUM_CLIENT", "HTTP3_", "QUIC_HTTP_STREAM", "HTTP_STREAM_JOB_CONTROLLER",
           "HTTP_STREAM_REQUEST", "QUIC_SESSION_POOL", "QUIC_STREAM_FACTORY", "SOCKET_POOL", "TCP_CONNECT"]
SKIP = ["PACKET_RECEIVED", "PACKET_SENT", "PACKET_HEADER", "ACK_FRAME", "STREAM_FRAME", "PADDING",
        "CRYPTO_FRAME", "PACKET_AUTHENTICATED", "COALESCED", "UNAUTHENTICATED_PACKET_HEADER"]


def load(path):
    text = open(path).read().rstrip().rstrip(",")
    for tail in ("", "]}", "\n]}", "}]}"):
        try:
            return json.loads(text + tail)
        except ValueError:
            continue
    raise SystemExit("cannot parse " + path)


def main():
    d = load(sys.argv[1])
    want = sys.argv[2:] or DEFAULT
    types = {v: k for k, v in d["constants"]["logEventTypes"].items()}
    phases = {v: k for k, v in d["constants"]["logEventPhase"].items()}
    t0 = None
    for e in d["events"]:
        name = types.get(e["type"], str(e["type"]))
        if not any(w in name for w in want) or (not sys.argv[2:] and any(s in name for s in SKIP)):
            continue
        t = int(e["time"])
        t0 = t if t0 is None else t0
        print("%7d src=%-6s %-52s %-5s %s" % (t - t0, e["source"]["id"], name,
                                              phases.get(e["phase"], "")[6:], json.dumps(e.get("params", {}))[:300]))


if __name__ == "__main__":
    main()
