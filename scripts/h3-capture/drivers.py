"""The two browsers, started as crates/browser starts them, with HTTP/3 switched on for the capture.

Chromium: the fixed flags of crates/browser/src/chromium.rs (`FLAGS`, with `--enable-quic` where
a TCP server gets `--disable-quic`: `quic_flags`), its host resolver rules, a fresh profile, the capture certificate's
key as the only accepted one, `--origin-to-force-quic-on=127.0.0.1:PORT` (or, with
--chromium-quic altsvc, nothing forced: HTTP/3 is learned from the TCP side's Alt-Svc), and CDP on
a free port. The page's console and every response's protocol (Network.responseReceived) are
read over CDP; --netlog adds --log-net-log for a cross-check.

Firefox: the project's user.js (crates/browser/src/firefox/prefs.rs, written by
`cargo run -p browser --example firefox_user_js`), then the HTTP/3 prefs below appended (a later
line wins in user.js), a cert_override.txt trusting the capture certificate for 127.0.0.1:PORT
and localhost:PORT only, the environment of crates/browser/src/firefox.rs, and WebDriver BiDi
on a free port (console, network.responseStarted with each response's protocol).
"""
import json
import os
import shutil
import signal
import subprocess
import threading
import time
import urllib.request

import websocket


CHROMIUM = shutil.which("chromium") or "chromium"
FIREFOX = shutil.which("firefox-esr") or shutil.which("firefox") or "firefox-esr"
# crates/browser/src/chromium.rs FLAGS, with --enable-quic (quic_flags() for a server on UDP).
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--enable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"]
FIREFOX_ENV = {"MOZ_DISABLE_NONLOCAL_CONNECTIONS": "1", "MOZ_CRASHREPORTER_DISABLE": "1"}


def firefox_h3_prefs(port, how):
    """What Firefox needs to speak HTTP/3 to the capture server (see FINDINGS.md, "Setup")."""
    prefs = [("network.http.http3.enable", True),
             ("network.http.http3.disable_when_third_party_roots_found", False)]
    if how == "mapping":
        prefs += [("network.http.http3.alt-svc-mapping-for-testing", "127.0.0.1;h3=:%d" % port),
                  ("network.http.http3.force-use-alt-svc-mapping-for-testing", True)]
    return prefs


def version(binary):
    return subprocess.run([binary, "--version"], capture_output=True, text=True).stdout.strip()


