import sys, os, json, time, shutil, subprocess
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bidi import *
prof = "/tmp/ssebench-probe-prefs"; shutil.rmtree(prof, ignore_errors=True); os.makedirs(prof)
shutil.copy(os.environ["USER_JS"], prof + "/user.js")
os.environ.update({"MOZ_DISABLE_NONLOCAL_CONNECTIONS": "1", "MOZ_CRASHREPORTER_DISABLE": "1"})
p, d = launch(prof, args=("--remote-allow-system-access",))
b = Bidi(f"ws://127.0.0.1:{d['ws_port']}/session")
b.send("session.new", {"capabilities": {}})
tree = b.send("browsingContext.getTree", {"moz:scope": "chrome"})
ctx = tree["contexts"][0]["context"]
names = sys.argv[1:]
js = "JSON.stringify(%s.map(n => { const b = Services.prefs.getDefaultBranch(''); const t = b.getPrefType(n); let v = null; try { v = t == 64 ? b.getIntPref(n) : t == 128 ? b.getBoolPref(n) : t == 32 ? b.getStringPref(n) : null } catch (e) { v = 'ERR ' + e } ; return [n, v, Services.prefs.prefHasUserValue(n)] }))" % json.dumps(names)
r = b.send("script.evaluate", {"expression": js, "target": {"context": ctx}, "awaitPromise": False})
for n, v, user in json.loads(r["result"]["value"]):
    print(f"{n} = {v!r}" + ("  (user.js overrides)" if user else ""))
kill(p); shutil.rmtree(prof, ignore_errors=True)
