//! A small Chrome DevTools Protocol client: one WebSocket to the browser endpoint, commands as
//! `{id, method, params, sessionId}` answered by id, and events kept in arrival order.
//!
//! Hand-written on tokio-tungstenite and serde_json rather than a CDP crate: ssebench needs a
//! dozen commands and four events, and no crate feature may ever download a browser. Pages are
//! driven through flattened sessions (`Target.attachToTarget` with `flatten: true`), so every
//! page shares this one socket and its events carry their `sessionId`.
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

use crate::error::CdpError;

/// How long a command may take unless the caller says otherwise.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;
type Reply = Result<Value, (i64, String)>;

/// One protocol event.
#[derive(Debug, Clone)]
pub struct Event {
    pub method: String,
    pub params: Value,
    /// The flattened session it belongs to; `None` for browser-level events.
    pub session_id: Option<String>,
}

/// A connection to the browser's DevTools endpoint.
#[derive(Debug)]
pub struct Cdp {
    shared: Arc<Shared>,
    reader: JoinHandle<()>,
}

#[derive(Debug)]
struct Shared {
    sink: tokio::sync::Mutex<SplitSink<Socket, Message>>,
    pending: Mutex<HashMap<u64, oneshot::Sender<Reply>>>,
    events: Mutex<Vec<Event>>,
    /// Only events with these methods are kept (the rest, e.g. one per SSE message, are not).
    keep: &'static [&'static str],
    arrived: Notify,
    closed: AtomicBool,
    next_id: AtomicU64,
}

impl Cdp {
    /// Connects to `ws_url` (e.g. `ws://127.0.0.1:PORT/devtools/browser/ID`), keeping the events
    /// whose method is in `keep`.
    pub async fn connect(ws_url: &str, keep: &'static [&'static str]) -> Result<Cdp, CdpError> {
        let connect = tokio_tungstenite::connect_async(ws_url);
        let (socket, _) = tokio::time::timeout(COMMAND_TIMEOUT, connect)
            .await
            .map_err(|_| CdpError::Timeout {
                method: format!("connect {ws_url}"),
                waited: COMMAND_TIMEOUT,
            })?
            .map_err(|e| CdpError::Connect {
                url: ws_url.to_owned(),
                source: Box::new(e),
            })?;
        let (sink, mut stream) = socket.split();
        let shared = Arc::new(Shared {
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
        Ok(Cdp { shared, reader })
    }

    /// Sends a command (to a page's session, or to the browser with `None`) and waits at most
    /// [`COMMAND_TIMEOUT`] for its result.
    pub async fn call(
        &self,
        method: &str,
        params: Value,
        session: Option<&str>,
    ) -> Result<Value, CdpError> {
        self.call_within(method, params, session, COMMAND_TIMEOUT)
            .await
    }

    /// [`Cdp::call`] with its own timeout (e.g. a script that awaits the end of a point).
    pub async fn call_within(
        &self,
        method: &str,
        params: Value,
        session: Option<&str>,
        timeout: Duration,
    ) -> Result<Value, CdpError> {
        let shared = &self.shared;
        if shared.closed.load(Ordering::Acquire) {
            return Err(CdpError::Closed);
        }
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let mut command = json!({ "id": id, "method": method, "params": params });
        if let Some(s) = session {
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
                return Err(CdpError::Closed);
            }
            Err(_) => {
                forget();
                return Err(timed_out(method, timeout));
            }
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(Ok(result))) => Ok(result),
            Ok(Ok(Err((code, message)))) => Err(CdpError::Command {
                method: method.to_owned(),
                code,
                message,
            }),
            Ok(Err(_)) => Err(CdpError::Closed),
            Err(_) => {
                forget();
                Err(timed_out(method, timeout))
            }
        }
    }

    /// How many events have been kept so far: an index for [`Cdp::wait_event`] and
    /// [`Cdp::events`].
    pub fn event_count(&self) -> usize {
        lock(&self.shared.events).len()
    }

    /// The kept events of one session, from index `from` on.
    pub fn events(&self, session: &str, from: usize) -> Vec<Event> {
        lock(&self.shared.events)
            .iter()
            .skip(from)
            .filter(|e| e.session_id.as_deref() == Some(session))
            .cloned()
            .collect()
    }

    /// Waits for the first event `method` of `session` at index `from` or later.
    pub async fn wait_event(
        &self,
        session: &str,
        method: &str,
        from: usize,
        timeout: Duration,
    ) -> Result<Event, CdpError> {
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
                    .find(|e| e.method == method && e.session_id.as_deref() == Some(session));
                if let Some(e) = found {
                    return Ok(e.clone());
                }
                seen = events.len().max(seen);
            }
            if self.shared.closed.load(Ordering::Acquire) {
                return Err(CdpError::Closed);
            }
            if tokio::time::timeout_at(deadline, arrived).await.is_err() {
                return Err(CdpError::EventTimeout {
                    event: method.to_owned(),
                    waited: timeout,
                });
            }
        }
    }
}

