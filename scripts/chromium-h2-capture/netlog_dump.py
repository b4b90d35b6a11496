#!/usr/bin/env python3
"""Dump HTTP/2-relevant events from a (possibly truncated) Chromium NetLog file.
usage: netlog_dump.py netlog.json [filter-substring ...]"""
import json, sys


def load(path):
    s = open(path).read()
    try:
        return json.loads(s)
    except json.JSONDecodeError:
        s = s.rstrip().rstrip(',')
        i = s.rfind('}')
        s = s[:i+1]
        return json.loads(s + ']}')


def main():
    d = load(sys.argv[1])
    flt = sys.argv[2:] or ['HTTP2', 'SPDY', 'SOCKET_POOL', 'SSL_CONNECT', 'TCP_CONNECT', 'HTTP_STREAM_POOL', 'HTTP_STREAM_JOB', 'URL_REQUEST_START']
    c = d['constants']
    types = {v: k for k, v in c['logEventTypes'].items()}
    srcs = {v: k for k, v in c['logSourceType'].items()}
    ph = {v: k for k, v in c['logEventPhase'].items()}
    t0 = None
    for e in d['events']:
        tn = types.get(e['type'], str(e['type']))
        if not any(f in tn for f in flt):
            continue
        t = int(e['time']); t0 = t0 if t0 is not None else t
        p = json.dumps(e.get('params', {}))
        print('%7d src=%-4s %-28s %-45s %-5s %s' % (t - t0, e['source']['id'], srcs.get(e['source']['type']), tn, ph[e['phase']][6:], p[:400]))


if __name__ == "__main__":
    main()
