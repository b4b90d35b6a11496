"""The browsers as crates/browser starts them, for the capture tools and probes under scripts/.

One place for what every script needs: Chromium's fixed flags and Firefox's environment (the
values of crates/browser/src/chromium.rs and crates/browser/src/firefox.rs), a self-signed
certificate and the two ways the browsers are told to trust it (Chromium: the SPKI hash; Firefox:
a cert_override.txt with the SHA-256 fingerprint), launching a browser in its own process group
(killed at exit whatever happens), finding its remote-protocol endpoint, and `Remote`, a small
client for both dialects (Chrome DevTools Protocol, WebDriver BiDi): commands answered by id,
events in arrival order. Needs python3 with websocket-client.
"""
import atexit
import base64
import hashlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import urllib.request

import websocket

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox") or "firefox-esr"
# crates/browser/src/chromium.rs FLAGS and quic_flags() for a server on TCP (--disable-quic).
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
# crates/browser/src/chromium.rs host_resolver_rules(): no host name resolves, 127.0.0.1 is reached.
NO_DNS = "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"
# crates/browser/src/firefox.rs ENV.
FIREFOX_ENV = {"MOZ_DISABLE_NONLOCAL_CONNECTIONS": "1", "MOZ_CRASHREPORTER_DISABLE": "1"}
CERT_OID = "OID.2.16.840.1.101.3.4.2.1"  # SHA-256, as Firefox writes cert_override.txt


def version(binary):
    return subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()


# ------------------------------------------------------------------------------ certificates ----
def self_signed(directory, cn="127.0.0.1"):
    """A P-256 certificate for 127.0.0.1 and localhost in DIRECTORY (made once): (cert, key)."""
    os.makedirs(directory, exist_ok=True)
    cert, key = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    if not (os.path.exists(cert) and os.path.exists(key)):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key, "-out", cert,
                        "-days", "365", "-subj", "/CN=" + cn,
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True)
    return cert, key


def spki(cert):
    """Chromium's --ignore-certificate-errors-spki-list value: base64 SHA-256 of the SPKI."""
    pub = subprocess.run(["openssl", "x509", "-in", cert, "-pubkey", "-noout"],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub,
                         check=True, capture_output=True).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def fingerprint(cert):
    """The certificate's SHA-256 fingerprint as Firefox's cert_override.txt writes it."""
    with open(cert) as f:
        h = hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest().upper()
    return ":".join(h[i:i + 2] for i in range(0, len(h), 2))


# --------------------------------------------------------------------------------- processes ----
def start(cmd, out=None, err=None, env=None):
    """Starts CMD as the leader of a new process group, killed (group and all) at exit."""
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                         stdout=open(out, "w") if out else subprocess.DEVNULL,
                         stderr=open(err, "w") if err else subprocess.DEVNULL,
                         start_new_session=True, env=env)
    atexit.register(kill_group, p)
    return p


def kill_group(p, grace=5):
    """SIGTERM to the process group, SIGKILL after GRACE seconds; reaps the leader."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            break
        try:
            p.wait(timeout=grace)
            break
        except subprocess.TimeoutExpired:
            continue
    try:
        p.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass


def wait_for(what, read, timeout, stop=None):
    """Calls READ until it returns a value (exceptions count as not yet) or TIMEOUT passes."""
    deadline = time.time() + timeout
    while time.time() < deadline and not (stop and stop.is_set()):
        try:
            v = read()
            if v:
                return v
        except Exception:  # noqa: the file or endpoint is not there yet
            pass
        time.sleep(0.05)
    raise TimeoutError("no " + what)


# ---------------------------------------------------------------------------------- chromium ----
def launch_chromium(profile, args=(), url="about:blank", trust=None, out=None, err=None):
    """Chromium with the fixed flags, a fresh PROFILE, a free remote-debugging port, the key TRUST
    (spki()) accepted, then ARGS and URL."""
    cmd = [CHROMIUM] + CHROMIUM_FLAGS + ["--user-data-dir=" + profile, "--remote-debugging-port=0"]
    if trust:
        cmd.append("--ignore-certificate-errors-spki-list=" + trust)
    return cmd, start(cmd + list(args) + [url], out, err)


def devtools(profile, timeout=15, stop=None):
    """(port, browser endpoint path) from PROFILE/DevToolsActivePort."""
    def read():
        with open(os.path.join(profile, "DevToolsActivePort")) as f:
            port, path = f.read().split()[:2]
        return int(port), path
    return wait_for("DevToolsActivePort", read, timeout, stop)


def first_page(port, timeout=15, stop=None):
    """The WebSocket URL of Chromium's first page target."""
    def read():
        targets = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=2))
        pages = [t for t in targets if t.get("type") == "page"]
        return pages[0]["webSocketDebuggerUrl"] if pages else None
    return wait_for("page target", read, timeout, stop)


