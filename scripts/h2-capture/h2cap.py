#!/usr/bin/env python3
"""h2cap.py - HTTP/2 capture server + a headless browser (Chromium or Firefox).

One run = one experiment:
  * generates (once) a self-signed cert for 127.0.0.1 and localhost in ./certs/
  * starts a TLS server on 127.0.0.1:<free port> with ALPN "h2" only
  * speaks HTTP/2 itself (conn.py: raw frames via hyperframe + hpack), so every frame
    the client sends is logged (type, flags, stream id, decoded payload) with
    a timestamp, and everything the server sends is under our control
  * launches the browser as crates/browser does (scripts/lib/browsers.py), trusting this
    server's certificate alone:
      --browser chromium: headless Chromium with the project's fixed flags, a fresh
        --user-data-dir, --ignore-certificate-errors-spki-list and --remote-debugging-port=0
        (the page's log through CDP)
      --browser firefox: headless Firefox ESR with a fresh profile holding ssebench's user.js
        (--user-js, written by `cargo run -p browser --example firefox_user_js`) and a
        cert_override.txt for 127.0.0.1:<port> and localhost:<port> only, the environment
        MOZ_DISABLE_NONLOCAL_CONNECTIONS=1 MOZ_CRASHREPORTER_DISABLE=1, and
        --remote-debugging-port 0 (WebDriver BiDi: navigation and the page's console log)
  * kills the browser (its process group) and the server after --duration seconds
  * writes <out>/frames.jsonl (every event), <out>/page.log (the page's console log),
    <out>/summary.txt (derived facts, summary.py); <out> defaults to
    scripts/<browser>-h2-capture/runs/<name>, beside that browser's findings

All timestamps are seconds since the server started (time.monotonic based).
"""
import argparse
import asyncio
import json
import os
import shutil
import ssl
import sys
import tempfile
import threading
import time

from conn import Conn, now
from summary import summarize

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(SCRIPTS, "lib"))
import browsers  # noqa: E402


class Log:
    def __init__(self, path, quiet_data):
        self.f = open(path, "w")
        self.quiet_data = quiet_data
        self.lock = threading.Lock()

    def ev(self, **kw):
        kw = {"t": now(), **kw}
        line = json.dumps(kw, sort_keys=False)
        with self.lock:
            self.f.write(line + "\n")
            self.f.flush()
        if not (self.quiet_data and kw.get("ev") in ("send_data", "recv_frame") and
                kw.get("type") in ("DATA",)):
            if kw.get("ev") != "send_data":
                print(line, flush=True)

    def close(self):
        self.f.close()


# ---------------------------------------------------------------- page ----
PAGE = r"""<!doctype html><html><head><meta charset="utf-8"><title>h2cap</title>
<link rel="icon" href="data:,"></head><body><pre id="o"></pre><script>
const cfg = %(cfg)s;
window.__log = [];
function L(m){ const s = performance.now().toFixed(1) + ' ' + m; window.__log.push(s); console.log('PAGE ' + s); }
let esn = 0;
function openES(tag){
  const k = tag;
  const es = new EventSource(cfg.es_origin + '/events?i=' + k);
  let c = 0;
  es.onopen = () => L('es_open ' + k);
  es.onmessage = (e) => { c++; if (c === 1) L('es_first_msg ' + k); };
  es.onerror = () => { L('es_error ' + k + ' readyState=' + es.readyState + ' msgs=' + c);
                       if (cfg.close_on_error) es.close(); };
  esn++;
  return es;
}
function doPost(tag){
  L('post_start ' + tag);
  const opts = {method: 'POST', body: 'x'};
  if (cfg.post_priority) opts.priority = cfg.post_priority;
  fetch('/messages?i=' + tag, opts)
    .then(r => r.text().then(t => L('post_done ' + tag + ' status=' + r.status)))
    .catch(e => L('post_err ' + tag + ' ' + e));
}
L('script_start n=' + cfg.n);
for (let k = 0; k < cfg.n; k++) openES(k);
L('opened ' + cfg.n);
if (cfg.post_after_ms >= 0) setTimeout(() => doPost('p0'), cfg.post_after_ms);
if (cfg.late_count > 0) setTimeout(() => {
  let j = 0;
  const h = setInterval(() => {
    if (j >= cfg.late_count) { clearInterval(h); return; }
    if (cfg.late_kind === 'es' || (cfg.late_kind === 'mix' && j %% 2 === 0)) openES('late' + j);
    else doPost('late' + j);
    j++;
  }, cfg.late_every_ms);
}, cfg.late_start_ms);
</script></body></html>
"""


