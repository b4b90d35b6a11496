//! A small client for the browsers' remote protocols: one WebSocket to the browser endpoint,
//! commands answered by id, and events kept in arrival order. Two dialects of the same shape:
//!
//! | | Chrome DevTools Protocol | WebDriver BiDi |
//! | --- | --- | --- |
//! | command | `{id, method, params, sessionId?}` | `{id, method, params}` |
//! | success | `{id, result}` | `{type: "success", id, result}` |
//! | failure | `{id, error: {code, message}}` | `{type: "error", id, error, message}` |
//! | event | `{method, params, sessionId?}` | `{type: "event", method, params}` |
//! | event scope | the flattened session (`sessionId`) | the browsing context (`params.context`) |
//!
//! Hand-written on tokio-tungstenite and serde_json rather than a CDP or WebDriver crate:
//! ssebench needs a dozen commands and a few events, and no crate feature may ever download a
//! browser. No `Origin` header is sent (Firefox's remote agent refuses a WebSocket handshake whose
//! origin it was not told to allow).
//!
//! Every wait is bounded: each command has a timeout, and so has each wait for an event.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::stream::SplitSink;
use futures_util::{SinkExt as _, StreamExt as _};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::sync::{oneshot, Notify};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::error::RemoteError;

/// How long a command may take unless the caller says otherwise.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Reply = Result<Value, (i64, String)>;

/// Which remote protocol an endpoint speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// The Chrome DevTools Protocol (Chromium).
    Cdp,
    /// WebDriver BiDi (Firefox).
    Bidi,
}

impl Dialect {
    /// Its name in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Cdp => "DevTools",
            Self::Bidi => "WebDriver BiDi",
        }
    }
}

/// One protocol event.
#[derive(Debug, Clone)]
pub struct Event {
    pub method: String,
    pub params: Value,
    /// What it belongs to: the flattened session (CDP) or the browsing context (BiDi); `None` for
    /// browser-level events.
    pub scope: Option<String>,
}

/// A connection to a browser's remote protocol endpoint.
#[derive(Debug)]
pub struct Remote {
    shared: Arc<Shared>,
    reader: JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    dialect: Dialect,
    sink: tokio::sync::Mutex<SplitSink<Socket, Message>>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Reply>>>,
    events: Mutex<Vec<Event>>,
    /// Only events with these methods are kept (the rest, e.g. one per SSE message, are not).
    keep: &'static [&'static str],
    arrived: Notify,
    closed: AtomicBool,
    next_id: AtomicU64,
}

