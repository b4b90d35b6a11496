//! The HTTP/2 side of a virtual client: one connection per origin, every stream multiplexed on it.
//!
//! Like Chromium, the client assumes 100 concurrent streams until the server's SETTINGS arrive
//! (h2's `initial_max_send_streams`) and never uses more than 256 at once whatever the server
//! allows. Past the server's `SETTINGS_MAX_CONCURRENT_STREAMS`, h2 keeps new streams pending on the
//! same connection; no second connection is ever opened while the first one lives.
//!
//! A stream's slot is granted when one of the connection's `min(server limit, 256)` slots is free
//! (a FIFO semaphore per connection, its permit held by the response body). h2 keeps its own
//! pending-open queue, but `SendRequest::poll_ready` only reports a stream as pending when h2
//! thought the limit full at `send_request` time, which it judges from streams its connection task
//! has already scheduled: several requests sent at once all look granted while h2 still queues
//! them. Counting the slots ourselves makes `queue_wait` and the queued gauge exact.
//!
//! One deliberate difference: before its first request on a new connection the client waits for
//! the server's SETTINGS (a PING round trip; the server's SETTINGS frame precedes its PONG). Chromium
//! sends at once, assuming 100 streams, and transparently retries the streams a stricter server
//! refuses with REFUSED_STREAM. Both end in the same state (the server's limit open, the rest
//! queued); waiting keeps the refusals, which Chromium hides, out of the error counts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use h2::client::SendRequest;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};

use crate::connect::connect;
use crate::context::Ctx;
use crate::error::LoadError;
use crate::metrics::{Counter, Latency};
use crate::target::Target;

/// Chromium's cap on concurrent streams per HTTP/2 connection, whatever the server allows.
pub const BROWSER_STREAM_CAP: usize = 256;
/// Chromium's assumption before the server's SETTINGS arrive.
pub const BROWSER_INITIAL_STREAMS: usize = 100;

#[derive(Debug)]
pub(crate) struct H2Origin {
    target: Arc<Target>,
    ctx: Arc<Ctx>,
    conn: Mutex<Option<H2Conn>>,
}

#[derive(Debug, Clone)]
struct H2Conn {
    send: SendRequest<Bytes>,
    carried: Arc<AtomicBool>,
    /// One permit per concurrent stream the connection may carry; closed when it ends.
    slots: Arc<Semaphore>,
    task: Arc<tokio::task::JoinHandle<()>>,
}

/// A request stream, opened: its response future and, for requests with a body, the sender.
pub(crate) struct OpenStream {
    pub response: h2::client::ResponseFuture,
    pub body: h2::SendStream<Bytes>,
    pub permit: OwnedSemaphorePermit,
}

impl H2Origin {
    pub fn new(target: Arc<Target>, ctx: Arc<Ctx>) -> Self {
        H2Origin {
            target,
            ctx,
            conn: Mutex::new(None),
        }
    }

    /// Opens a stream for `request`. `on_granted` runs when the stream leaves the queue.
    pub async fn open_stream(
        &self,
        request: http::Request<()>,
        end_of_stream: bool,
        on_granted: impl FnOnce(),
    ) -> Result<OpenStream, LoadError> {
        let (conn, permit) = loop {
            let conn = self.connection().await?;
            match conn.slots.clone().acquire_owned().await {
                Ok(permit) => break (conn, permit),
                // The connection ended while this request waited: wait on the next one.
                Err(_closed) => continue,
            }
        };
        let mut send = conn.send.clone().ready().await.map_err(LoadError::Http2)?;
        let (response, body) = send
            .send_request(request, end_of_stream)
            .map_err(LoadError::Http2)?;
        if !conn.carried.swap(true, Ordering::Relaxed) {
            self.ctx.metrics.incr(Counter::ConnectionsCarryingRequests);
        }
        // Resolves once this stream is no longer pending: it counts against the server's limit.
        send.ready().await.map_err(LoadError::Http2)?;
        on_granted();
        Ok(OpenStream {
            response,
            body,
            permit,
        })
    }

    /// The origin's connection, opened on first use and again after the previous one ended.
    async fn connection(&self) -> Result<H2Conn, LoadError> {
        let mut slot = self.conn.lock().await;
        if let Some(conn) = slot.as_ref() {
            if !conn.slots.is_closed() {
                return Ok(conn.clone());
            }
        }
        let started = Instant::now();
        let (io, _) = connect(&self.target, self.ctx.connect_timeout)
            .await
            .inspect_err(|e| self.ctx.connect_failed(e))?;
        let (send, mut connection) = h2::client::Builder::new()
            .initial_max_send_streams(BROWSER_INITIAL_STREAMS)
            .handshake::<_, Bytes>(io)
            .await
            .map_err(LoadError::Http2)?;
        self.ctx.connect_succeeded();
        self.ctx.metrics.record(Latency::Connect, started.elapsed());
        self.ctx.metrics.incr(Counter::ConnectionsOpened);
        let ping_pong = connection.ping_pong();
        let slots = Arc::new(Semaphore::new(0));
        let ended = slots.clone();
        let task = tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("http/2 connection ended: {e}");
            }
            ended.close();
        });
        if let Some(mut ping_pong) = ping_pong {
            let settled =
                tokio::time::timeout(self.ctx.connect_timeout, ping_pong.ping(h2::Ping::opaque()))
                    .await;
            let failed = match settled {
                Ok(Ok(_pong)) => None,
                Ok(Err(e)) => Some(LoadError::Http2(e)),
                Err(_) => Some(LoadError::Timeout {
                    what: "HTTP/2 SETTINGS",
                    addr: self.target.addr,
                    after: self.ctx.connect_timeout,
                }),
            };
            if let Some(e) = failed {
                // Dropping a JoinHandle does not stop the task: close the connection here.
                task.abort();
                return Err(e);
            }
        }
        // The server's SETTINGS have arrived (or it sent none): its limit, capped as Chromium does.
        slots.add_permits(send.current_max_send_streams().min(BROWSER_STREAM_CAP));
        let conn = H2Conn {
            send,
            carried: Arc::new(AtomicBool::new(false)),
            slots,
            task: Arc::new(task),
        };
        *slot = Some(conn.clone());
        Ok(conn)
    }

    /// Ends the connection (at the end of a point).
    pub async fn close(&self) {
        if let Some(conn) = self.conn.lock().await.take() {
            conn.slots.close();
            conn.task.abort();
        }
    }
}
