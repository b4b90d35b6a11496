"""WebSocket limits in headless Chromium, measured against a tiny server that logs every handshake.

The page of each browser context (one per --contexts, each an isolated CDP browser context, as
crates/browser runs one virtual client) creates --n WebSockets at once to one endpoint. The
server answers each handshake after --delay seconds and keeps the socket open. With --after, the
page also opens an EventSource and sends a POST (fetch) to the same origin 1.5 s later: do the
WebSockets hold the six HTTP/1.1 slots? With --tls the server speaks TLS (ALPN http/1.1 only) and
the page uses wss:// (Chromium trusts the key by --ignore-certificate-errors-spki-list).

Chromium is launched with crates/browser's fixed flags (scripts/lib/browsers.py), a fresh profile
and --remote-debugging-port=0; it is killed with its process group at exit. Only 127.0.0.1 is used.

Prints the page's log (ms since the page created the first WebSocket), the server's log (s since
the server started) and a summary: sockets opened, the most handshakes the server had in flight at
once, and the gaps between handshake arrivals.
"""
import argparse, atexit, base64, hashlib, json, os, shutil, ssl, sys
import tempfile, threading, time
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
import browsers  # noqa: E402

ap = argparse.ArgumentParser()
ap.add_argument("--n", type=int, default=10)
ap.add_argument("--delay", type=float, default=0.0)
ap.add_argument("--contexts", type=int, default=1)
ap.add_argument("--after", action="store_true")
ap.add_argument("--tls", action="store_true")
ap.add_argument("--seconds", type=float, default=5.0)
ap.add_argument("--then", type=int, default=0, help="WebSockets created in a second batch")
ap.add_argument("--then-at", type=float, default=8000, help="ms after the first batch")
args = ap.parse_args()

T0 = time.monotonic()
log, lock = [], threading.Lock()
in_flight = [0, 0]  # now, max
open_now = [0, 0]


def L(m):
    with lock:
        log.append((round(time.monotonic() - T0, 4), m))


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path.startswith("/ws"):
            with lock:
                in_flight[0] += 1
                in_flight[1] = max(in_flight[1], in_flight[0])
            L("ws request %s from port %d" % (self.path, self.client_address[1]))
            time.sleep(args.delay)
            key = self.headers["Sec-WebSocket-Key"]
            acc = base64.b64encode(hashlib.sha1(
                (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.send_header("Sec-WebSocket-Accept", acc)
            self.end_headers()
            self.wfile.flush()
            with lock:
                in_flight[0] -= 1
                open_now[0] += 1
                open_now[1] = max(open_now[1], open_now[0])
            try:
                while self.rfile.read(1):
                    pass
            except Exception:
                pass
            with lock:
                open_now[0] -= 1
            return
        if self.path.startswith("/events"):
            L("es request from port %d" % self.client_address[1])
            self.send_response(200)
            self.send_header("content-type", "text/event-stream")
            self.send_header("cache-control", "no-store")
            self.end_headers()
            try:
                while True:
                    self.wfile.write(b"data: x\n\n")
                    self.wfile.flush()
                    time.sleep(0.5)
            except Exception:
                return
        self.send_response(200)
        self.send_header("content-type", "text/plain")
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def do_POST(self):
        L("post request from port %d" % self.client_address[1])
        n = int(self.headers.get("content-length", 0))
        self.rfile.read(n)
        self.send_response(200)
        self.send_header("content-length", "2")
        self.end_headers()
        self.wfile.write(b"ok")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024


work = tempfile.mkdtemp(prefix="ssebench-ws-probe-")
atexit.register(shutil.rmtree, work, True)
srv = Server(("127.0.0.1", 0), H)
spki = None
if args.tls:
    cert, key = browsers.self_signed(work)
    spki = browsers.spki(cert)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
port = srv.server_address[1]
threading.Thread(target=srv.serve_forever, daemon=True).start()
scheme, ws_scheme = ("https", "wss") if args.tls else ("http", "ws")
origin = f"{scheme}://127.0.0.1:{port}"

_, p = browsers.launch_chromium(f"{work}/profile", [browsers.NO_DNS], "about:blank", spki)
dport, dpath = browsers.devtools(f"{work}/profile", 30)
browser = browsers.Remote(f"ws://127.0.0.1:{dport}{dpath}", timeout=60)


def call(remote, method, params):
    return remote.call(method, params, timeout=60)


pages = []
for _ in range(args.contexts):
    bc = call(browser, "Target.createBrowserContext", {"disposeOnDetach": True})["browserContextId"]
    tid = call(browser, "Target.createTarget", {"url": origin + "/health", "browserContextId": bc})["targetId"]
    pages.append(browsers.Remote(f"ws://127.0.0.1:{dport}/devtools/page/{tid}", timeout=60))
time.sleep(1.5)
L("start")
js = """(() => { window.log = []; const t0 = performance.now();
 const L = (m) => log.push([+(performance.now() - t0).toFixed(1), m]); window.keep = [];
 const make = (from, to) => { for (let i = from; i < to; i++) { const w = new WebSocket('%s://127.0.0.1:%d/ws?i=' + i);
   w.onopen = () => L('ws open ' + i); w.onerror = () => L('ws error ' + i);
   w.onclose = (e) => L('ws close ' + i + ' ' + e.code); keep.push(w); } };
 make(0, %d);
 if (%d > 0) setTimeout(() => { L('second batch'); make(%d, %d + %d); }, %f);
 if (%s) {
   setTimeout(() => { const es = new EventSource('/events'); es.onopen = () => L('es open'); keep.push(es); L('es created'); }, 1500);
   setTimeout(() => { L('post sent'); fetch('/messages', {method: 'POST', body: 'x'}).then(r => r.text().then(() => L('post done'))).catch(e => L('post err ' + e)); }, 1600);
 }
 return 1; })()""" % (ws_scheme, port, args.n, args.then, args.n, args.n, args.then, args.then_at,
                       "true" if args.after else "false")
for page in pages:
    call(page, "Runtime.evaluate", {"expression": js})
time.sleep(args.seconds)
results = []
for page in pages:
    r = call(page, "Runtime.evaluate", {"expression": "JSON.stringify([window.log, keep.filter(w => w instanceof WebSocket).map(w => w.readyState)])", "returnByValue": True})
    results.append(json.loads(r["result"]["value"]))

print(f"chromium: {browsers.version(browsers.CHROMIUM)}")
print(f"args: {vars(args)}")
for c, (plog, states) in enumerate(results):
    opens = [t for t, m in plog if m.startswith("ws open")]
    others = [(t, m) for t, m in plog if not m.startswith("ws open")]
    print(f"context {c}: {sum(1 for s in states if s == 1)} of {len(states)} WebSockets OPEN at the end "
          f"(readyState counts: {dict((s, states.count(s)) for s in sorted(set(states)))})")
    if opens:
        print(f"  open times ms: first {opens[:12]}")
        print(f"                 last  {opens[-5:]}")
    for t, m in others[:20]:
        print(f"  {t} {m}")
reqs = [t for t, m in log if m.startswith("ws request")]
gaps = [round((b - a) * 1000, 1) for a, b in zip(reqs, reqs[1:])]
print(f"server: {len(reqs)} handshakes; at most {in_flight[1]} in flight at once, {open_now[1]} open at once")
if gaps:
    srt = sorted(gaps)
    print(f"  gaps between handshake arrivals ms: first {gaps[:12]}; median {srt[len(srt) // 2]}, min {srt[0]}, max {srt[-1]}")
for t, m in log:
    if not m.startswith("ws request"):
        print(f"  {t} {m}")
