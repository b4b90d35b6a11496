// The page side of a browser point, evaluated as `(HARNESS)(CONFIG)` in a same-origin page.
//
// t0 is when this script starts. It creates cfg.streams EventSources at once, recording when each
// was created, opened (its 200 text/event-stream) and got its first event (`tick` or `message`).
// Each POST fires at its scheduled instant (cfg.posts[k].atMs after t0, computed by the caller as
// the emulation does) and records when its response was read to the end. At
// warmupMs + durationMs the state is frozen into a plain object that `window.__ssebench.done`
// resolves with; nothing is closed, so the connections stay as they were until the tab goes.
// Every time is in milliseconds since t0 (performance.now(), monotonic).
//
// With cfg.websocketUrl (the ws and wss arms) the streams are WebSockets to that URL instead: a
// socket's `opened` is its first `open` (the 101), its events are its text messages. The POSTs
// are sent on socket 0 instead of fetched (queued while it is not open, as a chat page must: a
// socket throws while connecting and drops what is sent once closed), and a POST is done when
// the message carrying its token comes back on socket 0 (its echo); its status stays null. A
// socket that closes is opened again after cfg.reconnectMs, as a chat page's own loop would.
(cfg) => {
  const now = () => performance.now();
  const t0 = now();
  const since = () => now() - t0;
  const streams = [];
  const sources = [];
  if (cfg.websocketUrl) return websockets(cfg, since, streams, sources);
  for (let i = 0; i < cfg.streams; i++) {
    const s = { created: since(), opened: null, firstEvent: null, opens: 0, events: 0, errors: 0 };
    const es = new EventSource(cfg.eventsPath);
    es.addEventListener("open", () => {
      s.opens++;
      if (s.opened === null) s.opened = since();
    });
    const onEvent = () => {
      s.events++;
      if (s.firstEvent === null) s.firstEvent = since();
    };
    es.addEventListener("tick", onEvent);
    es.addEventListener("message", onEvent);
    es.addEventListener("error", () => {
      s.errors++;
    });
    streams.push(s);
    sources.push(es);
  }
  const posts = cfg.posts.map((p) => {
    const post = { at: p.atMs, fired: null, done: null, status: null, failed: null };
    setTimeout(() => {
      post.fired = since();
      fetch(cfg.messagesPath, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: p.body,
      })
        .then((r) =>
          r.text().then(() => {
            post.status = r.status;
            post.done = since();
          }),
        )
        .catch((e) => {
          post.failed = String(e);
        });
    }, Math.max(0, p.atMs - since()));
    return post;
  });
  const end = cfg.warmupMs + cfg.durationMs;
  window.__ssebench = {
    sources,
    done: new Promise((resolve) => {
      setTimeout(() => {
        const snapshot = {
          endedAt: since(),
          visibility: document.visibilityState,
          streams: streams.map((s, i) => ({ ...s, readyState: sources[i].readyState })),
          posts,
        };
        resolve(JSON.parse(JSON.stringify(snapshot)));
      }, Math.max(0, end - since()));
    }),
  };
  return { visibility: document.visibilityState, streams: streams.length, posts: posts.length };

  // The WebSocket arms.
  function websockets(cfg, since, streams, sources) {
    const outbox = [];
    const waiting = new Map();
    const flush = () => {
      const ws = sources[0];
      while (ws && ws.readyState === 1 && outbox.length > 0) {
        const post = outbox.shift();
        ws.send(post.body);
      }
    };
    const open = (i) => {
      const s = streams[i];
      const ws = new WebSocket(cfg.websocketUrl);
      sources[i] = ws;
      ws.addEventListener("open", () => {
        s.opens++;
        if (s.opened === null) s.opened = since();
        if (i === 0) flush();
      });
      ws.addEventListener("message", (e) => {
        s.events++;
        if (s.firstEvent === null) s.firstEvent = since();
        if (i !== 0 || typeof e.data !== "string") return;
        const m = /"ssebench_token":\s*(\d+)/.exec(e.data);
        const post = m && waiting.get(Number(m[1]));
        if (post) {
          post.done = since();
          waiting.delete(Number(m[1]));
        }
      });
      ws.addEventListener("error", () => {
        s.errors++;
      });
      ws.addEventListener("close", () => {
        if (!closing) setTimeout(() => open(i), cfg.reconnectMs);
      });
    };
    let closing = false;
    for (let i = 0; i < cfg.streams; i++) {
      streams.push({ created: since(), opened: null, firstEvent: null, opens: 0, events: 0, errors: 0 });
      open(i);
    }
    const posts = cfg.posts.map((p) => {
      const post = { at: p.atMs, fired: null, done: null, status: null, failed: null };
      const token = Number(/"ssebench_token":(\d+)/.exec(p.body)[1]);
      setTimeout(() => {
        post.fired = since();
        waiting.set(token, post);
        outbox.push({ body: p.body });
        flush();
      }, Math.max(0, p.atMs - since()));
      return post;
    });
    const end = cfg.warmupMs + cfg.durationMs;
    window.__ssebench = {
      sources,
      done: new Promise((resolve) => {
        setTimeout(() => {
          closing = true;
          const snapshot = {
            endedAt: since(),
            visibility: document.visibilityState,
            streams: streams.map((s, i) => ({ ...s, readyState: sources[i].readyState })),
            posts,
          };
          resolve(JSON.parse(JSON.stringify(snapshot)));
        }, Math.max(0, end - since()));
      }),
    };
    return { visibility: document.visibilityState, streams: streams.length, posts: posts.length };
  }
}
