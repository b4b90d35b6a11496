#!/usr/bin/env python3
"""h3cap.py: an HTTP/3 capture server on loopback and a browser that loads its page.

One run = one experiment, bounded by --duration:
  * makes (once) a self-signed P-256 certificate for 127.0.0.1 and localhost in certs/;
  * listens on 127.0.0.1:PORT for QUIC (ALPN h3 only) and on the same TCP port (logs any TCP
    connection: a browser racing or falling back to TCP shows there);
  * starts Chromium or Firefox (drivers.py) and loads https://127.0.0.1:PORT/ after --nav-delay;
  * logs every event to runs/NAME/events.jsonl and writes runs/NAME/summary.txt.
Times are seconds since the capture started.
"""
import argparse
import asyncio
import os
import socket
import sys

from aioquic.asyncio import serve
from aioquic.quic.configuration import QuicConfiguration

import drivers
import h3server
import page
import summary
import tcpside
import wire
from caplog import HERE, Cert, Log


class Server:
    def __init__(self, args, log):
        self.args, self.log = args, log
        self.conns = []
        self.page = page.page_html(args)
        self.reset_rules = []
        for spec in args.reset:  # MATCH@MS[:CODE]
            match, rest = spec.rsplit("@", 1)
            ms, _, code = rest.partition(":")
            self.reset_rules.append({"match": match, "ms": int(ms), "done": False,
                                     "code": wire.parse_error_code(code or "H3_REQUEST_CANCELLED")})