# ---------------------------------------------------------------- server ----
class Server:
    def __init__(self, args, log):
        self.args = args
        self.log = log
        self.conns = []
        self.refused_paths = set()
        self.end_after = {}
        for spec in args.end_stream:
            i, ms = spec.split(":")
            self.end_after[i] = int(ms)
        self.page_cfg = {
            "n": args.n, "post_after_ms": args.post_after_ms,
            "late_count": args.late_count, "late_every_ms": args.late_every_ms,
            "late_kind": args.late_kind, "late_start_ms": args.late_start_ms, "post_priority": args.post_priority, "es_origin": "", "close_on_error": args.close_on_error,
        }

    def page(self):
        return PAGE % {"cfg": json.dumps(self.page_cfg)}

    async def handle(self, reader, writer):
        c = Conn(self, reader, writer)
        try:
            await c.run()
        except Exception as e:  # noqa
            self.log.ev(ev="conn_exception", conn=c.cid, err=repr(e))
        finally:
            try:
                writer.close()
            except Exception:
                pass


# ---------------------------------------------------------------- browsers ----
class Driver(threading.Thread):
    """One browser on a fresh profile, and the reader of its page's console (which also loads
    the page after --nav-delay with --nav cdp|bidi)."""

    def __init__(self, args, log, cert, port):
        super().__init__(daemon=True)
        self.args, self.log, self.cert, self.port = args, log, cert, port
        self.profile = tempfile.mkdtemp(prefix="h2cap-%s-" % self.kind)
        self.stop = threading.Event()
        self.lines = []

    def launch(self, url):
        out = os.path.join(self.args.out, self.kind)
        cmd, self.proc = self.start_browser(url if self.args.nav == "arg" else None,
                                            out + ".stdout", out + ".stderr")
        self.log.ev(ev=self.kind + "_cmd", cmd=cmd)
        self.log.ev(ev=self.kind + "_pid", pid=self.proc.pid)
        self.url = url
        self.start()

    def run(self):
        with open(os.path.join(self.args.out, "page.log"), "w") as self.page_log:
            try:
                remote = self.attach()
            except (TimeoutError, RuntimeError, OSError) as e:
                self.log.ev(ev=self.remote + "_fail", why=str(e))
                return
            remote.pump(stop=self.stop)
            remote.close()

    def navigate_later(self, remote, params):
        if self.args.nav == "arg":
            return
        t_nav = time.time() + self.args.nav_delay
        while time.time() < t_nav and not self.stop.is_set():
            time.sleep(0.02)
        remote.send(self.navigate, params)
        self.log.ev(ev=self.remote + "_navigate_sent", url=self.url)

    def on_event(self, m):
        c = browsers.console(m)
        if c is None:
            return
        kind, txt = c
        if kind == "exception":
            self.log.ev(ev="page_exception", detail=txt)
            return
        line = "%.6f %s" % (now(), txt)
        self.page_log.write(line + "\n")
        self.page_log.flush()
        self.lines.append(line)
        self.log.ev(ev="page", msg=txt)

    def end(self):
        self.stop.set()
        self.log.ev(ev="stopping_" + self.kind)
        browsers.kill_group(self.proc)
        self.join(timeout=3)
        shutil.rmtree(self.profile, ignore_errors=True)
        self.log.ev(ev="done", **{self.kind + "_rc": self.proc.returncode})


