"""The HTTP/3 capture server: aioquic underneath, every client move logged, every limit scripted.

One `Conn` per QUIC connection. It logs the client's transport parameters (raw, see wire.py), its
HTTP/3 SETTINGS and control frames (PRIORITY_UPDATE, GOAWAY), its unidirectional streams, every
request (time, method, path, priority header, requests open at that moment), and the QUIC frames
that matter in both directions (MAX_STREAMS, MAX_DATA, MAX_STREAM_DATA, STREAMS_BLOCKED,
DATA_BLOCKED, RESET_STREAM, STOP_SENDING, CONNECTION_CLOSE, PING, NEW_CONNECTION_ID, ...).

Routes: `/` the page, `/events?...` an endless text/event-stream (`retry:` first, then a `tick`
event every --tick-ms, as crates/sse-server sends them), `POST /messages` 202, anything else 404.

What the server is told per run (see h3cap.py --help): the bidirectional MAX_STREAMS it grants and
whether it returns the credit of finished streams (aioquic's and quinn's way) or never grants more;
a later MAX_STREAMS; GOAWAY at a time or after the N-th request; resets of matching requests;
CONNECTION_CLOSE at a time; going silent (an idle timeout); ending event streams.
"""
import asyncio
import json
import time

from aioquic.asyncio.protocol import QuicConnectionProtocol
from aioquic.h3.connection import H3Connection
from aioquic.h3.events import DataReceived, HeadersReceived
from aioquic.quic import events as qe
from aioquic.quic.connection import Limit
from aioquic.quic.logger import QuicLogger, QuicLoggerTrace
from aioquic.quic.packet import QuicFrameType

import wire
from caplog import now

# QUIC frames logged when received ("recv") or sent ("send"); the rest are counted.
LOGGED_FRAMES = {
    "recv": {"max_data", "max_stream_data", "max_streams", "data_blocked", "stream_data_blocked",
             "streams_blocked", "reset_stream", "stop_sending", "connection_close", "ping",
             "new_connection_id", "retire_connection_id", "path_challenge", "datagram"},
    "send": {"max_data", "max_streams", "reset_stream", "stop_sending", "connection_close",
             "streams_blocked", "data_blocked", "handshake_done", "new_token"},
}


class LiveTrace(QuicLoggerTrace):
    """An aioquic qlog trace that writes the frames worth seeing into the run's log at once."""

    def __init__(self, srv, **kw):
        super().__init__(**kw)
        self.srv, self.conn, self.pending = srv, None, []
        self.last_sent = self.last_received = None
        self.counts = {}
        self.seen_streams = set()

    def log_event(self, *, category, event, data):
        # aioquic fills a received packet's frame list after this call, while it handles the
        # frames (logging other events meanwhile): the list is read once the datagram is done.
        if event == "packet_received":
            self.last_received = now()
            self.pending.append((self.last_received, data))
        elif event == "packet_sent":
            self.last_sent = now()
            self.frames("send", self.last_sent, data)
        elif event == "parameters_set" and data.get("owner") == "local":
            self.srv.log.ev("server_transport_parameters", conn=self.cid(), params=data)

    def flush(self):
        pending, self.pending = self.pending, []
        for t, data in pending:
            self.frames("recv", t, data)

    def cid(self):
        return self.conn.cid if self.conn else None

    def frames(self, way, t, data):
        for f in data.get("frames", []):
            kind = f.get("frame_type")
            key = way + ":" + kind
            self.counts[key] = self.counts.get(key, 0) + 1
            if kind == "stream" and way == "recv" and f["stream_id"] not in self.seen_streams:
                self.seen_streams.add(f["stream_id"])
                self.srv.log.ev("recv_stream_first_frame", conn=self.cid(), at=t, **f)
            elif kind in LOGGED_FRAMES[way] and not (kind == "ping" and data["header"].get("packet_type") != "1RTT"):
                if kind in ("reset_stream", "stop_sending", "connection_close") and "error_code" in f:
                    f = dict(f, error_name=wire.error_name(f["error_code"]))
                self.srv.log.ev(way + "_frame", conn=self.cid(), at=t,
                                packet=data["header"].get("packet_type"), **f)


class LiveLogger(QuicLogger):
    def __init__(self, srv):
        super().__init__()
        self.srv = srv

    def start_trace(self, is_client, odcid):
        trace = LiveTrace(self.srv, is_client=is_client, odcid=odcid)
        self._traces.append(trace)
        return trace

    def end_trace(self, trace):
        trace.flush()
        self._traces.remove(trace)


