"""The page a run loads: K EventSources, then POSTs, as crates/browser/src/harness.js does.

Each EventSource gets its own index in the query (`/events?channel=cap&i=K`) so the capture can
tell the requests apart; the harness's streams all use one path, which changes nothing on the wire
but the path. A POST is `fetch('/messages', {method: 'POST'})` with a JSON body, as the harness's.
Every line the page logs goes to the console as `PAGE <ms since the script started> <what>`.
"""
import json

PAGE = r"""<!doctype html><html><head><meta charset="utf-8"><title>h3cap</title>
<link rel="icon" href="data:,"></head><body><script>
const cfg = %(cfg)s;
const t0 = performance.now();
function L(m) { console.log('PAGE ' + (performance.now() - t0).toFixed(1) + ' ' + m); }
function proto(url) {
  const e = performance.getEntriesByName(new URL(url, location.href).href);
  return e.length ? e[e.length - 1].nextHopProtocol : '?';
}
const nav = performance.getEntriesByType('navigation')[0];
L('script_start n=' + cfg.n + ' page_protocol=' + (nav ? nav.nextHopProtocol : '?'));
function openES(tag) {
  const es = new EventSource(cfg.es_origin + '/events?channel=cap&i=' + tag);
  let opens = 0, msgs = 0, errors = 0;
  es.onopen = () => { opens++; L('es_open ' + tag + ' opens=' + opens); };
  const onEvent = () => { msgs++; if (msgs === 1) L('es_first_event ' + tag); };
  es.addEventListener('tick', onEvent);
  es.onmessage = onEvent;
  es.onerror = () => {
    errors++;
    L('es_error ' + tag + ' readyState=' + es.readyState + ' errors=' + errors + ' events=' + msgs);
    if (cfg.close_on_error) es.close();
  };
  return es;
}
function doPost(tag) {
  L('post_start ' + tag);
  const url = '/messages?i=' + tag;
  fetch(url, {method: 'POST', headers: {'content-type': 'application/json'},
              body: JSON.stringify({ssebench_token: tag, pad: 'xxxxxxxx'})})
    .then(r => r.text().then(() => L('post_done ' + tag + ' status=' + r.status + ' protocol=' + proto(url))))
    .catch(e => L('post_failed ' + tag + ' ' + e));
}
for (let k = 0; k < cfg.n; k++) openES(k);
L('opened ' + cfg.n);
for (let j = 0; j < cfg.posts; j++) setTimeout(() => doPost('p' + j), cfg.post_after_ms + j * cfg.post_every_ms);
for (let j = 0; j < cfg.late; j++) setTimeout(() => openES('late' + j), cfg.late_after_ms + j * cfg.late_every_ms);
</script></body></html>
"""


def page_html(args, es_origin=""):
    cfg = {
        "n": args.k,
        "posts": args.posts,
        "post_after_ms": args.post_after_ms,
        "post_every_ms": args.post_every_ms,
        "late": args.late,
        "late_after_ms": args.late_after_ms,
        "late_every_ms": args.late_every_ms,
        "close_on_error": args.close_on_error,
        "es_origin": es_origin,
    }
    return (PAGE % {"cfg": json.dumps(cfg)}).encode()


def add_page_args(ap):
    g = ap.add_argument_group("page")
    g.add_argument("--k", type=int, default=5, help="EventSources opened at load")
    g.add_argument("--posts", type=int, default=1, help="POSTs sent after the EventSources")
    g.add_argument("--post-after-ms", type=int, default=500, help="first POST this long after the script starts")
    g.add_argument("--post-every-ms", type=int, default=1000, help="gap between POSTs")
    g.add_argument("--late", type=int, default=0, help="EventSources opened later, one every --late-every-ms")
    g.add_argument("--late-after-ms", type=int, default=3000)
    g.add_argument("--late-every-ms", type=int, default=500)
    g.add_argument("--close-on-error", action="store_true",
                   help="the page closes an EventSource on its first error (default: it reconnects by itself)")