impl Drop for Cdp {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Shared {
    fn dispatch(&self, text: &str) {
        let Ok(mut message) = serde_json::from_str::<Value>(text) else {
            tracing::warn!("unparsable DevTools message: {text:.200}");
            return;
        };
        if let Some(id) = message.get("id").and_then(Value::as_u64) {
            let reply = match message.get_mut("error") {
                Some(error) => Err((
                    error.get("code").and_then(Value::as_i64).unwrap_or(0),
                    error
                        .get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("unknown error")
                        .to_owned(),
                )),
                None => Ok(message
                    .get_mut("result")
                    .map(Value::take)
                    .unwrap_or_default()),
            };
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
        let event = Event {
            method: method.to_owned(),
            session_id: message
                .get("sessionId")
                .and_then(Value::as_str)
                .map(str::to_owned),
            params: message
                .get_mut("params")
                .map(Value::take)
                .unwrap_or_default(),
        };
        lock(&self.events).push(event);
        self.arrived.notify_waiters();
    }

    fn close(&self) {
        self.closed.store(true, Ordering::Release);
        // Dropping the senders fails every waiting call with `Closed`.
        lock(&self.pending).clear();
        self.arrived.notify_waiters();
    }
}

fn timed_out(method: &str, waited: Duration) -> CdpError {
    CdpError::Timeout {
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

    /// A fake DevTools endpoint: answers the first two commands in reverse order (the second
    /// with an error), sends a kept and a dropped event, then closes on the third command.
    async fn fake_endpoint() -> String {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("ws://{}/devtools/browser/x", listener.local_addr().unwrap());
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
            let send = |v: Value| Message::text(v.to_string());
            ws.send(send(
                json!({"method": "Noise.ignored", "params": {}, "sessionId": "s"}),
            ))
            .await
            .unwrap();
            ws.send(send(
                json!({"method": "Page.loadEventFired", "params": {"t": 1}, "sessionId": "s"}),
            ))
            .await
            .unwrap();
            ws.send(send(
                json!({"id": ids[1].0, "error": {"code": -32000, "message": "no such target"}}),
            ))
            .await
            .unwrap();
            ws.send(send(
                json!({"id": ids[0].0, "result": {"session": ids[0].1}}),
            ))
            .await
            .unwrap();
            let _ = ws.next().await;
            let _ = ws.close(None).await;
        });
        url
    }

    #[tokio::test]
    async fn routes_replies_by_id_and_keeps_chosen_events() {
        let url = fake_endpoint().await;
        let cdp = Cdp::connect(&url, &["Page.loadEventFired"]).await.unwrap();
        let (first, second) = tokio::join!(
            cdp.call("A.first", json!({}), Some("s")),
            cdp.call("B.second", json!({}), None),
        );
        assert_eq!(first.unwrap(), json!({"session": "s"}));
        let err = second.unwrap_err().to_string();
        assert!(
            err.contains("B.second") && err.contains("no such target"),
            "{err}"
        );
        let event = cdp
            .wait_event("s", "Page.loadEventFired", 0, Duration::from_secs(5))
            .await
            .unwrap();
        assert_eq!(event.params, json!({"t": 1}));
        assert_eq!(cdp.events("s", 0).len(), 1, "Noise.ignored is not kept");
        let missing = cdp
            .wait_event("other", "Page.loadEventFired", 0, Duration::from_millis(50))
            .await;
        assert!(matches!(missing, Err(CdpError::EventTimeout { .. })));
        // The endpoint closes after the next command: the call fails instead of hanging.
        let closed = cdp
            .call_within("C.third", json!({}), None, Duration::from_secs(5))
            .await;
        assert!(matches!(closed, Err(CdpError::Closed)), "{closed:?}");
    }

    #[tokio::test]
    async fn connecting_to_nothing_is_an_error() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        let err = Cdp::connect(&format!("ws://{addr}/x"), &[])
            .await
            .unwrap_err();
        assert!(err.to_string().contains(&addr.to_string()), "{err}");
    }
}
