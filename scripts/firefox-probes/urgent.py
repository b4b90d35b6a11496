"""Does a POST made in a click handler (a user gesture: Firefox marks it UrgentStart) get past six
open EventSources over HTTP/1.1? Compare with the same POST from a timer."""
import json, os, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from browsers import firefox_session, kill_group, sse_server  # noqa: E402
srv, url = sse_server("--h1", "127.0.0.1:0", "--event-interval", "200ms")
p, b = firefox_session(os.environ["USER_JS"])
ctx = b.call("browsingContext.create", {"type": "window"})["context"]
b.call("browsingContext.navigate", {"context": ctx, "url": url + "/health", "wait": "complete"})
time.sleep(0.5)
js = """(() => { window.log = []; const t0 = performance.now(); const L = (m) => log.push([Math.round(performance.now() - t0), m]);
 const post = (tag) => { L(tag + ' sent'); fetch('/messages?channel=u', {method: 'POST', body: '{}', headers: {'content-type': 'application/json'}}).then(r => r.text().then(() => L(tag + ' done ' + r.status))).catch(e => L(tag + ' err ' + e)); };
 document.body.innerHTML = '<button id=b style="position:absolute;left:0;top:0;width:200px;height:100px">send</button>';
 document.getElementById('b').addEventListener('click', () => post('click POST'));
 window.keep = []; for (let i = 0; i < %s; i++) { const e = new EventSource('/events?channel=u' + i); e.onopen = () => L('open es' + i); keep.push(e); }
 setTimeout(() => post('timer POST'), 500);
 return 1; })()""" % sys.argv[1]
b.call("script.evaluate", {"expression": js, "target": {"context": ctx}, "awaitPromise": False})
time.sleep(1.5)
b.call("input.performActions", {"context": ctx, "actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": [
    {"type": "pointerMove", "x": 50, "y": 50}, {"type": "pointerDown", "button": 0}, {"type": "pointerUp", "button": 0}]}]})
time.sleep(2)
r = b.call("script.evaluate", {"expression": "JSON.stringify(window.log)", "target": {"context": ctx}, "awaitPromise": False})
stats = json.loads(subprocess.run(["curl", "-s", url + "/stats"], capture_output=True, text=True).stdout)["listeners"][0]
kill_group(p); srv.kill()
for x in json.loads(r["result"]["value"]): print("  ", x)
print("server (incl. this /stats request): accepted", stats["connections_accepted"], "carrying", stats["connections_carrying_requests"], "requests", stats["requests"])