impl Remote {
    /// Connects to `ws_url` (e.g. `ws://127.0.0.1:PORT/devtools/browser/ID` for CDP,
    /// `ws://127.0.0.1:PORT/session` for BiDi), keeping the events whose method is in `keep`.
    pub async fn connect(
        ws_url: &str,
        dialect: Dialect,
        keep: &'static [&'static str],
    ) -> Result<Remote, RemoteError> {
        let connect = tokio_tungstenite::connect_async(ws_url);
        let (socket, _) = tokio::time::timeout(COMMAND_TIMEOUT, connect)
            .await
            .map_err(|_| RemoteError::Timeout {
                method: format!("connect {ws_url}"),
                waited: COMMAND_TIMEOUT,
            })?
            .map_err(|e| RemoteError::Connect {
                protocol: dialect.name(),
                url: ws_url.to_owned(),
                source: Box::new(e),
            })?;
        let (sink, mut stream) = socket.split();
        let shared = Arc::new(Shared {
            dialect,
            sink: tokio::sync::Mutex::new(sink),
            pending: Mutex::new(HashMap::new()),
            events: Mutex::new(Vec::new()),
            keep,
            arrived: Notify::new(),
            closed: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
        });
        let reading = Arc::clone(&shared);
        let reader = tokio::spawn(async move {
            while let Some(Ok(message)) = stream.next().await {
                match message {
                    Message::Text(text) => reading.dispatch(text.as_str()),
                    Message::Close(_) => break,
                    _ => {}
                }
            }
            reading.close();
        });
        Ok(Remote { shared, reader })
    }

    /// Sends a command (CDP: to a page's session, or to the browser with `None`; BiDi: always
    /// `None`, the target is in `params`) and waits at most [`COMMAND_TIMEOUT`] for its result.
    pub async fn call(
        &self,
        method: &str,
        params: Value,
        session: Option<&str>,
    ) -> Result<Value, RemoteError> {
        self.call_within(method, params, session, COMMAND_TIMEOUT)
            .await
    }

    /// [`Remote::call`] with its own timeout (e.g. a script that awaits the end of a point).
    pub async fn call_within(
        &self,
        method: &str,
        params: Value,
        session: Option<&str>,
        timeout: Duration,
    ) -> Result<Value, RemoteError> {
        let shared = &self.shared;
        if shared.closed.load(Ordering::Acquire) {
            return Err(RemoteError::Closed);
        }
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let mut command = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
            debug_assert_eq!(
                shared.dialect,
                Dialect::Cdp,
                "BiDi commands have no session"
            );
            command["sessionId"] = Value::from(s);
        }
        let (tx, rx) = oneshot::channel();
        lock(&shared.pending).insert(id, tx);
        let sent = {
            let mut sink = shared.sink.lock().await;
            tokio::time::timeout(timeout, sink.send(Message::text(command.to_string()))).await
        };
        let forget = || lock(&shared.pending).remove(&id);
        match sent {
            Ok(Ok(())) => {}
            Ok(Err(_)) => {
                forget();
                return Err(RemoteError::Closed);
            }
            Err(_) => {
                forget();
                return Err(timed_out(method, timeout));
            }
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(Ok(result))) => Ok(result),
            Ok(Ok(Err((code, message)))) => Err(RemoteError::Command {
                method: method.to_owned(),
                code,
                message,
            }),
            Ok(Err(_)) => Err(RemoteError::Closed),
            Err(_) => {
                forget();
                Err(timed_out(method, timeout))
            }
        }
    }

    /// How many events have been kept so far: an index for [`Remote::wait_event`] and
    /// [`Remote::events`].
    pub fn event_count(&self) -> usize {
        lock(&self.shared.events).len()
    }

    /// The kept events of one scope (CDP session, BiDi browsing context), from index `from` on.
    pub fn events(&self, scope: &str, from: usize) -> Vec<Event> {
        lock(&self.shared.events)
            .iter()
            .skip(from)
            .filter(|e| e.scope.as_deref() == Some(scope))
            .cloned()
            .collect()
    }

    /// Waits for the first event `method` of `scope` at index `from` or later.
    pub async fn wait_event(
        &self,
        scope: &str,
        method: &str,
        from: usize,
        timeout: Duration,
    ) -> Result<Event, RemoteError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut seen = from;
        loop {
            let arrived = self.shared.arrived.notified();
            tokio::pin!(arrived);
            arrived.as_mut().enable();
            {
                let events = lock(&self.shared.events);
                let found = events
                    .iter()
                    .skip(seen)
                    .find(|e| e.method == method && e.scope.as_deref() == Some(scope));
                if let Some(e) = found {
                    return Ok(e.clone());
                }
                seen = events.len().max(seen);
            }
            if self.shared.closed.load(Ordering::Acquire) {
                return Err(RemoteError::Closed);
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return Err(RemoteError::EventTimeout {
                    event: method.to_owned(),
                    waited: timeout,
                });
            }
        }
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Shared {
    fn dispatch(&self, text: &str) {
        let Ok(mut message) = serde_json::from_str::<Value>(text) else {
            tracing::warn!("unparsable {} message: {text:.200}", self.dialect.name());
            return;
        };
        if let Some(id) = message.get("id").and_then(Value::as_u64) {
            let reply = self.reply(&mut message);
            if let Some(tx) = lock(&self.pending).remove(&id) {
                let _ = tx.send(reply);
            }
            return;
        }
        let Some(method) = message.get("method").and_then(Value::as_str) else {
            return;
        };
        if !self.keep.contains(&method) {
            return;
        }
        let method = method.to_owned();
        let params = message
            .get_mut("params")
            .map(Value::take)
            .unwrap_or_default();
        let scope = match self.dialect {
            Dialect::Cdp => message.get("sessionId"),
            Dialect::Bidi => params.get("context"),
        }
        .and_then(Value::as_str)
        .map(str::to_owned);
        lock(&self.events).push(Event {
            method,
            params,
            scope,
        });
        self.arrived.notify_waiters();
    }

    /// A command's result, or its error as (code, message); BiDi errors have a name, not a code
    /// (code 0, message `"name: message"`).
    fn reply(&self, message: &mut Value) -> Reply {
        let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
        let failed = match self.dialect {
            Dialect::Cdp => message.get("error").map(|error| {
                (
                    error.get("code").and_then(Value::as_i64).unwrap_or(0),
                    text(error, "message").unwrap_or_else(|| "unknown error".to_owned()),
                )
            }),
            Dialect::Bidi => {
                (message.get("type").and_then(Value::as_str) == Some("error")).then(|| {
                    let name = text(message, "error").unwrap_or_else(|| "error".to_owned());
                    let detail = text(message, "message").unwrap_or_default();
                    (0, format!("{name}: {detail}"))
                })
            }
        };
        match failed {
            Some(error) => Err(error),
            None => Ok(message
                .get_mut("result")
                .map(Value::take)
                .unwrap_or_default()),
        }
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        // Dropping the senders fails every waiting call with `Closed`.
        lock(&self.pending).clear();
        self.arrived.notify_waiters();
    }
}

