"""EventSource reconnection delay in Firefox: the server answers /events with one event (id: 7,
no retry: field unless ?retry=MS) and ends the body; every request's arrival is logged."""
import sys, os, json, time, shutil, threading
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bidi import *
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
prof = "/tmp/ssebench-probe-reconnect"; shutil.rmtree(prof, ignore_errors=True); os.makedirs(prof)
shutil.copy(os.environ["USER_JS"], prof + "/user.js")
os.environ.update({"MOZ_DISABLE_NONLOCAL_CONNECTIONS": "1", "MOZ_CRASHREPORTER_DISABLE": "1"})
p, d = launch(prof)
b = Bidi(f"ws://127.0.0.1:{d['ws_port']}/session")
b.send("session.new", {"capabilities": {}})
ctx = b.send("browsingContext.create", {"type": "window"})["context"]
b.send("browsingContext.navigate", {"context": ctx, "url": f"http://127.0.0.1:{port}/page", "wait": "complete"})
b.send("script.evaluate", {"expression": "window.log=[]; const t0=performance.now(); const es = new EventSource('/events'); es.onopen=()=>log.push(['open', Math.round(performance.now()-t0)]); es.onerror=()=>log.push(['error', Math.round(performance.now()-t0), es.readyState]); es.onmessage=(e)=>log.push(['message', Math.round(performance.now()-t0), e.lastEventId]); 1", "target": {"context": ctx}, "awaitPromise": False})
time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 16)
r = b.send("script.evaluate", {"expression": "JSON.stringify(window.log)", "target": {"context": ctx}, "awaitPromise": False})
kill(p); srv.shutdown(); shutil.rmtree(prof, ignore_errors=True)
print("server saw /events at (s):", [(round(t, 3), lid) for t, lid in hits])
print("intervals (ms):", [round((hits[i][0] - hits[i-1][0]) * 1000) for i in range(1, len(hits))])
print("page:", r["result"]["value"])