class StreamCredit(Limit):
    """The bidirectional MAX_STREAMS this server grants. aioquic adds one whenever a client stream
    is finished; with `replenish` False those additions are withheld, so only `grant` raises it."""

    def __init__(self, value, replenish, on_withheld):
        self.replenish, self.on_withheld, self.granting = replenish, on_withheld, False
        self._value = value
        super().__init__(frame_type=QuicFrameType.MAX_STREAMS_BIDI, name="max_streams_bidi",
                         value=value)

    @property
    def value(self):
        return self._value

    @value.setter
    def value(self, v):
        if self.replenish or self.granting or v <= self._value:
            self._value = v
        else:
            self.on_withheld(v - self._value)

    def grant(self, v):
        self.granting = True
        self.value = max(v, self._value)
        self.granting = False


class Req:
    def __init__(self, sid, idx, method, path, headers, t):
        self.sid, self.idx, self.method, self.path, self.headers = sid, idx, method, path, headers
        self.t_open = t
        self.client_fin = self.server_fin = self.reset = self.ignored = False
        self.ticker = None
        self.body = 0
        self.sent = 0  # event-stream bytes handed to aioquic

    @property
    def open(self):
        return not self.reset and not (self.client_fin and self.server_fin)

    def label(self):
        return "%s %s" % (self.method, self.path)


