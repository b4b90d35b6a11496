#!/usr/bin/env python3
"""The stream-limit tables of FINDINGS.md, recomputed from runs/BROWSER-{none,credit}-L*-k*/.

usage: tables.py [BROWSER ...]   (default: chromium firefox)
Per run: the requests the server saw on each QUIC connection (the page, EventSources, POSTs),
the most open at once (server view), STREAMS_BLOCKED frames received, QUIC and TCP connections
(the warm-up load excluded), and how many EventSources the page saw open.
"""
import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def row(path):
    evs = [json.loads(line) for line in open(path)]
    reqs = [e for e in evs if e["ev"] == "request"]
    es = sum(1 for e in reqs if e["path"].startswith("/events"))
    posts = sum(1 for e in reqs if e["method"] == "POST")
    page = sum(1 for e in reqs if e["path"] == "/")
    quic = len({e["conn"] for e in evs if e["ev"] == "quic_connection"})
    tcp = sum(1 for e in evs if e["ev"] == "tcp_request" and e["path"] != "/warmup")
    blocked = sum(1 for e in evs if e["ev"] == "recv_frame" and e["frame_type"] == "streams_blocked")
    opened = sum(1 for e in evs if e["ev"] == "page" and " es_open " in e["msg"])
    max_open = max([e["open"] for e in reqs] or [0])
    return page, es, posts, max_open, blocked, quic, tcp, opened


def main():
    for browser in sys.argv[1:] or ["chromium", "firefox"]:
        for mode in ("none", "credit"):
            runs = []
            for d in glob.glob(os.path.join(HERE, "runs", "%s-%s-L*-k*" % (browser, mode))):
                m = re.search(r"-L(\d+)-k(\d+)$", d)
                if m and os.path.exists(os.path.join(d, "events.jsonl")):
                    runs.append((int(m.group(1)), int(m.group(2)), d))
            if not runs:
                continue
            print("\n%s, --credit %s (K EventSources + 1 POST)" % (browser, "replenish" if mode == "credit" else mode))
            print("| MAX_STREAMS | K | requests sent: page + ES + POST | most open at once | "
                  "STREAMS_BLOCKED | QUIC conns | TCP requests | ES open (page) |")
            print("|---|---|---|---|---|---|---|---|")
            for limit, k, d in sorted(runs):
                page, es, posts, max_open, blocked, quic, tcp, opened = row(os.path.join(d, "events.jsonl"))
                print("| %d | %d | %d + %d + %d | %d | %d | %d | %d | %d |" % (
                    limit, k, page, es, posts, max_open, blocked, quic, tcp, opened))


if __name__ == "__main__":
    main()
