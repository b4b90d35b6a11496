"""The TCP listener on the same port number as the QUIC one: does the browser race or use TCP?

Every TCP connection is logged (accept, TLS ALPN, each request line). By default the listener
answers only `/warmup` (Firefox's warm-up load, see drivers.py) and closes after logging any other
request, so a browser that needed TCP would fail visibly. With --tcp-serve it serves the same routes over HTTP/1.1 (ALPN http/1.1 only) and
adds `Alt-Svc: h3=":PORT"` to every response: the way a browser learns of HTTP/3 on the web.
"""
import asyncio
import json
import ssl
import time

from caplog import now


class TcpSide:
    def __init__(self, srv):
        self.srv, self.log, self.a = srv, srv.log, srv.args
        self.n = 0

    async def start(self, port, cert):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert.cert, cert.key)
        ctx.set_alpn_protocols(["http/1.1"])
        self.port = port
        return await asyncio.start_server(self.handle, "127.0.0.1", port, ssl=ctx)

    async def handle(self, reader, writer):
        self.n += 1
        cid = self.n
        so = writer.get_extra_info("ssl_object")
        self.log.ev("tcp_accept", tcp_conn=cid, alpn=so.selected_alpn_protocol() if so else None,
                    peer=list(writer.get_extra_info("peername")))
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = (lines[0].split(" ") + ["", ""])[:3]
                hdrs = {l.split(":", 1)[0].lower(): l.split(":", 1)[1].strip() for l in lines[1:] if ":" in l}
                self.log.ev("tcp_request", tcp_conn=cid, method=method, path=path)
                if path == "/warmup":
                    body = b'<!doctype html><link rel="icon" href="data:,">warm'
                    writer.write(self.head(200, "text/html", len(body), close=True, alt=False) + body)
                    await writer.drain()
                    break
                if not self.a.tcp_serve:
                    break
                body_len = int(hdrs.get("content-length", "0") or 0)
                if body_len:
                    await reader.readexactly(body_len)
                if not await self.serve(writer, method, path, cid):
                    break
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError) as e:
            self.log.ev("tcp_eof", tcp_conn=cid, why=type(e).__name__)
        finally:
            writer.close()

    def head(self, status, ctype, length=None, close=False, alt=True):
        h = "HTTP/1.1 %d X\r\ncontent-type: %s\r\ncache-control: no-store\r\n" % (status, ctype)
        h += 'alt-svc: h3=":%d"; ma=86400\r\n' % self.port if self.a.tcp_serve and alt else ""
        h += "connection: close\r\n" if close else ""
        h += "content-length: %d\r\n" % length if length is not None else ""
        return (h + "\r\n").encode()

    async def serve(self, writer, method, path, cid):
        if method == "GET" and path == "/":
            writer.write(self.head(200, "text/html; charset=utf-8", len(self.srv.page)) + self.srv.page)
        elif method == "GET" and path.startswith("/events"):
            writer.write(self.head(200, "text/event-stream") + b"retry: %d\n\n" % self.a.retry_ms)
            seq = 0
            while True:
                await writer.drain()
                await asyncio.sleep(self.a.tick_ms / 1000.0)
                seq += 1
                data = json.dumps({"seq": seq, "sent_ns": time.time_ns()})
                writer.write(b"id: %d\nevent: tick\ndata: %s\n\n" % (seq, data.encode()))
        elif method == "POST" and path.startswith("/messages"):
            writer.write(self.head(202, "text/plain", 0))
        else:
            writer.write(self.head(404, "text/plain", 0))
        self.log.ev("tcp_response", tcp_conn=cid, path=path, t_sent=now())
        await writer.drain()
        return True