def free_port():
    """A port number free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("127.0.0.1", 0))
        port = u.getsockname()[1]
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            t.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            u.close()
            t.close()
    raise RuntimeError("no port free for both UDP and TCP")


async def amain(args):
    os.makedirs(args.out, exist_ok=True)
    log = Log(os.path.join(args.out, "events.jsonl"), echo=not args.quiet)
    cert = Cert()
    srv = Server(args, log)
    cfg = QuicConfiguration(is_client=False, alpn_protocols=["h3"], idle_timeout=args.idle_timeout,
                            max_data=args.max_data, max_stream_data=args.max_stream_data,
                            quic_logger=h3server.LiveLogger(srv))
    cfg.load_cert_chain(cert.cert, cert.key)
    port = args.port or free_port()
    quic = await serve("127.0.0.1", port, configuration=cfg,
                       create_protocol=lambda quic, **kw: h3server.Conn(quic, srv, **kw))
    tcp = await tcpside.TcpSide(srv).start(port, cert)
    log.ev("listening", port=port, spki=cert.spki, fingerprint=cert.fingerprint, args=vars(args))
    b = drivers.launch(args, log, port, cert, args.out)
    try:
        for _ in range(400):  # the browser's start, bounded at 40 s
            if b.navigated.is_set() or b.p.poll() is not None:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(args.duration)
    finally:
        for c in srv.conns:
            c.final()
        log.ev("stopping_browser")
        b.kill()
        await asyncio.sleep(0.3)
        log.ev("done", browser_rc=b.p.returncode)
        quic.close()
        tcp.close()
    log.close()
    text = summary.summarize(args, os.path.join(args.out, "events.jsonl"))
    with open(os.path.join(args.out, "summary.txt"), "w") as f:
        f.write(text + "\n")
    print("=" * 70)
    print(text)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--name", default="exp")
    ap.add_argument("--out", default=None, help="output directory (default runs/NAME)")
    ap.add_argument("--duration", type=float, default=10.0, help="seconds the run lasts after the page load starts")
    ap.add_argument("--quiet", action="store_true", help="do not echo events to stdout")
    ap.add_argument("--port", type=int, default=0)
    page.add_page_args(ap)
    s = ap.add_argument_group("server")
    s.add_argument("--max-streams", type=int, default=100,
                   help="initial_max_streams_bidi the server grants (a count of streams, not a concurrency)")
    s.add_argument("--credit", choices=["replenish", "none"], default="replenish",
                   help="replenish: one more stream for each finished one (aioquic, quinn); "
                        "none: never more than --max-streams (and --raise-streams)")
    s.add_argument("--raise-streams", action="append", default=[], metavar="MS:TOTAL",
                   help="send MAX_STREAMS(bidi)=TOTAL MS after the connection started")
    s.add_argument("--max-streams-uni", type=int, default=100)
    s.add_argument("--max-data", type=int, default=1 << 20, help="initial_max_data (aioquic doubles it as used)")
    s.add_argument("--max-stream-data", type=int, default=1 << 20)
    s.add_argument("--idle-timeout", type=float, default=30.0, help="the server's max_idle_timeout, seconds")
    s.add_argument("--act-conns", type=int, default=1, help="scripted actions apply to connections 1..N")
    s.add_argument("--goaway-at-ms", type=int, default=None, help="GOAWAY this long after the connection started")
    s.add_argument("--goaway-after", type=int, default=0, help="GOAWAY right after the N-th request")
    s.add_argument("--goaway-back", type=int, default=0,
                   help="GOAWAY id = next unseen request stream id - 4*K (K requests already seen are above it)")
    s.add_argument("--goaway-late", choices=["ignore", "reject"], default="reject",
                   help="requests at or above the GOAWAY id: no answer, or RESET_STREAM+STOP_SENDING H3_REQUEST_REJECTED")
    s.add_argument("--goaway-close-ms", type=int, default=None, help="CONNECTION_CLOSE this long after the GOAWAY")
    s.add_argument("--reset", action="append", default=[], metavar="MATCH@MS[:CODE]",
                   help="reset the first request whose 'METHOD PATH' contains MATCH, MS after it arrived "
                        "(MS=0: at once, in place of the response)")
    s.add_argument("--close-at-ms", type=int, default=None, help="CONNECTION_CLOSE this long after the connection started")
    s.add_argument("--close-code", default="H3_NO_ERROR")
    s.add_argument("--silence-at-ms", type=int, default=None,
                   help="from then on drop every datagram of the connection both ways (an idle timeout follows)")
    s.add_argument("--end-stream-ms", type=int, default=0, help="end each event stream (FIN) this long after it started")
    s.add_argument("--retry-ms", type=int, default=3000, help="the retry: field sent first on each event stream")
    s.add_argument("--tick-ms", type=float, default=1000)
    s.add_argument("--tick-pad", type=int, default=40, help="padding bytes in each tick's data")
    s.add_argument("--tcp-serve", action="store_true",
                   help="serve the routes over HTTP/1.1 on TCP too, with Alt-Svc: h3 (default: TCP is only logged)")
    b = ap.add_argument_group("browser")
    b.add_argument("--browser", choices=["chromium", "firefox"], default="chromium")
    b.add_argument("--nav-delay", type=float, default=2.0, help="seconds on about:blank before the page is loaded")
    b.add_argument("--chromium-quic", choices=["force", "altsvc"], default="force",
                   help="force: --origin-to-force-quic-on; altsvc: learn HTTP/3 from the TCP side's Alt-Svc")
    b.add_argument("--netlog", action="store_true", help="Chromium: add --log-net-log (cross-check only)")
    b.add_argument("--extra-flag", action="append", default=[], help="Chromium: one more flag")
    b.add_argument("--user-js", default=os.path.join(HERE, "runs", "user.js"),
                   help="Firefox: the project's user.js (cargo run -q -p browser --example firefox_user_js)")
    b.add_argument("--ff-pref", action="append", default=[], metavar="NAME=VALUE", help="Firefox: one more pref")
    b.add_argument("--ff-h3", choices=["mapping", "altsvc"], default="mapping",
                   help="Firefox: mapping: the alt-svc mapping prefs for testing; altsvc: HTTP/3 on, "
                        "learned from the TCP side's Alt-Svc only (use with --tcp-serve)")
    b.add_argument("--ff-warmup-ms", type=int, default=2000,
                   help="Firefox: load /warmup (over TCP) first and wait this long; 0: load the page at once")
    b.add_argument("--moz-log", default="", help="Firefox: MOZ_LOG modules, e.g. nsHttp:5 (cross-check only)")
    args = ap.parse_args()
    if args.out is None:
        args.out = os.path.join(HERE, "runs", args.name)
    args.browser_version = drivers.browser_version(args.browser)
    if args.browser == "firefox" and not os.path.exists(args.user_js):
        sys.exit("no %s: write it with `cargo run -q -p browser --example firefox_user_js > %s`" % (args.user_js, args.user_js))
    asyncio.run(amain(args))


if __name__ == "__main__":
    main()
