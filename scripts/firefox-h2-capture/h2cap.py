#!/usr/bin/env python3
"""h2cap.py - HTTP/2 capture server + headless Firefox driver.

Adapted from the Chromium capture (scripts/chromium-h2-capture/h2cap.py): the
HTTP/2 server is the same, the browser is Firefox driven over WebDriver BiDi.

One run = one experiment:
  * generates (once) a self-signed cert for 127.0.0.1 in ./certs/
  * starts a TLS server on 127.0.0.1:<free port> with ALPN "h2" only
  * speaks HTTP/2 itself (raw frames via hyperframe + hpack), so every frame
    the client sends is logged (type, flags, stream id, decoded payload) with
    a timestamp, and everything the server sends is under our control
  * launches headless Firefox (Debian firefox-esr) exactly as crates/browser
    does: fresh profile with ssebench's user.js (--user-js, written by
    `cargo run -p browser --example firefox_user_js`), a cert_override.txt
    trusting this server's certificate for 127.0.0.1:<port> only, the
    environment MOZ_DISABLE_NONLOCAL_CONNECTIONS=1 MOZ_CRASHREPORTER_DISABLE=1,
    and --remote-debugging-port 0 (WebDriver BiDi: navigation and the page's
    console log)
  * kills Firefox (its process group) and the server after --duration seconds
  * writes <out>/frames.jsonl (every event), <out>/page.log (page-side JS log
    via BiDi log.entryAdded), <out>/summary.txt (derived facts)

All timestamps are seconds since the server started (time.monotonic based).
"""
import argparse
import asyncio
import base64
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import hpack
from hyperframe.frame import (
    Frame, DataFrame, HeadersFrame, PriorityFrame, RstStreamFrame,
    SettingsFrame, PushPromiseFrame, PingFrame, GoAwayFrame,
    WindowUpdateFrame, ContinuationFrame, ExtensionFrame,
)

HERE = os.path.dirname(os.path.abspath(__file__))
PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox") or "firefox-esr"
FIREFOX_ENV = {"MOZ_DISABLE_NONLOCAL_CONNECTIONS": "1", "MOZ_CRASHREPORTER_DISABLE": "1"}
SETTING_NAMES = {
    0x1: "HEADER_TABLE_SIZE", 0x2: "ENABLE_PUSH", 0x3: "MAX_CONCURRENT_STREAMS",
    0x4: "INITIAL_WINDOW_SIZE", 0x5: "MAX_FRAME_SIZE", 0x6: "MAX_HEADER_LIST_SIZE",
    0x8: "ENABLE_CONNECT_PROTOCOL", 0x9: "NO_RFC7540_PRIORITIES",
}
ERR = {0: "NO_ERROR", 1: "PROTOCOL_ERROR", 2: "INTERNAL_ERROR", 3: "FLOW_CONTROL_ERROR",
       4: "SETTINGS_TIMEOUT", 5: "STREAM_CLOSED", 6: "FRAME_SIZE_ERROR",
       7: "REFUSED_STREAM", 8: "CANCEL", 9: "COMPRESSION_ERROR", 10: "CONNECT_ERROR",
       11: "ENHANCE_YOUR_CALM", 12: "INADEQUATE_SECURITY", 13: "HTTP_1_1_REQUIRED"}
FTYPE = {0: "DATA", 1: "HEADERS", 2: "PRIORITY", 3: "RST_STREAM", 4: "SETTINGS",
         5: "PUSH_PROMISE", 6: "PING", 7: "GOAWAY", 8: "WINDOW_UPDATE",
         9: "CONTINUATION", 0xa: "ALTSVC", 0x10: "PRIORITY_UPDATE"}

T0 = time.monotonic()


def now():
    return round(time.monotonic() - T0, 6)


class Log:
    def __init__(self, path, quiet_data):
        self.f = open(path, "w")
        self.quiet_data = quiet_data
        self.lock = threading.Lock()

    def ev(self, **kw):
        kw = {"t": now(), **kw}
        line = json.dumps(kw, sort_keys=False)
        with self.lock:
            self.f.write(line + "\n")
            self.f.flush()
        if not (self.quiet_data and kw.get("ev") in ("send_data", "recv_frame") and
                kw.get("type") in ("DATA",)):
            if kw.get("ev") != "send_data":
                print(line, flush=True)

    def close(self):
        self.f.close()