class Browser:
    """A browser process in its own process group, and a thread reading its remote protocol."""

    def __init__(self, args, log, port, cert, out):
        self.a, self.log, self.port, self.cert, self.out = args, log, port, cert, out
        self.stop = threading.Event()
        self.navigated = threading.Event()  # set once the page itself is being loaded
        self.profile = os.path.join(out, "profile")
        shutil.rmtree(self.profile, ignore_errors=True)
        os.makedirs(self.profile)
        self.url = "https://127.0.0.1:%d/" % port

    def spawn(self, cmd, env=None):
        self.log.ev("browser_cmd", cmd=cmd, env={k: v for k, v in (env or {}).items() if k in FIREFOX_ENV or k.startswith("MOZ_")})
        full_env = dict(os.environ, **(env or {}))
        self.p = subprocess.Popen(cmd, stdout=open(os.path.join(self.out, "browser.stdout"), "w"),
                                  stderr=open(os.path.join(self.out, "browser.stderr"), "w"),
                                  start_new_session=True, env=full_env)
        self.log.ev("browser_pid", pid=self.p.pid)
        self.thread = threading.Thread(target=self.remote_logged, daemon=True)
        self.thread.start()

    def remote_logged(self):
        try:
            self.remote()
        except Exception as e:  # a run without its page is visible in the summary
            self.log.ev("remote_failed", why=repr(e))

    def kill(self):
        self.stop.set()
        try:
            os.killpg(self.p.pid, signal.SIGTERM)  # the group we created (start_new_session)
            self.p.wait(timeout=5)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait(timeout=5)
        self.thread.join(timeout=3)
        shutil.rmtree(self.profile, ignore_errors=True)

    def wait_nav(self):
        end = time.time() + self.a.nav_delay
        while time.time() < end and not self.stop.is_set():
            time.sleep(0.02)

    def page_line(self, text):
        if text.startswith("PAGE "):
            self.log.ev("page", msg=text[5:])
        else:
            self.log.ev("console", msg=text)

    def recv_loop(self, ws, on_message):
        while not self.stop.is_set():
            try:
                m = json.loads(ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            except Exception:
                return
            on_message(m)


class Chromium(Browser):
    def start(self):
        cmd = [CHROMIUM] + CHROMIUM_FLAGS + [
            "--user-data-dir=" + self.profile, "--remote-debugging-port=0",
            "--ignore-certificate-errors-spki-list=" + self.cert.spki]
        if self.a.chromium_quic == "force":
            cmd.append("--origin-to-force-quic-on=127.0.0.1:%d" % self.port)
        if self.a.netlog:
            cmd += ["--log-net-log=" + os.path.join(self.out, "netlog.json"), "--net-log-capture-mode=Everything"]
        cmd += self.a.extra_flag
        cmd.append("about:blank")
        self.spawn(cmd)

    def remote(self):
        deadline, ws_url = time.time() + 20, None
        while time.time() < deadline and not self.stop.is_set() and not ws_url:
            try:
                port = int(open(os.path.join(self.profile, "DevToolsActivePort")).read().split()[0])
                pages = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=2))
                ws_url = next((t["webSocketDebuggerUrl"] for t in pages if t.get("type") == "page"), None)
            except (OSError, ValueError, IndexError):
                time.sleep(0.05)
        if not ws_url:
            self.log.ev("remote_failed", why="no CDP page target")
            return
        ws = websocket.create_connection(ws_url, timeout=1, suppress_origin=True)
        for i, m in enumerate(["Runtime.enable", "Network.enable"]):
            ws.send(json.dumps({"id": i + 1, "method": m}))
        self.wait_nav()
        ws.send(json.dumps({"id": 9, "method": "Page.navigate", "params": {"url": self.url}}))
        self.log.ev("navigate", url=self.url, via="cdp")
        self.navigated.set()
        self.recv_loop(ws, self.on_cdp)

    def on_cdp(self, m):
        meth, p = m.get("method"), m.get("params", {})
        if meth == "Runtime.consoleAPICalled":
            self.page_line(" ".join(str(a.get("value", a.get("description", ""))) for a in p["args"]))
        elif meth == "Network.requestWillBeSent":
            self.log.ev("browser_request", url=p["request"]["url"], method=p["request"]["method"], id=p["requestId"])
        elif meth == "Network.responseReceived":
            r = p["response"]
            self.log.ev("browser_response", url=r["url"], status=r["status"], protocol=r.get("protocol"),
                        connection_id=r.get("connectionId"), id=p["requestId"])
        elif meth == "Network.loadingFailed":
            self.log.ev("browser_failed", id=p["requestId"], error=p.get("errorText"), canceled=p.get("canceled"))


