"""The click-handler POST behind six EventSources, in Chromium (CDP Input.dispatchMouseEvent)."""
import json, os, subprocess, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from browsers import Remote, chromium_browser, first_page, kill_group, sse_server  # noqa: E402

srv, url = sse_server("--h1", "127.0.0.1:0", "--event-interval", "200ms")
p, port, _ = chromium_browser(url + "/health")
time.sleep(1)
page = Remote(first_page(port))
call = page.call
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
kill_group(p); srv.kill()
for x in json.loads(r["result"]["value"]): print("  ", x)
print("server (incl. this /stats request): accepted", stats["connections_accepted"], "carrying", stats["connections_carrying_requests"], "requests", stats["requests"])