# ---------------------------------------------------------------- cert ----
def ensure_cert():
    d = os.path.join(HERE, "certs")
    os.makedirs(d, exist_ok=True)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    if not (os.path.exists(cert) and os.path.exists(key)):
        subprocess.run([
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
            "-days", "365", "-subj", "/CN=127.0.0.1",
            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
            check=True, capture_output=True)
    der = subprocess.run(
        "openssl x509 -in %s -pubkey -noout | openssl pkey -pubin -outform der" % cert,
        shell=True, check=True, capture_output=True).stdout
    import hashlib
    spki = base64.b64encode(hashlib.sha256(der).digest()).decode()
    cert_der = ssl.PEM_cert_to_DER_cert(open(cert).read())
    h = hashlib.sha256(cert_der).hexdigest().upper()
    fingerprint = ":".join(h[i:i + 2] for i in range(0, len(h), 2))
    return cert, key, fingerprint


# ---------------------------------------------------------------- page ----
PAGE = r"""<!doctype html><html><head><meta charset="utf-8"><title>h2cap</title>
<link rel="icon" href="data:,"></head><body><pre id="o"></pre><script>
const cfg = %(cfg)s;
window.__log = [];
function L(m){ const s = performance.now().toFixed(1) + ' ' + m; window.__log.push(s); console.log('PAGE ' + s); }
let esn = 0;
function openES(tag){
  const k = tag;
  const es = new EventSource(cfg.es_origin + '/events?i=' + k);
  let c = 0;
  es.onopen = () => L('es_open ' + k);
  es.onmessage = (e) => { c++; if (c === 1) L('es_first_msg ' + k); };
  es.onerror = () => { L('es_error ' + k + ' readyState=' + es.readyState + ' msgs=' + c);
                       if (cfg.close_on_error) es.close(); };
  esn++;
  return es;
}
function doPost(tag){
  L('post_start ' + tag);
  const opts = {method: 'POST', body: 'x'};
  if (cfg.post_priority) opts.priority = cfg.post_priority;
  fetch('/messages?i=' + tag, opts)
    .then(r => r.text().then(t => L('post_done ' + tag + ' status=' + r.status)))
    .catch(e => L('post_err ' + tag + ' ' + e));
}
L('script_start n=' + cfg.n);
for (let k = 0; k < cfg.n; k++) openES(k);
L('opened ' + cfg.n);
if (cfg.post_after_ms >= 0) setTimeout(() => doPost('p0'), cfg.post_after_ms);
if (cfg.late_count > 0) setTimeout(() => {
  let j = 0;
  const h = setInterval(() => {
    if (j >= cfg.late_count) { clearInterval(h); return; }
    if (cfg.late_kind === 'es' || (cfg.late_kind === 'mix' && j %% 2 === 0)) openES('late' + j);
    else doPost('late' + j);
    j++;
  }, cfg.late_every_ms);
}, cfg.late_start_ms);
</script></body></html>
"""


# ---------------------------------------------------------- h2 server ----
class Stream:
    def __init__(self, sid, headers, t):
        self.sid = sid
        self.headers = headers
        self.t_open = t
        self.remote_closed = False
        self.local_closed = False
        self.reset = False
        self.send_window = 0
        self.pending = bytearray()  # DATA waiting for flow control
        self.pending_end = False
        self.events_sent = 0
        self.kind = None
        self.idx = None
        self.t_start_events = None
        self.blocked_logged = False
        self.bytes_sent = 0

    @property
    def open(self):
        return not self.reset and not (self.remote_closed and self.local_closed)


class Conn:
    n = 0

    def __init__(self, srv, reader, writer):
        Conn.n += 1
        self.cid = Conn.n
        self.srv = srv
        self.a = srv.args
        self.log = srv.log
        self.r, self.w = reader, writer
        self.dec = hpack.Decoder()
        self.dec.max_header_list_size = 1 << 20
        self.enc = hpack.Encoder()
        self.streams = {}
        self.peer_initial_window = 65535
        self.peer_max_frame = 16384
        self.conn_send_window = 65535
        self.hold_until = None
        self.outbuf = []
        self.our_settings_sent = 0       # count of SETTINGS frames we sent
        self.our_settings_acked = 0      # count of ACKs received
        self.goaway_sent = None          # last_stream_id
        self.requests = 0
        self.max_open = 0
        self.highest_sid = 0
        self.closed = False
        self.hdr_frag = None
        self.advertised_limit = None     # currently advertised (sent) limit
        self.refused_once = set()
        self.recv_data_bytes = 0
        self.conn_bytes_sent = 0

    # -- output ----------------------------------------------------------
    def raw_write(self, b):
        if self.hold_until is not None:
            self.outbuf.append(b)
        else:
            self.w.write(b)

    def send(self, frame, note=None, quiet=False):
        b = frame.serialize()
        self.raw_write(b)
        if not quiet:
            self.log.ev(ev="send_frame", conn=self.cid, **describe(frame, self), note=note)

    async def flush_hold(self):
        await asyncio.sleep(self.a.settings_delay_ms / 1000.0)
        self.hold_until = None
        for b in self.outbuf:
            self.w.write(b)
        self.log.ev(ev="server_output_released", conn=self.cid, bytes=sum(map(len, self.outbuf)))
        self.outbuf = []

    def settings_frame(self, limit):
        sf = SettingsFrame(0)
        if limit is not None:
            sf.settings[0x3] = limit
        for kv in self.a.extra_setting:
            k, v = kv.split("=")
            sf.settings[int(k, 0)] = int(v, 0)
        return sf

    # -- per-connection lifecycle -----------------------------------------
    async def run(self):
        sslobj = self.w.get_extra_info("ssl_object")
        alpn = sslobj.selected_alpn_protocol() if sslobj else None
        peer = self.w.get_extra_info("peername")
        self.log.ev(ev="tls_accept", conn=self.cid, alpn=alpn, peer=list(peer),
                    tls=sslobj.version() if sslobj else None)
        self.srv.conns.append(self)
        if alpn != "h2":
            self.w.close()
            return
        if self.a.settings_delay_ms > 0 and self.cid >= self.a.settings_delay_from_conn:
            self.hold_until = True
            asyncio.ensure_future(self.flush_hold())
        # server connection preface
        limit = None if self.a.max_streams < 0 else self.a.max_streams
        if self.cid > 1 and self.a.max_streams_later_conns is not None:
            limit = None if self.a.max_streams_later_conns < 0 else self.a.max_streams_later_conns
        self.advertised_limit = limit
        self.send(self.settings_frame(limit), note="server preface SETTINGS")
        self.our_settings_sent += 1
        if self.a.server_conn_window_update > 0:
            self.send(WindowUpdateFrame(0, window_increment=self.a.server_conn_window_update))
        for spec in self.a.settings_change:
            ms, val = spec.split(":")
            asyncio.ensure_future(self.later_settings(int(ms), None if val == "none" else int(val)))
        ticker = asyncio.ensure_future(self.ticker())
        try:
            await self.read_loop()
        finally:
            ticker.cancel()
            self.closed = True
            self.log.ev(ev="conn_closed", conn=self.cid, max_open=self.max_open,
                        requests=self.requests)

    async def later_settings(self, ms, val):
        await asyncio.sleep(ms / 1000.0)
        if self.closed:
            return
        sf = SettingsFrame(0)
        sf.settings[0x3] = val if val is not None else 2 ** 31 - 1
        self.advertised_limit = val
        self.send(sf, note="later SETTINGS change")
        self.our_settings_sent += 1
        await self.w.drain()

    async def read_loop(self):
        buf = b""
        preface_ok = False
        while True:
            try:
                chunk = await self.r.read(65536)
            except (ConnectionError, ssl.SSLError) as e:
                self.log.ev(ev="read_error", conn=self.cid, err=repr(e))
                return
            if not chunk:
                self.log.ev(ev="eof", conn=self.cid)
                return
            buf += chunk
            if not preface_ok:
                if len(buf) < len(PREFACE):
                    continue
                if buf[:len(PREFACE)] != PREFACE:
                    self.log.ev(ev="bad_preface", conn=self.cid, data=buf[:40].hex())
                    return
                self.log.ev(ev="recv_preface", conn=self.cid)
                buf = buf[len(PREFACE):]
                preface_ok = True
            while len(buf) >= 9:
                ln = int.from_bytes(buf[:3], "big")
                if len(buf) < 9 + ln:
                    break
                fb, buf = buf[:9 + ln], buf[9 + ln:]
                frame, _ = Frame.parse_frame_header(memoryview(fb[:9]))
                frame.parse_body(memoryview(fb[9:]))
                self.on_frame(frame)
            try:
                await self.w.drain()
            except ConnectionError:
                return

    # -- frame handling ----------------------------------------------------
    def on_frame(self, f):
        d = describe(f, self)
        if isinstance(f, (HeadersFrame, ContinuationFrame)):
            pass  # logged after decoding below
        elif isinstance(f, DataFrame) and self.a.quiet_data:
            self.recv_data_bytes += len(f.data)
        else:
            extra = {}
            if isinstance(f, WindowUpdateFrame):
                st = self.streams.get(f.stream_id)
                extra = {"conn_data_bytes_sent": self.conn_bytes_sent,
                         "conn_window_before": self.conn_send_window}
                if st:
                    extra.update(stream_data_bytes_sent=st.bytes_sent, stream_window_before=st.send_window,
                                 stream_path=dict(st.headers).get(":path"))
            self.log.ev(ev="recv_frame", conn=self.cid, **d, **extra,
                        before_our_settings_ack=(self.our_settings_acked == 0))
        if isinstance(f, SettingsFrame):
            if "ACK" in f.flags:
                self.our_settings_acked += 1
                return
            if 0x4 in f.settings:
                new = f.settings[0x4]
                delta = new - self.peer_initial_window
                self.peer_initial_window = new
                for s in self.streams.values():
                    s.send_window += delta
            if 0x5 in f.settings:
                self.peer_max_frame = f.settings[0x5]
            self.send(SettingsFrame(0, flags=["ACK"]))
        elif isinstance(f, PingFrame):
            if "ACK" not in f.flags:
                self.send(PingFrame(0, opaque_data=f.opaque_data, flags=["ACK"]))
        elif isinstance(f, WindowUpdateFrame):
            if f.stream_id == 0:
                self.conn_send_window += f.window_increment
            elif f.stream_id in self.streams:
                self.streams[f.stream_id].send_window += f.window_increment
            self.pump()
        elif isinstance(f, HeadersFrame):
            if "END_HEADERS" in f.flags:
                self.on_headers(f, bytes(f.data), f)
            else:
                self.hdr_frag = (f, bytearray(f.data))
        elif isinstance(f, ContinuationFrame):
            hf, data = self.hdr_frag
            data += f.data
            if "END_HEADERS" in f.flags:
                self.hdr_frag = None
                self.on_headers(hf, bytes(data), hf)
        elif isinstance(f, DataFrame):
            s = self.streams.get(f.stream_id)
            if f.flow_controlled_length:
                # give the credit back immediately (server side flow control is not studied)
                self.send(WindowUpdateFrame(0, window_increment=f.flow_controlled_length), quiet=True)
                if s and "END_STREAM" not in f.flags:
                    self.send(WindowUpdateFrame(f.stream_id, window_increment=f.flow_controlled_length), quiet=True)
            if s and "END_STREAM" in f.flags:
                s.remote_closed = True
                self.on_request_complete(s)
        elif isinstance(f, RstStreamFrame):
            s = self.streams.get(f.stream_id)
            if s:
                s.reset = True
                self.note_open()
        elif isinstance(f, GoAwayFrame):
            pass

    def open_count(self):
        return sum(1 for s in self.streams.values() if s.open)

    def note_open(self):
        c = self.open_count()
        self.max_open = max(self.max_open, c)
        return c

    def on_headers(self, f, block, hf):
        try:
            hdrs = self.dec.decode(block, raw=False)
        except Exception as e:  # noqa
            self.log.ev(ev="hpack_error", conn=self.cid, err=repr(e))
            return
        sid = f.stream_id
        h = dict(hdrs)
        prio = None
        if "PRIORITY" in f.flags:
            prio = {"exclusive": bool(f.exclusive), "depends_on": f.depends_on,
                    "weight": f.stream_weight + 1}
        s = Stream(sid, hdrs, now())
        s.send_window = self.peer_initial_window
        s.remote_closed = "END_STREAM" in f.flags
        self.streams[sid] = s
        self.highest_sid = max(self.highest_sid, sid)
        over_goaway = self.goaway_sent is not None and sid > self.goaway_sent
        open_now = self.open_count()
        excess = (self.advertised_limit is not None and open_now > self.advertised_limit)
        self.requests += 1
        self.log.ev(ev="recv_headers", conn=self.cid, sid=sid, flags=sorted(f.flags),
                    method=h.get(":method"), path=h.get(":path"),
                    priority_hdr=h.get("priority"), h2_priority=prio,
                    headers=hdrs, req_no=self.requests, open_streams=open_now,
                    before_our_settings_ack=(self.our_settings_acked == 0),
                    over_advertised_limit=excess, after_goaway=over_goaway)
        if over_goaway:
            s.reset = True  # ignored: we never process it
            self.log.ev(ev="ignored_after_goaway", conn=self.cid, sid=sid)
            if self.a.goaway_rst_late:
                self.send(RstStreamFrame(sid, error_code=7))
            return
        path = h.get(":path", "")
        idx = None
        if "i=" in path:
            idx = path.split("i=", 1)[1].split("&")[0]
        s.idx = idx
        refuse = False
        if excess and self.a.on_excess == "refuse":
            refuse = True
        key = (path, )
        if idx is not None and idx in self.a.refuse_idx and key not in self.srv.refused_paths:
            self.srv.refused_paths.add(key)
            refuse = True
        if refuse:
            s.reset = True
            self.send(RstStreamFrame(sid, error_code=7), note="REFUSED_STREAM")
            self.note_open()
            return
        self.note_open()
        if s.remote_closed:
            self.on_request_complete(s)
        if self.a.goaway_after and self.goaway_sent is None and self.cid <= self.a.goaway_conns \
                and self.requests >= self.a.goaway_after:
            last = sid
            self.goaway_sent = last
            self.send(GoAwayFrame(0, last_stream_id=last, error_code=0),
                      note="GOAWAY after %d requests" % self.requests)

    def respond_headers(self, s, status, ctype, end=False, extra=()):
        hdrs = [(":status", str(status)), ("content-type", ctype),
                ("cache-control", "no-store")] + list(extra)
        flags = ["END_HEADERS"] + (["END_STREAM"] if end else [])
        self.send(HeadersFrame(s.sid, data=self.enc.encode(hdrs), flags=flags),
                  note="resp %s" % status)
        if end:
            s.local_closed = True

    def on_request_complete(self, s):
        h = dict(s.headers)
        path = h.get(":path", "/")
        method = h.get(":method")
        if path == "/" or path.startswith("/?"):
            s.kind = "page"
            body = PAGE % {"cfg": json.dumps(self.srv.page_cfg)}
            self.respond_headers(s, 200, "text/html; charset=utf-8")
            self.queue_data(s, body.encode(), end=True)
        elif path.startswith("/events"):
            s.kind = "events"
            self.respond_headers(s, 200, "text/event-stream",
                                 extra=[("access-control-allow-origin", "*")] if self.a.es_host else [])
            s.t_start_events = time.monotonic()
            self.queue_data(s, (": hi\nretry: %d\n\n" % self.a.es_retry_ms).encode(), end=False)
            end_ms = self.srv.end_after.get(s.idx, self.a.end_all_ms if self.a.end_all_ms > 0 else None)
            if end_ms is not None:
                asyncio.get_event_loop().call_later(end_ms / 1000.0, self.end_stream, s)
        elif path.startswith("/messages"):
            s.kind = "post"
            self.respond_headers(s, 200, "text/plain")
            self.queue_data(s, b"ok", end=True)
        else:
            s.kind = "404"
            self.respond_headers(s, 404, "text/plain", end=True)
        self.note_open()

    def end_stream(self, s):
        if s.reset or s.local_closed or self.closed:
            return
        self.log.ev(ev="server_ends_stream", conn=self.cid, sid=s.sid, idx=s.idx)
        self.queue_data(s, b"", end=True)
        self.note_open()

    def queue_data(self, s, data, end):
        s.pending += data
        s.pending_end = s.pending_end or end
        self.pump()

    def pump(self):
        for s in list(self.streams.values()):
            if s.reset or s.local_closed:
                continue
            while s.pending or s.pending_end:
                n = min(len(s.pending), s.send_window, self.conn_send_window, self.peer_max_frame)
                if s.pending and n <= 0:
                    if not s.blocked_logged:
                        s.blocked_logged = True
                        self.log.ev(ev="flow_blocked", conn=self.cid, sid=s.sid,
                                    stream_window=s.send_window, conn_window=self.conn_send_window)
                    break
                s.blocked_logged = False
                chunk = bytes(s.pending[:n])
                del s.pending[:n]
                end = s.pending_end and not s.pending
                flags = ["END_STREAM"] if end else []
                fr = DataFrame(s.sid, data=chunk, flags=flags)
                self.raw_write(fr.serialize())
                s.send_window -= n
                self.conn_send_window -= n
                s.bytes_sent += n
                self.conn_bytes_sent += n
                if self.a.log_send_data or end:
                    self.log.ev(ev="send_data", conn=self.cid, sid=s.sid, len=n, end=end,
                                stream_window=s.send_window, conn_window=self.conn_send_window)
                if end:
                    s.local_closed = True
                    s.pending_end = False
                    break

    async def ticker(self):
        """Send one event per interval per open /events stream (batching if late)."""
        iv = self.a.event_interval_ms / 1000.0
        pad = "x" * max(0, self.a.event_size - 30)
        step = max(iv, 0.002)
        while True:
            await asyncio.sleep(step)
            t = time.monotonic()
            for s in list(self.streams.values()):
                if s.kind != "events" or s.reset or s.local_closed or s.pending_end:
                    continue
                due = int((t - s.t_start_events) / iv)
                if self.a.max_pending and len(s.pending) > self.a.max_pending:
                    s.events_sent = due  # drop: client is not granting window
                    continue
                while s.events_sent < due:
                    s.events_sent += 1
                    s.pending += ("data: %d %s\n\n" % (s.events_sent, pad)).encode()
            self.pump()
            try:
                await self.w.drain()
            except ConnectionError:
                return


def describe(f, conn=None):
    t = FTYPE.get(f.type, "0x%x" % f.type)
    d = {"type": t, "sid": f.stream_id, "flags": sorted(f.flags)}
    if isinstance(f, SettingsFrame):
        d["settings"] = {("%s(0x%x)" % (SETTING_NAMES.get(k, "UNKNOWN"), k)): v
                         for k, v in f.settings.items()}
        d["settings_order"] = list(f.settings.keys())
    elif isinstance(f, WindowUpdateFrame):
        d["increment"] = f.window_increment
    elif isinstance(f, RstStreamFrame):
        d["error"] = ERR.get(f.error_code, f.error_code)
    elif isinstance(f, GoAwayFrame):
        d["last_stream_id"] = f.last_stream_id
        d["error"] = ERR.get(f.error_code, f.error_code)
        d["debug"] = f.additional_data.decode("latin1")
    elif isinstance(f, PriorityFrame):
        d["depends_on"] = f.depends_on
        d["weight"] = f.stream_weight + 1
        d["exclusive"] = bool(f.exclusive)
    elif isinstance(f, DataFrame):
        d["len"] = len(f.data)
    elif isinstance(f, PingFrame):
        d["opaque"] = f.opaque_data.hex()
    elif isinstance(f, ExtensionFrame):
        body = bytes(f.body)
        d["len"] = len(body)
        d["body_hex"] = body[:64].hex()
        if f.type == 0x10 and len(body) >= 4:
            d["prioritized_stream"] = int.from_bytes(body[:4], "big") & 0x7fffffff
            d["priority_field"] = body[4:].decode("latin1")
    return d


class Server:
    def __init__(self, args, log):
        self.args = args
        self.log = log
        self.conns = []
        self.refused_paths = set()
        self.end_after = {}
        for spec in args.end_stream:
            i, ms = spec.split(":")
            self.end_after[i] = int(ms)
        self.page_cfg = {
            "n": args.n, "post_after_ms": args.post_after_ms,
            "late_count": args.late_count, "late_every_ms": args.late_every_ms,
            "late_kind": args.late_kind, "late_start_ms": args.late_start_ms, "post_priority": args.post_priority, "es_origin": "", "close_on_error": args.close_on_error,
        }

    async def handle(self, reader, writer):
        c = Conn(self, reader, writer)
        try:
            await c.run()
        except Exception as e:  # noqa
            self.log.ev(ev="conn_exception", conn=c.cid, err=repr(e))
        finally:
            try:
                writer.close()
            except Exception:
                pass


# ---------------------------------------------------------------- firefox ----
class BidiReader(threading.Thread):
    """Connects to Firefox's WebDriver BiDi endpoint, logs the page's console, navigates."""

    def __init__(self, profile, log, page_log_path, stop, nav_url=None, nav_delay=0.0):
        super().__init__(daemon=True)
        self.profile, self.log, self.path, self.stop = profile, log, page_log_path, stop
        self.nav_url, self.nav_delay = nav_url, nav_delay
        self.lines = []
        self.next_id = 0

    def send(self, ws, method, params):
        self.next_id += 1
        ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        return self.next_id

    def run(self):
        import websocket
        port = None
        deadline = time.time() + 30
        while time.time() < deadline and not self.stop.is_set():
            try:
                port = json.load(open(os.path.join(self.profile, "WebDriverBiDiServer.json")))["ws_port"]
                break
            except Exception:
                time.sleep(0.05)
        if port is None:
            self.log.ev(ev="bidi_fail", why="no WebDriverBiDiServer.json")
            return
        ws = websocket.create_connection("ws://127.0.0.1:%d/session" % port, timeout=1, suppress_origin=True)
        replies = {}

        def call(method, params):
            my = self.send(ws, method, params)
            end = time.time() + 10
            while time.time() < end:
                try:
                    m = json.loads(ws.recv())
                except websocket.WebSocketTimeoutException:
                    continue
                if m.get("id") == my:
                    return m
                self.on_event(m)
            raise RuntimeError("no answer to " + method)

        self.f = open(self.path, "w")
        call("session.new", {"capabilities": {}})
        call("session.subscribe", {"events": ["log.entryAdded"]})
        tree = call("browsingContext.getTree", {})
        ctx = tree["result"]["contexts"][0]["context"]
        if self.nav_url:
            t_nav = time.time() + self.nav_delay
            while time.time() < t_nav and not self.stop.is_set():
                time.sleep(0.02)
            self.send(ws, "browsingContext.navigate", {"context": ctx, "url": self.nav_url, "wait": "none"})
            self.log.ev(ev="bidi_navigate_sent", url=self.nav_url)
        while not self.stop.is_set():
            try:
                m = json.loads(ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            except Exception:
                break
            self.on_event(m)
        self.f.close()
        try:
            ws.close()
        except Exception:
            pass

    def on_event(self, m):
        if m.get("method") != "log.entryAdded":
            return
        p = m["params"]
        txt = p.get("text") or " ".join(str(a.get("value", "")) for a in p.get("args", []))
        if p.get("type") == "javascript":
            self.log.ev(ev="page_exception", detail=txt)
            return
        line = "%.6f %s" % (now(), txt)
        self.f.write(line + "\n")
        self.f.flush()
        self.lines.append(line)
        self.log.ev(ev="page", msg=txt)


def launch_firefox(url, fingerprint, port, profile, args, log):
    shutil.copy(args.user_js, os.path.join(profile, "user.js"))
    with open(os.path.join(profile, "cert_override.txt"), "w") as f:
        f.write("# PSM Certificate Override Settings file\n# This is a generated file!  Do not edit.\n"
                "127.0.0.1:%d:\tOID.2.16.840.1.101.3.4.2.1\t%s\t\n"
                "localhost:%d:\tOID.2.16.840.1.101.3.4.2.1\t%s\t\n" % (port, fingerprint, port, fingerprint))
    cmd = [FIREFOX, "--headless", "--profile", profile, "--remote-debugging-port", "0"]
    if args.nav == "arg":
        cmd.append(url)
    env = dict(os.environ)
    env.update(FIREFOX_ENV)
    log.ev(ev="firefox_cmd", cmd=cmd, env=FIREFOX_ENV)
    p = subprocess.Popen(cmd, stdout=open(os.path.join(args.out, "firefox.stdout"), "w"),
                         stderr=open(os.path.join(args.out, "firefox.stderr"), "w"),
                         start_new_session=True, env=env)
    log.ev(ev="firefox_pid", pid=p.pid)
    return p


def kill_tree(p):
    try:
        os.killpg(p.pid, signal.SIGTERM)  # the process group we created (start_new_session)
    except ProcessLookupError:
        return
    try:
        p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait(timeout=5)


# ---------------------------------------------------------------- summary ----
def summarize(args, srv, path):
    evs = [json.loads(l) for l in open(path)]
    out = []
    P = out.append
    P("experiment: %s" % args.name)
    P("firefox --version: %s" % args.firefox_version)
    P("server: max_streams=%s settings_delay_ms=%s settings_change=%s goaway_after=%s refuse=%s end_stream=%s"
      % (args.max_streams if args.max_streams >= 0 else "omitted", args.settings_delay_ms,
         args.settings_change, args.goaway_after, args.refuse_idx, args.end_stream))
    P("page: n=%d post_after_ms=%d late=%d x %s every %d ms" % (
        args.n, args.post_after_ms, args.late_count, args.late_kind, args.late_every_ms))
    accepts = [e for e in evs if e["ev"] == "tls_accept"]
    P("TLS accepts: %d  %s" % (len(accepts), [(e["conn"], e["t"], e["alpn"]) for e in accepts]))
    used = [c.cid for c in srv.conns if any(e.get("conn") == c.cid and e["ev"] == "recv_headers" for e in evs)]
    pref = [c.cid for c in srv.conns if any(e.get("conn") == c.cid and e["ev"] == "recv_preface" for e in evs)]
    P("connections that sent the h2 preface: %d %s; that carried requests: %d %s" % (len(pref), pref, len(used), used))
    for c in srv.conns:
        cid = c.cid
        ce = [e for e in evs if e.get("conn") == cid]
        P("--- conn %d ---" % cid)
        for e in ce:
            if e["ev"] == "recv_frame" and e["type"] == "SETTINGS" and "ACK" not in e["flags"]:
                P("  client SETTINGS @%.3f: %s order=%s" % (e["t"], e["settings"], e["settings_order"]))
        wu = [e for e in ce if e["ev"] == "recv_frame" and e["type"] == "WINDOW_UPDATE"]
        P("  client WINDOW_UPDATEs: %d" % len(wu))
        for e in wu[:60]:
            P("    @%.3f sid=%d increment=%d  (server had sent: conn %s B, stream %s B; window before: conn %s, stream %s)" % (
                e["t"], e["sid"], e["increment"], e.get("conn_data_bytes_sent"), e.get("stream_data_bytes_sent"),
                e.get("conn_window_before"), e.get("stream_window_before")))
        other = [e for e in ce if e["ev"] == "recv_frame" and e["type"] not in
                 ("SETTINGS", "WINDOW_UPDATE", "DATA")]
        for e in other:
            P("  client %s @%.3f %s" % (e["type"], e["t"], {k: v for k, v in e.items() if k not in ("t", "ev", "conn")}))
        ack = [e for e in ce if e["ev"] == "recv_frame" and e["type"] == "SETTINGS" and "ACK" in e["flags"]]
        P("  client SETTINGS ACKs at: %s" % [x["t"] for x in ack])
        hs = [e for e in ce if e["ev"] == "recv_headers"]
        nb = sum(1 for e in hs if e["before_our_settings_ack"])
        P("  HEADERS received: %d (before our SETTINGS were ACKed: %d)" % (len(hs), nb))
        for e in hs:
            P("    @%.3f sid=%-4d %-4s %-24s prio_hdr=%-8s h2prio=%s open=%d%s%s%s" % (
                e["t"], e["sid"], e["method"], e["path"], e["priority_hdr"], e["h2_priority"],
                e["open_streams"], " BEFORE-ACK" if e["before_our_settings_ack"] else "",
                " OVER-LIMIT" if e["over_advertised_limit"] else "",
                " AFTER-GOAWAY" if e["after_goaway"] else ""))
        for e in ce:
            if e["ev"] in ("send_frame",) and e["type"] in ("RST_STREAM", "GOAWAY", "SETTINGS") \
                    and "ACK" not in e["flags"]:
                P("  server sent %s @%.3f %s" % (e["type"], e["t"], {k: v for k, v in e.items() if k not in ("t", "ev", "conn", "type")}))
            if e["ev"] in ("server_ends_stream", "server_output_released", "eof", "conn_closed"):
                P("  %s @%.3f %s" % (e["ev"], e["t"], {k: v for k, v in e.items() if k not in ("t", "ev", "conn")}))
        P("  max concurrently open streams (server view): %d" % c.max_open)
    pg = [e for e in evs if e["ev"] == "page"]
    if pg:
        P("--- page log (%d lines; first 60) ---" % len(pg))
        for e in pg[:60]:
            P("  @%.3f %s" % (e["t"], e["msg"]))
    return "\n".join(out)


# ------------------------------------------------------------------ main ----
async def amain(args):
    os.makedirs(args.out, exist_ok=True)
    log = Log(os.path.join(args.out, "frames.jsonl"), args.quiet_data)
    cert, key, fingerprint = ensure_cert()
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["h2"])
    srv = Server(args, log)
    server = await asyncio.start_server(srv.handle, "127.0.0.1", 0, ssl=ctx, backlog=64)
    port = server.sockets[0].getsockname()[1]
    log.ev(ev="server_listening", port=port, fingerprint=fingerprint, args=vars(args))
    udd = tempfile.mkdtemp(prefix="h2cap-firefox-")
    url = "https://127.0.0.1:%d/" % port
    if args.es_host:
        srv.page_cfg["es_origin"] = "https://%s:%d" % (args.es_host, port)
    p = launch_firefox(url, fingerprint, port, udd, args, log)
    stop = threading.Event()
    bidi = BidiReader(udd, log, os.path.join(args.out, "page.log"), stop,
                      nav_url=url if args.nav == "bidi" else None, nav_delay=args.nav_delay)
    bidi.start()
    try:
        await asyncio.sleep(args.duration)
    finally:
        stop.set()
        log.ev(ev="stopping_firefox")
        kill_tree(p)
        if bidi:
            bidi.join(timeout=3)
        server.close()
        shutil.rmtree(udd, ignore_errors=True)
        log.ev(ev="done", firefox_rc=p.returncode)
        await asyncio.sleep(0.2)
    log.close()
    s = summarize(args, srv, os.path.join(args.out, "frames.jsonl"))
    open(os.path.join(args.out, "summary.txt"), "w").write(s + "\n")
    print("=" * 70)
    print(s)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", default="exp")
    ap.add_argument("--out", default=None, help="output dir (default runs/<name>)")
    ap.add_argument("--duration", type=float, default=8.0, help="seconds Firefox runs (hard bound)")
    # page
    ap.add_argument("--n", type=int, default=1, help="EventSources opened at load")
    ap.add_argument("--post-after-ms", type=int, default=-1, help="one fetch POST after this delay (-1: none)")
    ap.add_argument("--post-priority", default="", help="fetch() priority option for the POSTs: high|low|auto")
    ap.add_argument("--late-count", type=int, default=0, help="periodic extra requests from the page")
    ap.add_argument("--late-every-ms", type=int, default=500)
    ap.add_argument("--late-start-ms", type=int, default=0, help="delay before the periodic requests start")
    ap.add_argument("--late-kind", default="es", choices=["es", "post", "mix"])
    ap.add_argument("--close-on-error", action="store_true", help="page closes an EventSource on its error event")
    # server
    ap.add_argument("--max-streams", type=int, default=-1, help="SETTINGS_MAX_CONCURRENT_STREAMS (-1: omit)")
    ap.add_argument("--max-streams-later-conns", type=int, default=None)
    ap.add_argument("--extra-setting", action="append", default=[], help="id=value added to server SETTINGS")
    ap.add_argument("--on-excess", default="refuse", choices=["refuse", "accept"],
                    help="what to do with a stream over the advertised limit")
    ap.add_argument("--settings-delay-ms", type=int, default=0, help="hold ALL server output (SETTINGS first) this long")
    ap.add_argument("--settings-delay-from-conn", type=int, default=1,
                    help="apply --settings-delay-ms only to connections with id >= this")
    ap.add_argument("--es-host", default="", help="host name for the EventSource URLs (e.g. localhost: a second "
                    "origin on the same server, so the EventSources start on a fresh connection)")
    ap.add_argument("--settings-change", action="append", default=[], help="MS:VALUE later SETTINGS MAX_CONCURRENT_STREAMS")
    ap.add_argument("--goaway-after", type=int, default=0, help="send GOAWAY(last=current sid) after K requests")
    ap.add_argument("--goaway-conns", type=int, default=1, help="only on connections with id <= this")
    ap.add_argument("--goaway-rst-late", action="store_true", help="RST(REFUSED) streams above last_stream_id instead of ignoring")
    ap.add_argument("--refuse-idx", action="append", default=[], help="EventSource index i to RST REFUSED_STREAM once")
    ap.add_argument("--end-stream", action="append", default=[], help="IDX:MS end /events?i=IDX after MS")
    ap.add_argument("--end-all-ms", type=int, default=0, help="end every /events stream MS after it started")
    ap.add_argument("--es-retry-ms", type=int, default=600000, help="SSE retry: field sent first")
    ap.add_argument("--event-size", type=int, default=40)
    ap.add_argument("--event-interval-ms", type=float, default=100.0)
    ap.add_argument("--max-pending", type=int, default=4 << 20, help="stop generating events when this much is unsent")
    ap.add_argument("--server-conn-window-update", type=int, default=0)
    ap.add_argument("--log-send-data", action="store_true")
    ap.add_argument("--quiet-data", action="store_true", help="do not log each received DATA frame")
    # firefox
    ap.add_argument("--user-js", required=True, help="the user.js crates/browser writes "
                    "(cargo run -q -p browser --example firefox_user_js > user.js)")
    ap.add_argument("--nav", default="bidi", choices=["bidi", "arg"],
                    help="bidi: start on about:blank and browsingContext.navigate after --nav-delay s; "
                         "arg: page URL as the last command-line argument")
    ap.add_argument("--nav-delay", type=float, default=2.0)
    args = ap.parse_args()
    if args.out is None:
        args.out = os.path.join(HERE, "runs", args.name)
    args.firefox_version = subprocess.run([FIREFOX, "--version"], capture_output=True,
                                          text=True).stdout.strip()
    asyncio.run(amain(args))


if __name__ == "__main__":
    main()
