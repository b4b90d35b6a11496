"""The per-connection view of one capture (h2cap.py's summary.txt, what the FINDINGS quote), read
back from its frames.jsonl."""
import json


def summarize(args, srv, path):
    evs = [json.loads(l) for l in open(path)]
    out = []
    P = out.append
    P("experiment: %s" % args.name)
    P("%s --version: %s" % (args.browser, args.browser_version))
    P("server: max_streams=%s settings_delay_ms=%s settings_change=%s goaway_after=%s refuse=%s end_stream=%s"
      % (args.max_streams if args.max_streams >= 0 else "omitted", args.settings_delay_ms,
         args.settings_change, args.goaway_after, args.refuse_idx, args.end_stream))
    P("page: n=%d post_after_ms=%d late=%d x %s every %d ms" % (
        args.n, args.post_after_ms, args.late_count, args.late_kind, args.late_every_ms))
    accepts = [e for e in evs if e["ev"] == "tls_accept"]
    P("TLS accepts: %d  %s" % (len(accepts), [(e["conn"], e["t"], e["alpn"]) for e in accepts]))
    used = [c.cid for c in srv.conns if any(e.get("conn") == c.cid and e["ev"] == "recv_headers" for e in evs)]
    pref = [c.cid for c in srv.conns if any(e.get("conn") == c.cid and e["ev"] == "recv_preface" for e in evs)]
    P("connections that sent the h2 preface: %d %s; that carried requests: %d %s" % (len(pref), pref, len(used), used))
    for c in srv.conns:
        cid = c.cid
        ce = [e for e in evs if e.get("conn") == cid]
        P("--- conn %d ---" % cid)
        for e in ce:
            if e["ev"] == "recv_frame" and e["type"] == "SETTINGS" and "ACK" not in e["flags"]:
                P("  client SETTINGS @%.3f: %s order=%s" % (e["t"], e["settings"], e["settings_order"]))
        wu = [e for e in ce if e["ev"] == "recv_frame" and e["type"] == "WINDOW_UPDATE"]
        P("  client WINDOW_UPDATEs: %d" % len(wu))
        for e in wu[:60]:
            P("    @%.3f sid=%d increment=%d  (server had sent: conn %s B, stream %s B; window before: conn %s, stream %s)" % (
                e["t"], e["sid"], e["increment"], e.get("conn_data_bytes_sent"), e.get("stream_data_bytes_sent"),
                e.get("conn_window_before"), e.get("stream_window_before")))
        other = [e for e in ce if e["ev"] == "recv_frame" and e["type"] not in
                 ("SETTINGS", "WINDOW_UPDATE", "DATA")]
        for e in other:
            P("  client %s @%.3f %s" % (e["type"], e["t"], {k: v for k, v in e.items() if k not in ("t", "ev", "conn")}))
        ack = [e for e in ce if e["ev"] == "recv_frame" and e["type"] == "SETTINGS" and "ACK" in e["flags"]]
        P("  client SETTINGS ACKs at: %s" % [x["t"] for x in ack])
        hs = [e for e in ce if e["ev"] == "recv_headers"]
        nb = sum(1 for e in hs if e["before_our_settings_ack"])
        P("  HEADERS received: %d (before our SETTINGS were ACKed: %d)" % (len(hs), nb))
        for e in hs:
            P("    @%.3f sid=%-4d %-4s %-24s prio_hdr=%-8s h2prio=%s open=%d%s%s%s" % (
                e["t"], e["sid"], e["method"], e["path"], e["priority_hdr"], e["h2_priority"],
                e["open_streams"], " BEFORE-ACK" if e["before_our_settings_ack"] else "",
                " OVER-LIMIT" if e["over_advertised_limit"] else "",
                " AFTER-GOAWAY" if e["after_goaway"] else ""))
        for e in ce:
            if e["ev"] in ("send_frame",) and e["type"] in ("RST_STREAM", "GOAWAY", "SETTINGS") \
                    and "ACK" not in e["flags"]:
                P("  server sent %s @%.3f %s" % (e["type"], e["t"], {k: v for k, v in e.items() if k not in ("t", "ev", "conn", "type")}))
            if e["ev"] in ("server_ends_stream", "server_output_released", "eof", "conn_closed"):
                P("  %s @%.3f %s" % (e["ev"], e["t"], {k: v for k, v in e.items() if k not in ("t", "ev", "conn")}))
        P("  max concurrently open streams (server view): %d" % c.max_open)
    pg = [e for e in evs if e["ev"] == "page"]
    if pg:
        P("--- page log (%d lines; first 60) ---" % len(pg))
        for e in pg[:60]:
            P("  @%.3f %s" % (e["t"], e["msg"]))
    return "\n".join(out)

