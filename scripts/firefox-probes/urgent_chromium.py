"""The click-handler POST behind six EventSources, in Chromium (CDP Input.dispatchMouseEvent)."""
import sys, os, json, time, shutil, subprocess, tempfile, signal
import websocket
srv = subprocess.Popen([os.environ["SSE_SERVER"], "--h1", "127.0.0.1:0", "--event-interval", "200ms"], stdout=subprocess.PIPE, text=True)
import atexit; atexit.register(srv.kill)
url = srv.stdout.readline().split()[-1]
d = tempfile.mkdtemp()
flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]
p = subprocess.Popen(["chromium"] + flags + [f"--user-data-dir={d}/p", "--remote-debugging-port=0", url + "/health"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
def _end_browser():
    try:
        os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
atexit.register(_end_browser)
for _ in range(200):
    try:
        port, path = open(f"{d}/p/DevToolsActivePort").read().split()[:2]; break
    except Exception: time.sleep(0.05)
import urllib.request
time.sleep(1)
pages = [t for t in json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list")) if t["type"] == "page"]
ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], suppress_origin=True)
n = [0]
def call(method, params):
    n[0] += 1; ws.send(json.dumps({"id": n[0], "method": method, "params": params}))
    while True:
        m = json.loads(ws.recv())
        if m.get("id") == n[0]: return m
js = """(() => { window.log = []; const t0 = performance.now(); const L = (m) => log.push([Math.round(performance.now() - t0), m]);
 const post = (tag) => { L(tag + ' sent'); fetch('/messages?channel=u', {method: 'POST', body: '{}', headers: {'content-type': 'application/json'}}).then(r => r.text().then(() => L(tag + ' done ' + r.status))).catch(e => L(tag + ' err ' + e)); };
 document.body.innerHTML = '<button id=b style="position:absolute;left:0;top:0;width:200px;height:100px">send</button>';
 document.getElementById('b').addEventListener('click', () => post('click POST'));
 window.keep = []; for (let i = 0; i < 6; i++) { const e = new EventSource('/events?channel=u' + i); e.onopen = () => L('open es' + i); keep.push(e); }
 setTimeout(() => post('timer POST'), 500);
 return 1; })()"""
call("Runtime.evaluate", {"expression": js})
time.sleep(1.5)
for t in ("mousePressed", "mouseReleased"):
    call("Input.dispatchMouseEvent", {"type": t, "x": 50, "y": 50, "button": "left", "clickCount": 1})
time.sleep(2)
r = call("Runtime.evaluate", {"expression": "JSON.stringify(window.log)", "returnByValue": True})
stats = json.loads(subprocess.run(["curl", "-s", url + "/stats"], capture_output=True, text=True).stdout)["listeners"][0]
os.killpg(p.pid, signal.SIGKILL); p.wait(); srv.kill(); shutil.rmtree(d, ignore_errors=True)
for x in json.loads(r["result"]["result"]["value"]): print("  ", x)
print("server (incl. this /stats request): accepted", stats["connections_accepted"], "carrying", stats["connections_carrying_requests"], "requests", stats["requests"])
