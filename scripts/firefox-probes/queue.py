"""h1 queue order in Firefox: N EventSources, a POST (optionally with a fetch priority) after
post_ms, then close EventSource #0 at close0_ms and #1 at close1_ms: who gets the freed slots?"""
import sys, os, json, time, shutil, subprocess
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bidi import *
proto, n, prio = sys.argv[1], int(sys.argv[2]), (sys.argv[3] if len(sys.argv) > 3 else "")
srv = subprocess.Popen([os.environ["SSE_SERVER"], f"--{proto}", "127.0.0.1:0", "--event-interval", "200ms", "--write-cert", "/tmp/ssebench-probe-q.pem"] + (["--max-concurrent-streams", sys.argv[4]] if len(sys.argv) > 4 else []), stdout=subprocess.PIPE, text=True)
import atexit; atexit.register(srv.kill); atexit.register(lambda: os.path.exists('/tmp/ssebench-probe-q.pem') and os.remove('/tmp/ssebench-probe-q.pem'))
url = srv.stdout.readline().split()[-1]; port = int(url.rsplit(":", 1)[1])
prof = "/tmp/ssebench-probe-queue"; shutil.rmtree(prof, ignore_errors=True); os.makedirs(prof)
shutil.copy(os.environ["USER_JS"], prof + "/user.js")
import ssl, hashlib
der = ssl.PEM_cert_to_DER_cert(open("/tmp/ssebench-probe-q.pem").read()); h = hashlib.sha256(der).hexdigest().upper()
open(prof + "/cert_override.txt", "w").write("# x\n127.0.0.1:%d:\tOID.2.16.840.1.101.3.4.2.1\t%s\t\n" % (port, ":".join(h[i:i+2] for i in range(0, 64, 2))))
os.environ.update({"MOZ_DISABLE_NONLOCAL_CONNECTIONS": "1", "MOZ_CRASHREPORTER_DISABLE": "1"})
p, d = launch(prof)
b = Bidi(f"ws://127.0.0.1:{d['ws_port']}/session")
b.send("session.new", {"capabilities": {}})
uc = b.send("browser.createUserContext", {})["userContext"]
ctx = b.send("browsingContext.create", {"type": "window", "userContext": uc})["context"]
b.send("session.subscribe", {"events": ["network.beforeRequestSent", "network.responseStarted"]})
b.send("browsingContext.navigate", {"context": ctx, "url": url + "/health", "wait": "complete"})
time.sleep(0.5)
js = """(() => { const t0 = performance.now(); const log = []; window.qlog = log; const L = (m) => log.push([Math.round(performance.now() - t0), m]);
 const es = []; for (let i = 0; i < %d; i++) { const e = new EventSource('/events?channel=q' + i); e.onopen = () => L('open es' + i); es.push(e); }
 setTimeout(() => { L('post sent'); const o = {method: 'POST', body: '{}', headers: {'content-type': 'application/json'}}; if ('%s') o.priority = '%s';
   fetch('/messages?channel=q', o).then(r => r.text().then(() => L('post done ' + r.status))).catch(e => L('post err ' + e)); }, 300);
 setTimeout(() => { es[0].close(); L('closed es0'); }, 1500);
 setTimeout(() => { es[1].close(); L('closed es1'); }, 2500);
 setTimeout(() => { es[2].close(); L('closed es2'); }, 3500);
 return 1; })()""" % (n, prio, prio)
b.send("script.evaluate", {"expression": js, "target": {"context": ctx}, "awaitPromise": False})
b.pump(5)
r = b.send("script.evaluate", {"expression": "JSON.stringify(window.qlog)", "target": {"context": ctx}, "awaitPromise": False})
for t, m in json.loads(r["result"]["value"]):
    print(f"{t:6d} ms  {m}")
prio_hdr = {}
for e in b.events:
    if e.get("method") == "network.responseStarted":
        rq = e["params"]["request"]
        pr = [h["value"]["value"] for h in rq["headers"] if h["name"].lower() == "priority"]
        prio_hdr[rq["url"].split("/", 3)[-1] + " " + rq["method"]] = pr
print("Priority headers:", json.dumps(prio_hdr))
kill(p); srv.kill(); shutil.rmtree(prof, ignore_errors=True)
