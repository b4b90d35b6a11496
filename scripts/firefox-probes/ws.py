"""WebSocket limits in Firefox: the page opens N WebSockets to one HTTP/1.1 server, then an
EventSource and a POST to the same server. Which open, and do WebSockets use the six slots?"""
import base64, hashlib, json, os, sys, threading, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from browsers import firefox_session, kill_group  # noqa: E402
N = int(sys.argv[1]); T0 = time.monotonic(); log = []
def L(m): log.append((round(time.monotonic() - T0, 3), m))
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path.startswith("/ws"):
            L("ws request " + self.path + " from port %d" % self.client_address[1])
            time.sleep(float(os.environ.get("WS_DELAY", "0")))
            key = self.headers["Sec-WebSocket-Key"]
            acc = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
            self.send_response(101); self.send_header("Upgrade", "websocket"); self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", acc); self.end_headers(); self.wfile.flush()
            try:
                while self.rfile.read(1): pass
            except Exception: pass
            return
        if self.path.startswith("/events"):
            L("es request from port %d" % self.client_address[1])
            self.send_response(200); self.send_header("content-type", "text/event-stream"); self.send_header("cache-control", "no-store"); self.end_headers()
            try:
                while True:
                    self.wfile.write(b"data: x\n\n"); self.wfile.flush(); time.sleep(0.5)
            except Exception: return
        b = b"ok"; self.send_response(200); self.send_header("content-type", "text/plain"); self.send_header("content-length", "2"); self.end_headers(); self.wfile.write(b)
    def do_POST(self):
        L("post request from port %d" % self.client_address[1])
        n = int(self.headers.get("content-length", 0)); self.rfile.read(n)
        self.send_response(200); self.send_header("content-length", "2"); self.end_headers(); self.wfile.write(b"ok")
srv = ThreadingHTTPServer(("127.0.0.1", 0), H); srv.daemon_threads = True; port = srv.server_address[1]
threading.Thread(target=srv.serve_forever, daemon=True).start()
p, b = firefox_session(os.environ["USER_JS"])
ctx = b.call("browsingContext.create", {"type": "window"})["context"]
b.call("browsingContext.navigate", {"context": ctx, "url": f"http://127.0.0.1:{port}/page", "wait": "complete"})
time.sleep(0.5)
js = """(() => { window.log = []; const t0 = performance.now(); const L = (m) => log.push([Math.round(performance.now() - t0), m]); window.keep = [];
 for (let i = 0; i < %d; i++) { const w = new WebSocket('ws://127.0.0.1:%d/ws' + i); w.onopen = () => L('ws open ' + i); w.onerror = () => L('ws error ' + i); w.onclose = (e) => L('ws close ' + i + ' ' + e.code); keep.push(w); }
 setTimeout(() => { const es = new EventSource('/events'); es.onopen = () => L('es open'); keep.push(es); L('es created'); }, 1500);
 setTimeout(() => { L('post sent'); fetch('/messages', {method: 'POST', body: 'x'}).then(r => r.text().then(() => L('post done'))).catch(e => L('post err ' + e)); }, 1600);
 return 1; })()""" % (N, port)
b.call("script.evaluate", {"expression": js, "target": {"context": ctx}, "awaitPromise": False})
time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 5)
r = b.call("script.evaluate", {"expression": "JSON.stringify(window.log)", "target": {"context": ctx}, "awaitPromise": False})
kill_group(p)
print("page:"); [print("  ", x) for x in json.loads(r["result"]["value"])]
print("server:"); [print("  ", x) for x in log]
