"""The default of each preference NAME in this Firefox build, read in the parent process
(--remote-allow-system-access); the ones ssebench's user.js overrides are marked."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "lib"))
from browsers import firefox_session, kill_group  # noqa: E402

p, b = firefox_session(os.environ["USER_JS"], args=("--remote-allow-system-access",))
tree = b.call("browsingContext.getTree", {"moz:scope": "chrome"})
ctx = tree["contexts"][0]["context"]
names = sys.argv[1:]
js = "JSON.stringify(%s.map(n => { const b = Services.prefs.getDefaultBranch(''); const t = b.getPrefType(n); let v = null; try { v = t == 64 ? b.getIntPref(n) : t == 128 ? b.getBoolPref(n) : t == 32 ? b.getStringPref(n) : null } catch (e) { v = 'ERR ' + e } ; return [n, v, Services.prefs.prefHasUserValue(n)] }))" % json.dumps(names)
r = b.call("script.evaluate", {"expression": js, "target": {"context": ctx}, "awaitPromise": False})
for n, v, user in json.loads(r["result"]["value"]):
    print(f"{n} = {v!r}" + ("  (user.js overrides)" if user else ""))
kill_group(p)