class Chromium(Driver):
    kind, binary, remote, navigate = "chromium", browsers.CHROMIUM, "cdp", "Page.navigate"

    def trust(self):
        return {"spki": browsers.spki(self.cert)}

    def start_browser(self, url, out, err):
        extra = []
        if self.args.netlog:
            extra += ["--log-net-log=" + os.path.join(self.args.out, "netlog.json"),
                      "--net-log-capture-mode=Everything"]
        return browsers.launch_chromium(self.profile, extra + self.args.extra_flag, url or "about:blank",
                                        self.trust()["spki"], out, err)

    def attach(self):
        port, _ = browsers.devtools(self.profile, 15, self.stop)
        remote = browsers.Remote(browsers.first_page(port, 15, self.stop), 1, self.on_event)
        remote.send("Runtime.enable")
        self.navigate_later(remote, {"url": self.url})
        return remote


class Firefox(Driver):
    kind, binary, remote, navigate = "firefox", browsers.FIREFOX, "bidi", "browsingContext.navigate"

    def trust(self):
        return {"fingerprint": browsers.fingerprint(self.cert)}

    def start_browser(self, url, out, err):
        browsers.firefox_profile(self.profile, self.args.user_js, self.cert,
                                 ["127.0.0.1:%d" % self.port, "localhost:%d" % self.port])
        return browsers.launch_firefox(self.profile, url=url, out=out, err=err)

    def attach(self):
        remote = browsers.Remote(browsers.bidi_url(self.profile, 30, self.stop), 1, self.on_event)
        remote.call("session.new", {"capabilities": {}}, timeout=10)
        remote.call("session.subscribe", {"events": ["log.entryAdded"]}, timeout=10)
        ctx = remote.call("browsingContext.getTree", {}, timeout=10)["contexts"][0]["context"]
        self.navigate_later(remote, {"context": ctx, "url": self.url, "wait": "none"})
        return remote


DRIVERS = {d.kind: d for d in (Chromium, Firefox)}


