"""The capture server's side of one HTTP/2 connection (h2cap.py): raw frames through hyperframe and
hpack, the HTTP/2 state machine run here, so every frame the client sends is logged (type, flags,
stream id, decoded payload) with a timestamp and the server never enforces a limit on its own.
The knobs (stream limit, SETTINGS held or changed, GOAWAY, REFUSED_STREAM, streams ended) come from
h2cap.py's options; the page and the run are there too.

All timestamps are seconds since the capture started (time.monotonic based).
"""
import asyncio
import ssl
import time

import hpack
from hyperframe.frame import (
    Frame, DataFrame, HeadersFrame, PriorityFrame, RstStreamFrame,
    SettingsFrame, PingFrame, GoAwayFrame,
    WindowUpdateFrame, ContinuationFrame, ExtensionFrame,
)

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
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
            body = self.srv.page()
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


