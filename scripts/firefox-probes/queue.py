"""h1 queue order in Firefox: N EventSources, a POST (optionally with a fetch priority) after
post_ms, then close EventSource #0 at close0_ms and #1 at close1_ms: who gets the freed slots?"""
import atexit, json, os, shutil, sys, tempfile, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from browsers import firefox_session, kill_group, sse_server  # noqa: E402
proto, n, prio = sys.argv[1], int(sys.argv[2]), (sys.argv[3] if len(sys.argv) > 3 else "")
work = tempfile.mkdtemp(prefix="ssebench-probe-"); atexit.register(shutil.rmtree, work, True)
srv, url = sse_server(f"--{proto}", "127.0.0.1:0", "--event-interval", "200ms", "--write-cert", f"{work}/cert.pem", *(["--max-concurrent-streams", sys.argv[4]] if len(sys.argv) > 4 else []))
p, b = firefox_session(os.environ["USER_JS"], f"{work}/cert.pem", [url.split("//")[1]])
uc = b.call("browser.createUserContext", {})["userContext"]
ctx = b.call("browsingContext.create", {"type": "window", "userContext": uc})["context"]
b.call("session.subscribe", {"events": ["network.beforeRequestSent", "network.responseStarted"]})
b.call("browsingContext.navigate", {"context": ctx, "url": url + "/health", "wait": "complete"})
time.sleep(0.5)
js = """(() => { const t0 = performance.now(); const log = []; window.qlog = log; const L = (m) => log.push([Math.round(performance.now() - t0), m]);
 const es = []; for (let i = 0; i < %d; i++) { const e = new EventSource('/events?channel=q' + i); e.onopen = () => L('open es' + i); es.push(e); }
 setTimeout(() => { L('post sent'); const o = {method: 'POST', body: '{}', headers: {'content-type': 'application/json'}}; if ('%s') o.priority = '%s';
   fetch('/messages?channel=q', o).then(r => r.text().then(() => L('post done ' + r.status))).catch(e => L('post err ' + e)); }, 300);
 setTimeout(() => { es[0].close(); L('closed es0'); }, 1500);
 setTimeout(() => { es[1].close(); L('closed es1'); }, 2500);
 setTimeout(() => { es[2].close(); L('closed es2'); }, 3500);
 return 1; })()""" % (n, prio, prio)
b.call("script.evaluate", {"expression": js, "target": {"context": ctx}, "awaitPromise": False})
b.pump(5)
r = b.call("script.evaluate", {"expression": "JSON.stringify(window.qlog)", "target": {"context": ctx}, "awaitPromise": False})
for t, m in json.loads(r["result"]["value"]):
    print(f"{t:6d} ms  {m}")
prio_hdr = {}
for e in b.events:
    if e.get("method") == "network.responseStarted":
        rq = e["params"]["request"]
        pr = [h["value"]["value"] for h in rq["headers"] if h["name"].lower() == "priority"]
        prio_hdr[rq["url"].split("/", 3)[-1] + " " + rq["method"]] = pr
print("Priority headers:", json.dumps(prio_hdr))
kill_group(p); srv.kill()