fn timed_out(method: &str, waited: Duration) -> RemoteError {
    RemoteError::Timeout {
        method: method.to_owned(),
        waited,
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::net::TcpListener;

    /// What the fake endpoint sends once it has two commands (their ids and sessions): a dropped
    /// event, a kept one, an error for the second command, then the first command's result.
    fn script(dialect: Dialect, ids: &[(u64, Value)]) -> Vec<Value> {
        match dialect {
            Dialect::Cdp => vec![
                json!({"method": "Noise.ignored", "params": {}, "sessionId": "s"}),
                json!({"method": "Page.loadEventFired", "params": {"t": 1}, "sessionId": "s"}),
                json!({"id": ids[1].0, "error": {"code": -32000, "message": "no such target"}}),
                json!({"id": ids[0].0, "result": {"session": ids[0].1}}),
            ],
            Dialect::Bidi => vec![
                json!({"type": "event", "method": "log.entryAdded", "params": {"context": "s"}}),
                json!({"type": "event", "method": "browsingContext.load",
                       "params": {"context": "s", "t": 1}}),
                json!({"type": "error", "id": ids[1].0, "error": "no such frame",
                       "message": "no such target"}),
                json!({"type": "success", "id": ids[0].0, "result": {"session": "s"}}),
            ],
        }
    }

    /// A fake endpoint playing [`script`], which then closes on the third command.
    async fn fake_endpoint(dialect: Dialect) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/session", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let (tcp, _) = listener.accept().await.unwrap();
            let mut ws = tokio_tungstenite::accept_async(tcp).await.unwrap();
            let mut ids = Vec::new();
            while ids.len() < 2 {
                if let Some(Ok(Message::Text(t))) = ws.next().await {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap();
                    ids.push((v["id"].as_u64().unwrap(), v["sessionId"].clone()));
                }
            }
            for message in script(dialect, &ids) {
                ws.send(Message::text(message.to_string())).await.unwrap();
            }
            let _ = ws.next().await;
            let _ = ws.close(None).await;
        });
        url
    }

    async fn routes_replies_by_id_and_keeps_chosen_events(dialect: Dialect) {
        let url = fake_endpoint(dialect).await;
        let (kept, session) = match dialect {
            Dialect::Cdp => (&["Page.loadEventFired"], Some("s")),
            Dialect::Bidi => (&["browsingContext.load"], None),
        };
        let remote = Remote::connect(&url, dialect, kept).await.unwrap();
        let (first, second) = tokio::join!(
            remote.call("A.first", json!({}), session),
            remote.call("B.second", json!({}), None),
        );
        assert_eq!(first.unwrap(), json!({"session": "s"}));
        let err = second.unwrap_err().to_string();
        assert!(
            err.contains("B.second") && err.contains("no such target"),
            "{err}"
        );
        let event = remote
            .wait_event("s", kept[0], 0, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(event.params["t"], json!(1));
        assert_eq!(
            remote.events("s", 0).len(),
            1,
            "the other event is not kept"
        );
        let missing = remote
            .wait_event("other", kept[0], 0, Duration::from_millis(50))
            .await;
        assert!(matches!(missing, Err(RemoteError::EventTimeout { .. })));
        // The endpoint closes after the next command: the call fails instead of hanging.
        let closed = remote
            .call_within("C.third", json!({}), None, Duration::from_secs(5))
            .await;
        assert!(matches!(closed, Err(RemoteError::Closed)), "{closed:?}");
    }

    #[tokio::test]
    async fn cdp_routes_replies_by_id_and_keeps_chosen_events() {
        routes_replies_by_id_and_keeps_chosen_events(Dialect::Cdp).await;
    }

    #[tokio::test]
    async fn bidi_routes_replies_by_id_and_keeps_chosen_events() {
        routes_replies_by_id_and_keeps_chosen_events(Dialect::Bidi).await;
    }

    #[tokio::test]
    async fn connecting_to_nothing_is_an_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = Remote::connect(&format!("ws://{addr}/x"), Dialect::Bidi, &[])
            .await
            .unwrap_err();
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
        assert!(err.to_string().contains("WebDriver BiDi"), "{err}");
    }
}
