// Streamed answers in the page, evaluated as `(ANSWERS)(CONFIG)` just before the harness, with
// the same clock (t0 is when this script starts; every time is in milliseconds since t0,
// performance.now()). Each answer is what a chat page does: `fetch()` POSTs the question and a
// ReadableStream reader reads the answer's text/event-stream, parsed here line by line as the
// WHATWG rules say (CR, LF or CRLF, split anywhere; `data:` lines appended; a blank line
// dispatches; comments ignored). Each dispatched event is read in the framing (cfg.framing) as
// the emulation reads it (`sse_wire::answer`): a token (one per event with content), nothing,
// the end marker (`data: [DONE]`, or `message_stop`) or an error. Tokens of one read share its
// instant.
//
// Two schedules, as the emulation's: cfg.tabs tabs, each asking at cfg.firstMs and then
// cfg.thinkMs after its answer ended (at least cfg.retryMs after one that failed); and the
// open-loop answers at cfg.scheduledMs. Nothing is asked at or after cfg.endMs.
// `window.__ssebenchAnswers.snapshot()` freezes every answer asked so far: its scheduled instant,
// when its response head came, its first token, its end, its tokens and the gaps between them,
// and why it failed (an error class name, `network` when fetch or the reader rejected).
(cfg) => {
  const now = () => performance.now();
  const t0 = now();
  const since = () => now() - t0;
  const answers = [];

  const pointer = (value, path) => {
    let v = value;
    for (const raw of path.split("/").slice(1)) {
      const key = raw.replace(/~1/g, "/").replace(/~0/g, "~");
      if (v === null || typeof v !== "object") return undefined;
      v = Array.isArray(v) ? v[Number(key)] : v[key];
    }
    return v;
  };
  const isObject = (v) => v !== null && typeof v === "object" && !Array.isArray(v);
  const nonEmpty = (v) => typeof v === "string" && v !== "";

  // "token", "empty", "end", or an error class name.
  const classify = (type, data) => {
    if (cfg.framing === "openai" && data.trim() === "[DONE]") return "end";
    let v;
    try {
      v = JSON.parse(data);
    } catch (e) {
      return "parse";
    }
    if (cfg.framing === "openai") {
      if (!isObject(v)) return cfg.pointer ? "empty" : "parse";
      if (isObject(v.error)) return "status";
      if (cfg.pointer) return nonEmpty(pointer(v, cfg.pointer)) ? "token" : "empty";
      if (v.choices !== undefined && !Array.isArray(v.choices)) return "parse";
      const choices = v.choices || [];
      return choices.some((c) => c && c.delta && nonEmpty(c.delta.content)) ? "token" : "empty";
    }
    if (!isObject(v)) return "parse";
    const kind = typeof v.type === "string" ? v.type : type;
    if (kind === "message_stop") return "end";
    if (kind === "error") return "status";
    if (cfg.pointer) return nonEmpty(pointer(v, cfg.pointer)) ? "token" : "empty";
    return kind === "content_block_delta" && v.delta && nonEmpty(v.delta.text) ? "token" : "empty";
  };

  // Asks one answer scheduled at `at`; resolves with its record when it ended (completed or
  // failed).
  const ask = (at) => {
    const a = {
      at, head: null, firstToken: null, lastToken: null, done: null, tokens: 0, gaps: [],
      failed: null,
    };
    answers.push(a);
    const fail = (why) => {
      if (a.failed === null && a.done === null) a.failed = why;
    };
    return fetch(cfg.path, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: cfg.body,
    })
      .then(async (r) => {
        a.head = since();
        const type = r.headers.get("content-type") || "";
        if (r.status !== 200 || !type.toLowerCase().startsWith("text/event-stream")) {
          fail("status");
          await r.body.cancel().catch(() => {});
          return;
        }
        const reader = r.body.getReader();
        const decoder = new TextDecoder();
        let text = "";
        let eventType = "";
        let data = [];
        let first = true;
        // One line of the stream; false once the answer is over.
        const line = (l, t) => {
          if (l === "") {
            if (data.length === 0) {
              eventType = "";
              return true;
            }
            const piece = classify(eventType || "message", data.join("\n"));
            eventType = "";
            data = [];
            if (piece === "token") {
              a.tokens++;
              if (a.firstToken === null) a.firstToken = t;
              else a.gaps.push(t - a.lastToken);
              a.lastToken = t;
            } else if (piece === "end") {
              a.done = t;
              return false;
            } else if (piece !== "empty") {
              fail(piece);
              return false;
            }
            return true;
          }
          if (l.startsWith(":")) return true;
          const colon = l.indexOf(":");
          const field = colon < 0 ? l : l.slice(0, colon);
          let value = colon < 0 ? "" : l.slice(colon + 1);
          if (value.startsWith(" ")) value = value.slice(1);
          if (field === "data") data.push(value);
          else if (field === "event") eventType = value;
          return true;
        };
        for (;;) {
          const { value, done } = await reader.read();
          if (done) {
            fail("reset");
            return;
          }
          const t = since();
          text += decoder.decode(value, { stream: true });
          if (first) {
            if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
            first = false;
          }
          for (;;) {
            const m = /\r\n|\r|\n/.exec(text);
            // A CR at the very end may be the first half of a CRLF.
            if (!m || (m[0] === "\r" && m.index === text.length - 1)) break;
            const l = text.slice(0, m.index);
            text = text.slice(m.index + m[0].length);
            if (!line(l, t)) {
              await reader.cancel().catch(() => {});
              return;
            }
          }
        }
      })
      .catch(() => fail("network"))
      .then(() => a);
  };

  const tab = async () => {
    let at = cfg.firstMs;
    while (at < cfg.endMs) {
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - since())));
      const asked = await ask(at);
      const ended = since();
      at = ended + (asked.failed === null ? cfg.thinkMs : Math.max(cfg.thinkMs, cfg.retryMs));
    }
  };
  for (let i = 0; i < cfg.tabs; i++) tab();
  for (const at of cfg.scheduledMs) {
    if (at < cfg.endMs) setTimeout(() => ask(at), Math.max(0, at - since()));
  }

  window.__ssebenchAnswers = {
    snapshot: () => JSON.parse(JSON.stringify(answers)),
  };
  return answers.length;
}
