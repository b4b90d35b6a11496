"""Tiny WebDriver BiDi driver for the Firefox probes: launch (own process group, killed at exit
whatever happens), connect, send commands, collect events."""
import atexit, json, os, subprocess, sys, time, tempfile, shutil, signal, threading
import websocket

class Bidi:
    def __init__(self, url):
        self.ws = websocket.create_connection(url, timeout=30, suppress_origin=True)
        self.id = 0
        self.events = []
    def send(self, method, params=None, timeout=30):
        self.id += 1
        my = self.id
        self.ws.send(json.dumps({"id": my, "method": method, "params": params or {}}))
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = json.loads(self.ws.recv())
            if m.get("id") == my:
                if m.get("type") == "error":
                    raise RuntimeError(f"{method}: {m}")
                return m["result"]
            self.events.append(m)
        raise TimeoutError(method)
    def pump(self, seconds):
        end = time.time() + seconds
        self.ws.settimeout(0.2)
        while time.time() < end:
            try:
                self.events.append(json.loads(self.ws.recv()))
            except websocket.WebSocketTimeoutException:
                pass
        self.ws.settimeout(30)

def launch(profile, extra_env=None, strace=None, args=()):
    env = dict(os.environ)
    env.update(extra_env or {})
    cmd = ["firefox-esr", "--headless", "--profile", profile, "--remote-debugging-port", "0", *args]
    if strace:
        cmd = ["strace", "-f", "-qq", "-e", "trace=connect,sendto,sendmsg,sendmmsg,bind", "-o", strace] + cmd
    out = profile + ".out"
    atexit.register(lambda: os.path.exists(out) and os.remove(out))
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=open(out, "w"),
                         stderr=subprocess.STDOUT, start_new_session=True, env=env)
    atexit.register(kill, p)
    f = os.path.join(profile, "WebDriverBiDiServer.json")
    for _ in range(300):
        if os.path.exists(f):
            try:
                d = json.load(open(f)); break
            except Exception: pass
        time.sleep(0.1)
    else:
        kill(p)
        raise RuntimeError("no BiDi port: " + open(profile + ".out").read())
    return p, d

def kill(p):
    try: os.killpg(p.pid, signal.SIGKILL)
    except ProcessLookupError: pass
    p.wait()
