"""Does a POST made in a click handler (a user gesture: Firefox marks it UrgentStart) get past six
open EventSources over HTTP/1.1? Compare with the same POST from a timer."""
import sys, os, json, time, shutil, subprocess
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bidi import *
srv = subprocess.Popen([os.environ["SSE_SERVER"], "--h1", "127.0.0.1:0", "--event-interval", "200ms"], stdout=subprocess.PIPE, text=True)
import atexit; atexit.register(srv.kill)
url = srv.stdout.readline().split()[-1]
prof = "/tmp/ssebench-probe-urgent"; shutil.rmtree(prof, ignore_errors=True); os.makedirs(prof)
shutil.copy(os.environ["USER_JS"], prof + "/user.js")
os.environ.update({"MOZ_DISABLE_NONLOCAL_CONNECTIONS": "1", "MOZ_CRASHREPORTER_DISABLE": "1"})
p, d = launch(prof)
b = Bidi(f"ws://127.0.0.1:{d['ws_port']}/session")
b.send("session.new", {"capabilities": {}})
ctx = b.send("browsingContext.create", {"type": "window"})["context"]
b.send("browsingContext.navigate", {"context": ctx, "url": url + "/health", "wait": "complete"})
time.sleep(0.5)
js = """(() => { window.log = []; const t0 = performance.now(); const L = (m) => log.push([Math.round(performance.now() - t0), m]);
 const post = (tag) => { L(tag + ' sent'); fetch('/messages?channel=u', {method: 'POST', body: '{}', headers: {'content-type': 'application/json'}}).then(r => r.text().then(() => L(tag + ' done ' + r.status))).catch(e => L(tag + ' err ' + e)); };
 document.body.innerHTML = '<button id=b style="position:absolute;left:0;top:0;width:200px;height:100px">send</button>';
 document.getElementById('b').addEventListener('click', () => post('click POST'));
 window.keep = []; for (let i = 0; i < %s; i++) { const e = new EventSource('/events?channel=u' + i); e.onopen = () => L('open es' + i); keep.push(e); }
 setTimeout(() => post('timer POST'), 500);
 return 1; })()""" % sys.argv[1]
b.send("script.evaluate", {"expression": js, "target": {"context": ctx}, "awaitPromise": False})
time.sleep(1.5)
b.send("input.performActions", {"context": ctx, "actions": [{"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"}, "actions": [
    {"type": "pointerMove", "x": 50, "y": 50}, {"type": "pointerDown", "button": 0}, {"type": "pointerUp", "button": 0}]}]})
time.sleep(2)
r = b.send("script.evaluate", {"expression": "JSON.stringify(window.log)", "target": {"context": ctx}, "awaitPromise": False})
stats = json.loads(subprocess.run(["curl", "-s", url + "/stats"], capture_output=True, text=True).stdout)["listeners"][0]
kill(p); srv.kill(); shutil.rmtree(prof, ignore_errors=True)
for x in json.loads(r["result"]["value"]): print("  ", x)
print("server (incl. this /stats request): accepted", stats["connections_accepted"], "carrying", stats["connections_carrying_requests"], "requests", stats["requests"])