class Conn(QuicConnectionProtocol):
    """One QUIC connection from the browser."""

    def __init__(self, quic, srv, **kw):
        super().__init__(quic, **kw)
        a = self.a = srv.args
        self.srv, self.log = srv, srv.log
        srv.conns.append(self)
        self.cid = len(srv.conns)
        self.acting = self.cid <= a.act_conns  # scripted actions apply to connections 1..N
        self.t_start = now()
        self.h3 = None
        self.reqs = {}
        self.scanners = {}
        self.goaway_id = None
        self.silent = False
        self.dropped = 0
        self.closed = False
        trace = quic._quic_logger
        trace.conn = self
        self.trace = trace
        self.credit = StreamCredit(a.max_streams, a.credit == "replenish",
                                   lambda n: self.log.ev("max_streams_withheld", conn=self.cid, streams=n))
        quic._local_max_streams_bidi = self.credit
        quic._local_max_streams_uni.value = quic._local_max_streams_uni.sent = a.max_streams_uni
        parse = quic._parse_transport_parameters

        def parse_and_log(data, from_session_ticket=False):
            if not from_session_ticket:
                params = wire.transport_params(data)
                self.log.ev("client_transport_parameters", conn=self.cid,
                            params=[["0x%x" % i, n, v] for i, n, v in params])
            return parse(data, from_session_ticket)
        quic._parse_transport_parameters = parse_and_log
        self.log.ev("quic_connection", conn=self.cid, odcid=trace._odcid.hex(), acting=self.acting)
        if self.acting:
            self.schedule()

    # -- scripted actions ---------------------------------------------------------------------
    def later(self, ms, fn, *args):
        asyncio.get_running_loop().call_later(ms / 1000.0, lambda: None if self.closed else fn(*args))

    def schedule(self):
        a = self.a
        for spec in a.raise_streams:
            ms, total = spec.split(":")
            self.later(int(ms), self.raise_streams, int(total))
        if a.goaway_at_ms is not None:
            self.later(a.goaway_at_ms, self.send_goaway, "at_ms")
        if a.close_at_ms is not None:
            self.later(a.close_at_ms, self.close_now)
        if a.silence_at_ms is not None:
            self.later(a.silence_at_ms, self.go_silent)

    def raise_streams(self, total):
        self.credit.grant(total)
        self.log.ev("server_raises_max_streams", conn=self.cid, total=total)
        self.transmit()

    def send_goaway(self, why):
        if self.goaway_id is not None or self.h3 is None:
            return
        seen = [s for s in self.reqs if s % 4 == 0]
        self.goaway_id = (max(seen) + 4 if seen else 0) - 4 * self.a.goaway_back
        payload = wire.encode_varint(self.goaway_id)
        frame = wire.encode_varint(0x7) + wire.encode_varint(len(payload)) + payload
        self._quic.send_stream_data(self.h3._local_control_stream_id, frame)
        above = [r.label() for s, r in sorted(self.reqs.items()) if s >= self.goaway_id]
        self.log.ev("server_goaway", conn=self.cid, why=why, stream_id=self.goaway_id,
                    open_above=above, late=self.a.goaway_late)
        for s, r in sorted(self.reqs.items()):
            if s >= self.goaway_id:
                self.refuse(r)
        self.transmit()
        if self.a.goaway_close_ms is not None:
            self.later(self.a.goaway_close_ms, self.close_now)

    def refuse(self, r):
        """A request at or above our GOAWAY id: not processed (RFC 9114 section 5.2)."""
        if self.a.goaway_late == "reject":
            self.reset_req(r, wire.H3_ERROR_CODES["H3_REQUEST_REJECTED"], "above_goaway")
        else:
            r.ignored = True
            if r.ticker:
                r.ticker.cancel()
            self.log.ev("request_ignored_above_goaway", conn=self.cid, sid=r.sid, req=r.label())

    def reset_req(self, r, code, why):
        if r.reset or self.closed:
            return
        r.reset = True
        if r.ticker:
            r.ticker.cancel()
        self._quic.reset_stream(r.sid, code)
        if not r.client_fin:
            self._quic.stop_stream(r.sid, code)
        self.log.ev("server_reset", conn=self.cid, sid=r.sid, req=r.label(), why=why,
                    code=wire.error_name(code), stop_sending=not r.client_fin)
        self.transmit()

    def close_now(self):
        code = wire.parse_error_code(self.a.close_code)
        self.log.ev("server_connection_close", conn=self.cid, code=wire.error_name(code))
        self._quic.close(error_code=code, reason_phrase="h3cap")
        self.transmit()

    def go_silent(self):
        self.silent = True
        self.log.ev("server_silent", conn=self.cid, last_packet_sent=self.trace.last_sent,
                    last_packet_received=self.trace.last_received,
                    note="drops every datagram both ways from now on (the client's idle timeout)")

    def final(self):
        """What the log keeps of a connection still open when the run ends."""
        self.trace.flush()
        q = self._quic
        self.log.ev("conn_final", conn=self.cid, frame_counts=self.trace.counts, closed=self.closed,
                    client_max_data=q._remote_max_data, sent_data=q._remote_max_data_used,
                    streams={r.sid: {"req": r.label(), "sent": r.sent, "reset": r.reset,
                                     "client_max_stream_data": q._streams[r.sid].max_stream_data_remote
                                     if r.sid in q._streams else None}
                             for r in self.reqs.values() if r.sent})

    # -- datagrams ------------------------------------------------------------------------------
    def datagram_received(self, data, addr):
        if self.silent:
            self.dropped += 1
            return
        super().datagram_received(data, addr)
        self.trace.flush()

    def transmit(self):
        if self.silent:
            self._transmit_task = None
            return
        super().transmit()

    # -- QUIC events ----------------------------------------------------------------------------
    def quic_event_received(self, event):
        if isinstance(event, qe.ProtocolNegotiated):
            self.log.ev("alpn", conn=self.cid, alpn=event.alpn_protocol)
            if event.alpn_protocol == "h3":
                self.h3 = CapH3(self._quic, self)
        elif isinstance(event, qe.HandshakeCompleted):
            self.log.ev("handshake_completed", conn=self.cid, alpn=event.alpn_protocol,
                        resumed=event.session_resumed, early_data=event.early_data_accepted)
        elif isinstance(event, qe.ConnectionTerminated):
            self.closed = True
            for r in self.reqs.values():
                if r.ticker:
                    r.ticker.cancel()
            self.log.ev("connection_terminated", conn=self.cid, error_code=event.error_code,
                        error_name=wire.error_name(event.error_code), frame_type=event.frame_type,
                        reason=event.reason_phrase, dropped_while_silent=self.dropped,
                        frame_counts=self.trace.counts, requests=len(self.reqs))
        elif isinstance(event, qe.StreamReset):
            r = self.reqs.get(event.stream_id)
            if r:
                r.client_fin = True
                r.reset = True
                if r.ticker:
                    r.ticker.cancel()
            self.log.ev("client_reset_stream", conn=self.cid, sid=event.stream_id,
                        code=wire.error_name(event.error_code), req=r.label() if r else None)
        elif isinstance(event, qe.StopSendingReceived):
            r = self.reqs.get(event.stream_id)
            if r:
                r.server_fin = True
                if r.ticker:
                    r.ticker.cancel()
            self.log.ev("client_stop_sending", conn=self.cid, sid=event.stream_id,
                        code=wire.error_name(event.error_code), req=r.label() if r else None)
        elif isinstance(event, qe.StreamDataReceived):
            self.scan(event)
        if self.h3 is not None:
            for h in self.h3.handle_event(event):
                self.http_event(h)

    def scan(self, event):
        sid = event.stream_id
        if sid % 4 == 0:
            return  # request streams: aioquic's HEADERS/DATA events are enough
        sc = self.scanners.get(sid)
        if sc is None:
            sc = self.scanners[sid] = wire.FrameScanner(uni=True)
        first = sc.stream_type is None
        for ftype, payload in sc.feed(event.data):
            self.log.ev("client_control_frame", conn=self.cid, sid=sid, **wire.describe_control_frame(ftype, payload))
        if first and sc.stream_type is not None:
            self.log.ev("client_uni_stream", conn=self.cid, sid=sid,
                        stream_type=wire.name_of(wire.H3_STREAM_TYPES, sc.stream_type))

    # -- HTTP/3 ---------------------------------------------------------------------------------
    def open_requests(self):
        return sum(1 for r in self.reqs.values() if r.open)

    def http_event(self, h):
        if isinstance(h, HeadersReceived):
            hd = {k.decode(): v.decode() for k, v in h.headers}
            idx = len(self.reqs) + 1
            r = self.reqs[h.stream_id] = Req(h.stream_id, idx, hd.get(":method"), hd.get(":path"), hd, now())
            r.client_fin = h.stream_ended
            above = self.goaway_id is not None and h.stream_id >= self.goaway_id
            self.log.ev("request", conn=self.cid, sid=h.stream_id, idx=idx, method=r.method,
                        path=r.path, authority=hd.get(":authority"), priority=hd.get("priority"),
                        open=self.open_requests(), max_streams=self.credit.value,
                        after_goaway=self.goaway_id is not None, above_goaway=above,
                        headers=[k for k in hd if not k.startswith(":")])
            if above:
                self.refuse(r)
                return
            rule = next((x for x in self.srv.reset_rules
                         if self.acting and not x["done"] and x["match"] in r.label()), None)
            if rule:
                rule["done"] = True
            if rule and rule["ms"] == 0:  # reset in place of any answer
                self.reset_req(r, rule["code"], "scripted")
            else:
                self.route(r)
            if rule and rule["ms"] > 0:
                self.later(rule["ms"], self.reset_req, r, rule["code"], "scripted")
            if self.acting and self.a.goaway_after and idx == self.a.goaway_after:
                self.send_goaway("after_request_%d" % idx)
        elif isinstance(h, DataReceived):
            r = self.reqs.get(h.stream_id)
            if r is None:
                return
            r.body += len(h.data)
            if h.stream_ended:
                r.client_fin = True
                self.log.ev("request_body_end", conn=self.cid, sid=r.sid, bytes=r.body)
                if r.method == "POST" and not r.reset and not r.ignored:
                    self.respond(r, 202, b"", "text/plain")

    def route(self, r):
        path = r.path or ""
        if r.method == "GET" and path == "/":
            self.respond(r, 200, self.srv.page, "text/html; charset=utf-8")
        elif r.method == "GET" and path.startswith("/events"):
            self.h3.send_headers(r.sid, [(b":status", b"200"), (b"content-type", b"text/event-stream"),
                                         (b"cache-control", b"no-store")])
            self.h3.send_data(r.sid, b"retry: %d\n: h3cap\n\n" % self.a.retry_ms, end_stream=False)
            self.log.ev("response", conn=self.cid, sid=r.sid, status=200, req=r.label())
            r.ticker = asyncio.ensure_future(self.tick(r))
            self.transmit()
        elif r.method == "POST" and path.startswith("/messages"):
            if r.client_fin:
                self.respond(r, 202, b"", "text/plain")
        else:
            self.respond(r, 404, b"not found", "text/plain")

    def respond(self, r, status, body, ctype):
        if r.reset or self.closed:
            return
        self.h3.send_headers(r.sid, [(b":status", str(status).encode()), (b"content-type", ctype.encode()),
                                     (b"content-length", str(len(body)).encode())], end_stream=not body)
        if body:
            self.h3.send_data(r.sid, body, end_stream=True)
        r.server_fin = True
        self.log.ev("response", conn=self.cid, sid=r.sid, status=status, req=r.label())
        self.transmit()

    async def tick(self, r):
        end_ms = self.a.end_stream_ms
        seq = 0
        t_end = time.monotonic() + end_ms / 1000.0 if end_ms else None
        while not (r.reset or self.closed):
            await asyncio.sleep(self.a.tick_ms / 1000.0)
            if r.reset or self.closed or r.server_fin:
                return
            seq += 1
            data = json.dumps({"seq": seq, "sent_ns": time.time_ns(), "pad": "x" * self.a.tick_pad}, separators=(",", ":"))
            last = t_end is not None and time.monotonic() >= t_end
            chunk = b"id: %d\nevent: tick\ndata: %s\n\n" % (seq, data.encode())
            try:
                self.h3.send_data(r.sid, chunk, end_stream=last)
                r.sent += len(chunk)
            except Exception as e:  # the stream was reset by the client meanwhile
                self.log.ev("tick_failed", conn=self.cid, sid=r.sid, err=repr(e))
                return
            self.transmit()
            if last:
                r.server_fin = True
                self.log.ev("server_ends_stream", conn=self.cid, sid=r.sid, req=r.label(), events=seq)
                return


class CapH3(H3Connection):
    """aioquic's HTTP/3 connection, with the client's SETTINGS logged and never rejected."""

    def __init__(self, quic, conn):
        self.conn = conn
        super().__init__(quic)

    def _validate_settings(self, settings):
        try:
            super()._validate_settings(settings)
        except Exception as e:  # log, and accept the client's SETTINGS anyway
            self.conn.log.ev("client_settings_would_fail_aioquic", conn=self.conn.cid, err=repr(e))