# ----------------------------------------------------------------------------------- firefox ----
def firefox_profile(profile, user_js, cert=None, hostports=()):
    """PROFILE with ssebench's USER_JS and, for CERT, a cert_override.txt trusting it for each
    HOST:PORT of HOSTPORTS only."""
    os.makedirs(profile, exist_ok=True)
    shutil.copy(user_js, os.path.join(profile, "user.js"))
    if cert:
        fp = fingerprint(cert)
        with open(os.path.join(profile, "cert_override.txt"), "w") as f:
            f.write("# PSM Certificate Override Settings file\n# This is a generated file!  Do not edit.\n")
            for hp in hostports:
                f.write("%s:\t%s\t%s\t\n" % (hp, CERT_OID, fp))


def launch_firefox(profile, args=(), url=None, out=None, err=None):
    """Headless Firefox on PROFILE with the environment of crates/browser and WebDriver BiDi on a
    free port; ARGS, then URL if given."""
    cmd = [FIREFOX, "--headless", "--profile", profile, "--remote-debugging-port", "0"] + list(args)
    env = dict(os.environ, **FIREFOX_ENV)
    return cmd, start(cmd + ([url] if url else []), out, err, env)


def bidi_url(profile, timeout=30, stop=None):
    """The BiDi session endpoint from PROFILE/WebDriverBiDiServer.json."""
    def read():
        with open(os.path.join(profile, "WebDriverBiDiServer.json")) as f:
            return "ws://127.0.0.1:%d/session" % json.load(f)["ws_port"]
    return wait_for("WebDriverBiDiServer.json", read, timeout, stop)


# ------------------------------------------------------------------------------------ remote ----
class Remote:
    """One WebSocket to a browser's remote protocol (CDP or BiDi: the same shape). Commands are
    answered by id; every other message is an event, kept in `events` and passed to `on_event`."""

    def __init__(self, url, timeout=30, on_event=None):
        self.ws = websocket.create_connection(url, timeout=timeout, suppress_origin=True)
        self.seq, self.events, self.on_event = 0, [], on_event

    def send(self, method, params=None, **extra):
        self.seq += 1
        self.ws.send(json.dumps({"id": self.seq, "method": method, "params": params or {}, **extra}))
        return self.seq

    def call(self, method, params=None, timeout=30, **extra):
        my = self.send(method, params, **extra)
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = self._recv()
            if m is not None and m.get("id") == my:
                if "error" in m:
                    raise RuntimeError("%s: %s" % (method, m))
                return m.get("result", {})
        raise TimeoutError(method)

    def pump(self, seconds=None, stop=None):
        """Takes events for SECONDS, or until STOP is set or the connection ends."""
        end = time.time() + seconds if seconds is not None else None
        while (end is None or time.time() < end) and not (stop and stop.is_set()):
            try:
                self._recv()
            except (websocket.WebSocketException, OSError):
                return

    def _recv(self):
        self.ws.settimeout(0.2)
        try:
            m = json.loads(self.ws.recv())
        except websocket.WebSocketTimeoutException:
            return None
        if "id" not in m:
            self.events.append(m)
            if self.on_event:
                self.on_event(m)
        return m

    def close(self):
        try:
            self.ws.close()
        except Exception:  # noqa: the browser may be gone already
            pass


def console(m):
    """A page console event of either dialect as ("log" | "exception", text), else None."""
    method, p = m.get("method"), m.get("params", {})
    if method == "Runtime.consoleAPICalled":
        return "log", " ".join(str(a.get("value", a.get("description", ""))) for a in p["args"])
    if method == "Runtime.exceptionThrown":
        return "exception", p["exceptionDetails"].get("text")
    if method == "log.entryAdded":
        text = p.get("text") or " ".join(str(a.get("value", "")) for a in p.get("args", []))
        return ("exception" if p.get("type") == "javascript" else "log"), text
    return None


# ------------------------------------------------------------------------------- for probes ----
def firefox_session(user_js, cert=None, hostports=(), args=()):
    """A fresh Firefox (profile removed at exit) with a BiDi session: (process, Remote)."""
    profile = tempfile.mkdtemp(prefix="ssebench-probe-")
    atexit.register(shutil.rmtree, profile, True)
    firefox_profile(profile, user_js, cert, hostports)
    _, p = launch_firefox(profile, args)
    remote = Remote(bidi_url(profile))
    remote.call("session.new", {"capabilities": {}})
    return p, remote


def chromium_browser(url="about:blank", args=(NO_DNS,), trust=None):
    """A fresh Chromium (profile removed at exit): (process, DevTools port, browser endpoint path)."""
    profile = tempfile.mkdtemp(prefix="ssebench-probe-")
    atexit.register(shutil.rmtree, profile, True)
    _, p = launch_chromium(os.path.join(profile, "p"), args, url, trust)
    port, path = devtools(os.path.join(profile, "p"), 30)
    return p, port, path


def sse_server(*args):
    """ssebench's `server` binary ($SSE_SERVER) with ARGS, killed at exit: (process, first URL)."""
    srv = subprocess.Popen([os.environ["SSE_SERVER"], *args], stdout=subprocess.PIPE, text=True)
    atexit.register(srv.kill)
    return srv, srv.stdout.readline().split()[-1]
