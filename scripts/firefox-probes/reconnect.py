"""EventSource reconnection delay in Firefox: the server answers /events with one event (id: 7,
no retry: field unless RETRY_MS is given) and ends the body; every request's arrival is logged.
usage: reconnect.py [RETRY_MS] SECONDS"""
import os
import sys
import threading
import time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from browsers import firefox_session, kill_group  # noqa: E402

retry = sys.argv[1] if len(sys.argv) > 1 else ""
T0 = time.monotonic(); hits = []
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path.startswith("/events"):
            hits.append((time.monotonic() - T0, self.headers.get("Last-Event-ID")))
            body = (f"retry: {retry}\n" if retry else "") + "id: 7\ndata: x\n\n"
            b = body.encode()
            self.send_response(200); self.send_header("content-type", "text/event-stream")
            self.send_header("content-length", str(len(b))); self.end_headers(); self.wfile.write(b)
        else:
            b = b"ok"; self.send_response(200); self.send_header("content-type", "text/plain")
            self.send_header("content-length", "2"); self.end_headers(); self.wfile.write(b)
srv = ThreadingHTTPServer(("127.0.0.1", 0), H); port = srv.server_address[1]
threading.Thread(target=srv.serve_forever, daemon=True).start()
p, b = firefox_session(os.environ["USER_JS"])
ctx = b.call("browsingContext.create", {"type": "window"})["context"]
b.call("browsingContext.navigate", {"context": ctx, "url": f"http://127.0.0.1:{port}/page", "wait": "complete"})
b.call("script.evaluate", {"expression": "window.log=[]; const t0=performance.now(); const es = new EventSource('/events'); es.onopen=()=>log.push(['open', Math.round(performance.now()-t0)]); es.onerror=()=>log.push(['error', Math.round(performance.now()-t0), es.readyState]); es.onmessage=(e)=>log.push(['message', Math.round(performance.now()-t0), e.lastEventId]); 1", "target": {"context": ctx}, "awaitPromise": False})
time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 16)
r = b.call("script.evaluate", {"expression": "JSON.stringify(window.log)", "target": {"context": ctx}, "awaitPromise": False})
kill_group(p); srv.shutdown()
print("server saw /events at (s):", [(round(t, 3), lid) for t, lid in hits])
print("intervals (ms):", [round((hits[i][0] - hits[i-1][0]) * 1000) for i in range(1, len(hits))])
print("page:", r["result"]["value"])