# ------------------------------------------------------------------ main ----
async def amain(args):
    os.makedirs(args.out, exist_ok=True)
    log = Log(os.path.join(args.out, "frames.jsonl"), args.quiet_data)
    cert, key = browsers.self_signed(os.path.join(HERE, "certs"))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["h2"])
    srv = Server(args, log)
    server = await asyncio.start_server(srv.handle, "127.0.0.1", 0, ssl=ctx, backlog=64)
    port = server.sockets[0].getsockname()[1]
    browser = DRIVERS[args.browser](args, log, cert, port)
    log.ev(ev="server_listening", port=port, **browser.trust(), args=vars(args))
    url = "https://127.0.0.1:%d/" % port
    if args.es_host:
        srv.page_cfg["es_origin"] = "https://%s:%d" % (args.es_host, port)
    browser.launch(url)
    try:
        await asyncio.sleep(args.duration)
    finally:
        browser.end()
        server.close()
        await asyncio.sleep(0.2)
    log.close()
    s = summarize(args, srv, os.path.join(args.out, "frames.jsonl"))
    open(os.path.join(args.out, "summary.txt"), "w").write(s + "\n")
    print("=" * 70)
    print(s)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--browser", required=True, choices=sorted(DRIVERS))
    ap.add_argument("--name", default="exp")
    ap.add_argument("--out", default=None, help="output dir (default runs/<name>)")
    ap.add_argument("--duration", type=float, default=8.0, help="seconds the browser runs (hard bound)")
    # page
    ap.add_argument("--n", type=int, default=1, help="EventSources opened at load")
    ap.add_argument("--post-after-ms", type=int, default=-1, help="one fetch POST after this delay (-1: none)")
    ap.add_argument("--post-priority", default="", help="fetch() priority option for the POSTs: high|low|auto")
    ap.add_argument("--late-count", type=int, default=0, help="periodic extra requests from the page")
    ap.add_argument("--late-every-ms", type=int, default=500)
    ap.add_argument("--late-start-ms", type=int, default=0, help="delay before the periodic requests start")
    ap.add_argument("--late-kind", default="es", choices=["es", "post", "mix"])
    ap.add_argument("--close-on-error", action="store_true", help="page closes an EventSource on its error event")
    # server
    ap.add_argument("--max-streams", type=int, default=-1, help="SETTINGS_MAX_CONCURRENT_STREAMS (-1: omit)")
    ap.add_argument("--max-streams-later-conns", type=int, default=None)
    ap.add_argument("--extra-setting", action="append", default=[], help="id=value added to server SETTINGS")
    ap.add_argument("--on-excess", default="refuse", choices=["refuse", "accept"],
                    help="what to do with a stream over the advertised limit")
    ap.add_argument("--settings-delay-ms", type=int, default=0, help="hold ALL server output (SETTINGS first) this long")
    ap.add_argument("--settings-delay-from-conn", type=int, default=1,
                    help="apply --settings-delay-ms only to connections with id >= this")
    ap.add_argument("--es-host", default="", help="host name for the EventSource URLs (e.g. localhost: a second "
                    "origin on the same server, so the EventSources start on a fresh connection)")
    ap.add_argument("--settings-change", action="append", default=[], help="MS:VALUE later SETTINGS MAX_CONCURRENT_STREAMS")
    ap.add_argument("--goaway-after", type=int, default=0, help="send GOAWAY(last=current sid) after K requests")
    ap.add_argument("--goaway-conns", type=int, default=1, help="only on connections with id <= this")
    ap.add_argument("--goaway-rst-late", action="store_true", help="RST(REFUSED) streams above last_stream_id instead of ignoring")
    ap.add_argument("--refuse-idx", action="append", default=[], help="EventSource index i to RST REFUSED_STREAM once")
    ap.add_argument("--end-stream", action="append", default=[], help="IDX:MS end /events?i=IDX after MS")
    ap.add_argument("--end-all-ms", type=int, default=0, help="end every /events stream MS after it started")
    ap.add_argument("--es-retry-ms", type=int, default=600000, help="SSE retry: field sent first")
    ap.add_argument("--event-size", type=int, default=40)
    ap.add_argument("--event-interval-ms", type=float, default=100.0)
    ap.add_argument("--max-pending", type=int, default=4 << 20, help="stop generating events when this much is unsent")
    ap.add_argument("--server-conn-window-update", type=int, default=0)
    ap.add_argument("--log-send-data", action="store_true")
    ap.add_argument("--quiet-data", action="store_true", help="do not log each received DATA frame")
    # browser
    ap.add_argument("--nav", default=None, choices=["cdp", "bidi", "arg"],
                    help="cdp (Chromium) / bidi (Firefox), the default: start on about:blank and load the "
                         "page over the remote protocol after --nav-delay s (avoids the startup preconnect "
                         "sockets); arg: page URL as the last command-line argument")
    ap.add_argument("--nav-delay", type=float, default=2.0)
    ap.add_argument("--netlog", action="store_true", help="Chromium: EXTRA flag --log-net-log (not in the fixed set)")
    ap.add_argument("--extra-flag", action="append", default=[], help="Chromium: one more flag")
    ap.add_argument("--user-js", help="Firefox: the user.js crates/browser writes "
                    "(cargo run -q -p browser --example firefox_user_js > user.js)")
    args = ap.parse_args()
    driver = DRIVERS[args.browser]
    args.nav = args.nav or driver.remote
    if args.nav not in (driver.remote, "arg"):
        ap.error("--nav %s is not %s's remote protocol" % (args.nav, args.browser))
    if args.browser == "firefox" and not args.user_js:
        ap.error("--browser firefox needs --user-js")
    if args.browser != "chromium" and (args.netlog or args.extra_flag):
        ap.error("--netlog and --extra-flag are Chromium's")
    if args.out is None:
        args.out = os.path.join(SCRIPTS, args.browser + "-h2-capture", "runs", args.name)
    args.browser_version = browsers.version(driver.binary)
    asyncio.run(amain(args))


if __name__ == "__main__":
    main()
