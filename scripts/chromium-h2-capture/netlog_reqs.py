#!/usr/bin/env python3
"""Per-request key NetLog milestones for requests to 127.0.0.1 (stream request, stall, headers sent).
usage: netlog_reqs.py netlog.json [extra-event-substring ...]"""
import json, sys
from netlog_dump import load
d = load(sys.argv[1]); c = d['constants']
extra = sys.argv[2:]
types = {v: k for k, v in c['logEventTypes'].items()}; ph = {v: k for k, v in c['logEventPhase'].items()}
reqs = {}; t0 = None
KEY = ['HTTP_STREAM_REQUEST', 'HTTP_STREAM_REQUEST_BOUND_TO_JOB', 'HTTP_TRANSACTION_HTTP2_SEND_REQUEST_HEADERS',
       'HTTP2_SESSION_STALLED_MAX_STREAMS', 'URL_REQUEST_START_JOB', 'HTTP_TRANSACTION_RESTART_AFTER_ERROR',
       'HTTP2_SESSION_RECV_GOAWAY', 'HTTP2_SESSION_CLOSE', 'HTTP2_SESSION_RECV_SETTING', 'HTTP2_SESSION_RECV_RST_STREAM',
       'HTTP2_SESSION_INITIALIZED', 'HTTP2_SESSION_POOL_REMOVE_SESSION', 'HTTP2_SESSION_POOL_FOUND_EXISTING_SESSION',
       'HTTP2_SESSION_POOL_IMPORTED_SESSION_FROM_SOCKET', 'SOCKET_POOL_CLOSING_SOCKET', 'HTTP2_SESSION_SEND_HEADERS',
       'HTTP2_SESSION_UPDATED_SETTING', 'HTTP2_SESSION_RECV_SETTINGS'] + extra
for e in d['events']:
    p = e.get('params', {}); tn = types[e['type']]
    if tn == 'URL_REQUEST_START_JOB' and 'url' in p and '127.0.0.1' in p['url']:
        reqs[e['source']['id']] = p['url'].split('/', 3)[3] or '/'
for e in d['events']:
    tn = types[e['type']]; sid = e['source']['id']; p = e.get('params', {})
    if tn not in KEY:
        continue
    if sid in reqs or tn.startswith('HTTP2_SESSION') or tn == 'SOCKET_POOL_CLOSING_SOCKET':
        if t0 is None:
            t0 = int(e['time'])
        s = json.dumps(p)
        if tn in ('HTTP_TRANSACTION_HTTP2_SEND_REQUEST_HEADERS', 'HTTP2_SESSION_SEND_HEADERS'):
            h = p.get('headers', [])
            path = [x for x in h if x.startswith(':path')]
            s = 'stream_id=%s %s %s' % (p.get('stream_id', ''), path, [x for x in h if x.startswith('priority')])
        if tn == 'URL_REQUEST_START_JOB' and 'url' not in p:
            s = s
        print('%6d src=%-5s %-16s %-44s %-5s %s' % (int(e['time']) - t0, sid, reqs.get(sid, ''), tn, ph[e['phase']][6:], s[:200]))