class Firefox(Browser):
    def start(self):
        with open(self.a.user_js) as f:
            user_js = f.read()
        prefs = firefox_h3_prefs(self.port, self.a.ff_h3) + [tuple(kv.split("=", 1)) for kv in self.a.ff_pref]
        with open(os.path.join(self.profile, "user.js"), "w") as f:
            f.write(user_js + "// h3cap: HTTP/3 to the capture server\n")
            for k, v in prefs:
                if isinstance(v, str) and v in ("true", "false") or isinstance(v, str) and v.lstrip("-").isdigit():
                    f.write("user_pref(%s, %s);\n" % (json.dumps(k), v))
                else:
                    f.write("user_pref(%s, %s);\n" % (json.dumps(k), json.dumps(v)))
        fp = self.cert.fingerprint
        with open(os.path.join(self.profile, "cert_override.txt"), "w") as f:
            f.write("# PSM Certificate Override Settings file\n# This is a generated file!  Do not edit.\n")
            for host in ("127.0.0.1", "localhost"):
                f.write("%s:%d:\tOID.2.16.840.1.101.3.4.2.1\t%s\t\n" % (host, self.port, fp))
        env = dict(FIREFOX_ENV)
        if self.a.moz_log:
            env.update(MOZ_LOG=self.a.moz_log, MOZ_LOG_FILE=os.path.join(self.out, "mozlog.txt"))
        self.spawn([FIREFOX, "--headless", "--profile", self.profile, "--remote-debugging-port", "0"], env)

    def remote(self):
        deadline, port = time.time() + 30, None
        while time.time() < deadline and not self.stop.is_set() and not port:
            try:
                port = json.load(open(os.path.join(self.profile, "WebDriverBiDiServer.json")))["ws_port"]
            except (OSError, ValueError, KeyError):
                time.sleep(0.05)
        if not port:
            self.log.ev("remote_failed", why="no WebDriverBiDiServer.json")
            return
        ws = websocket.create_connection("ws://127.0.0.1:%d/session" % port, timeout=1, suppress_origin=True)
        self.next_id = 0

        def call(method, params):
            self.next_id += 1
            me = self.next_id
            ws.send(json.dumps({"id": me, "method": method, "params": params}))
            end = time.time() + 10
            while time.time() < end:
                try:
                    m = json.loads(ws.recv())
                except websocket.WebSocketTimeoutException:
                    continue
                if m.get("id") == me:
                    return m
                self.on_bidi(m)
            raise RuntimeError("no answer to " + method)

        call("session.new", {"capabilities": {}})
        call("session.subscribe", {"events": ["log.entryAdded", "network.beforeRequestSent",
                                              "network.responseStarted", "network.fetchError"]})
        ctx = call("browsingContext.getTree", {})["result"]["contexts"][0]["context"]
        self.wait_nav()
        if self.a.ff_warmup_ms > 0:
            # The first request to an origin cannot use the alt-svc mapping pref: Firefox's
            # alt-svc storage is still loading (MOZ_LOG: "AltSvcCache::LookupMapping ... skip when
            # storage is not ready") and the request goes over TCP. One load of /warmup (TCP,
            # answered and closed by tcpside.py) first; the page after it goes over HTTP/3.
            call("browsingContext.navigate", {"context": ctx, "url": self.url + "warmup", "wait": "complete"})
            self.log.ev("navigate", url=self.url + "warmup", via="bidi", warmup=True)
            end = time.time() + self.a.ff_warmup_ms / 1000.0
            while time.time() < end and not self.stop.is_set():
                time.sleep(0.02)
        self.next_id += 1
        ws.send(json.dumps({"id": self.next_id, "method": "browsingContext.navigate",
                            "params": {"context": ctx, "url": self.url, "wait": "none"}}))
        self.log.ev("navigate", url=self.url, via="bidi")
        self.navigated.set()
        self.recv_loop(ws, self.on_bidi)

    def on_bidi(self, m):
        meth, p = m.get("method"), m.get("params", {})
        if meth == "log.entryAdded":
            self.page_line(p.get("text") or "")
        elif meth == "network.beforeRequestSent":
            self.log.ev("browser_request", url=p["request"]["url"], method=p["request"]["method"],
                        id=p["request"]["request"], redirect=p.get("redirectCount"))
        elif meth == "network.responseStarted":
            r = p["response"]
            self.log.ev("browser_response", url=r["url"], status=r["status"], protocol=r.get("protocol"),
                        id=p["request"]["request"])
        elif meth == "network.fetchError":
            self.log.ev("browser_failed", id=p["request"]["request"], url=p["request"]["url"], error=p.get("errorText"))


def launch(args, log, port, cert, out):
    b = (Chromium if args.browser == "chromium" else Firefox)(args, log, port, cert, out)
    b.start()
    return b


def browser_version(name):
    return version(CHROMIUM if name == "chromium" else FIREFOX)
