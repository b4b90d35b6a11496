"""summary.txt: the per-connection view of one run's events.jsonl (what FINDINGS.md quotes)."""
import collections
import json

SERVER_ACTIONS = ("server_goaway", "server_reset", "server_connection_close", "server_silent",
                  "server_raises_max_streams", "request_ignored_above_goaway", "server_ends_stream",
                  "client_reset_stream", "client_stop_sending", "client_settings_would_fail_aioquic",
                  "tick_failed")


def short(e, drop=("t", "ev", "conn")):
    return " ".join("%s=%s" % (k, json.dumps(v) if isinstance(v, (list, dict)) else v)
                    for k, v in e.items() if k not in drop)


def summarize(args, path):
    evs = [json.loads(line) for line in open(path)]
    out = []
    P = out.append
    P("experiment: %s" % args.name)
    P("browser: %s (%s)" % (args.browser_version, args.browser))
    P("server: max_streams=%d credit=%s raise=%s goaway_at_ms=%s goaway_after=%s goaway_back=%s goaway_late=%s "
      "reset=%s close_at_ms=%s silence_at_ms=%s end_stream_ms=%s idle_timeout=%ss retry_ms=%s tcp_serve=%s"
      % (args.max_streams, args.credit, args.raise_streams, args.goaway_at_ms, args.goaway_after,
         args.goaway_back, args.goaway_late, args.reset, args.close_at_ms, args.silence_at_ms,
         args.end_stream_ms, args.idle_timeout, args.retry_ms, args.tcp_serve))
    P("page: k=%d posts=%d post_after_ms=%d late=%d close_on_error=%s" % (
        args.k, args.posts, args.post_after_ms, args.late, args.close_on_error))
    nav = [e for e in evs if e["ev"] == "navigate"]
    if nav:
        P("navigate @%.3f" % nav[0]["t"])
    stop = [e["t"] for e in evs if e["ev"] == "stopping_browser"]
    if stop:
        P("browser stopped @%.3f (anything later is the capture shutting down)" % stop[0])
    conns = [e for e in evs if e["ev"] == "quic_connection"]
    used = sorted({e["conn"] for e in evs if e["ev"] == "request"})
    P("QUIC connections: %d; that carried requests: %d %s" % (len(conns), len(used), used))
    tcp = [e for e in evs if e["ev"].startswith("tcp_")]
    P("TCP connections: %d  %s" % (sum(1 for e in tcp if e["ev"] == "tcp_accept"),
                                   ["@%.3f %s" % (e["t"], short(e)) for e in tcp][:12]))
    for c in conns:
        cid = c["conn"]
        ce = [e for e in evs if e.get("conn") == cid]
        P("--- QUIC conn %d (started @%.3f, scripted actions: %s) ---" % (cid, c["t"], c["acting"]))
        for e in ce:
            if e["ev"] == "client_transport_parameters":
                P("  client transport parameters (wire order):")
                for ident, name, value in e["params"]:
                    P("    %-10s %-38s %s" % (ident, name, value))
            elif e["ev"] == "handshake_completed":
                P("  handshake completed @%.3f alpn=%s resumed=%s early_data=%s" % (
                    e["t"], e["alpn"], e["resumed"], e["early_data"]))
            elif e["ev"] == "client_uni_stream":
                P("  client uni stream @%.3f sid=%d %s" % (e["t"], e["sid"], e["stream_type"]))
            elif e["ev"] == "client_control_frame" and not e["frame"].startswith("PRIORITY_UPDATE"):
                P("  client control frame @%.3f %s" % (e["t"], short(e, ("t", "ev", "conn", "sid"))))
        pu = [e for e in ce if e["ev"] == "client_control_frame" and e["frame"].startswith("PRIORITY_UPDATE")]
        pu_by_sid = {e["element_id"]: e["priority_field"] for e in pu}
        P("  PRIORITY_UPDATE frames: %d (fields: %s)" % (len(pu), dict(collections.Counter(pu_by_sid.values()))))
        reqs = [e for e in ce if e["ev"] == "request"]
        P("  requests: %d (open = requests open on this connection, server view, this one included)" % len(reqs))
        for e in reqs:
            flags = (" AFTER-GOAWAY" if e["after_goaway"] else "") + (" ABOVE-GOAWAY" if e["above_goaway"] else "")
            P("    @%.3f sid=%-3d #%-3d %-4s %-28s prio=%-8s update=%-8s open=%-3d max_streams=%d%s" % (
                e["t"], e["sid"], e["idx"], e["method"], e["path"], e["priority"],
                pu_by_sid.get(e["sid"], "-"), e["open"], e["max_streams"], flags))
        P("  max open at once (server view): %d" % max([e["open"] for e in reqs] or [0]))
        for e in ce:
            if e["ev"] == "recv_frame" and not (e["frame_type"] == "ping" and e["packet"] != "1RTT"):
                P("  client %s @%.3f %s" % (e["frame_type"].upper(), e["at"], short(e, ("t", "ev", "conn", "at", "frame_type"))))
            elif e["ev"] == "send_frame" and e["frame_type"] != "handshake_done":
                P("  server sent %s @%.3f %s" % (e["frame_type"].upper(), e["at"], short(e, ("t", "ev", "conn", "at", "frame_type"))))
            elif e["ev"] in SERVER_ACTIONS or e["ev"] == "max_streams_withheld":
                P("  %s @%.3f %s" % (e["ev"], e["t"], short(e)))
            elif e["ev"] == "conn_final":
                P("  at the end: closed=%s client MAX_DATA=%s data sent=%s frame counts=%s" % (
                    e["closed"], e["client_max_data"], e["sent_data"], e["frame_counts"]))
                for sid, st in sorted(e["streams"].items(), key=lambda kv: int(kv[0]))[:12]:
                    P("    sid=%s %s sent=%d client MAX_STREAM_DATA=%s" % (sid, st["req"], st["sent"], st["client_max_stream_data"]))
            elif e["ev"] == "connection_terminated":
                P("  connection terminated @%.3f code=%s (%s) reason=%r requests=%d dropped_while_silent=%d" % (
                    e["t"], e["error_code"], e["error_name"], e["reason"], e["requests"], e["dropped_while_silent"]))
                P("  frame counts: %s" % e["frame_counts"])
    resp = [e for e in evs if e["ev"] == "browser_response"]
    P("--- browser side ---")
    P("responses by protocol: %s" % dict(collections.Counter(e["protocol"] for e in resp)))
    for e in evs:
        if e["ev"] == "browser_failed":
            P("  failed @%.3f %s" % (e["t"], short(e)))
        elif e["ev"] == "remote_failed":
            P("  REMOTE FAILED %s" % short(e))
    pg = [e for e in evs if e["ev"] == "page"]
    P("--- page log (%d lines; ms since the page script started) ---" % len(pg))
    for e in pg[:120]:
        P("  @%.3f %s" % (e["t"], e["msg"]))
    return "\n".join(out)
