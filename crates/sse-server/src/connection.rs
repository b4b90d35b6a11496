//! Serving one accepted connection with hyper, in the one protocol its listener is pinned to:
//! `http1::Builder` or `http2::Builder`, never the sniffing `auto` builder.
//!
//! Shutdown: when the server's shutdown token fires, the connection is told to shut down
//! gracefully (HTTP/1.1: no keep-alive after the current response; HTTP/2: GOAWAY) while event
//! streams end on their own. The listener drops a connection still open when the force token
//! fires.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::app::App;
use crate::config::ServerConfig;
use crate::routes;
use crate::stats::{incr, ListenerCounters};

/// Which hyper connection to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Http {
    V1,
    V2,
}

/// The configured hyper builders and what every connection shares.
#[derive(Debug)]
pub(crate) struct Server {
    http1: http1::Builder,
    http2: http2::Builder<TrackedExecutor>,
    pub(crate) app: Arc<App>,
    /// Cancelled when the graceful shutdown's wait is over: connections still open are dropped.
    pub(crate) force: CancellationToken,
}

impl Server {
    pub(crate) fn new(
        config: &ServerConfig,
        app: Arc<App>,
        force: CancellationToken,
        tracker: TaskTracker,
    ) -> Server {
        let mut h1 = http1::Builder::new();
        h1.timer(TokioTimer::new())
            .keep_alive(true)
            // Coalesce the flushes of pipelined responses into one write (h2load -m10 pipelines
            // ten requests per connection). Streaming SSE bodies still flush per event: hyper only
            // defers a flush while more pipelined requests are already buffered.
            .pipeline_flush(true)
            .header_read_timeout(config.header_read_timeout);
        let mut h2 = http2::Builder::new(TrackedExecutor(tracker));
        h2.timer(TokioTimer::new())
            .max_concurrent_streams(config.http2.max_concurrent_streams)
            .initial_stream_window_size(config.http2.initial_stream_window)
            .initial_connection_window_size(config.http2.initial_connection_window);
        Server {
            http1: h1,
            http2: h2,
            app,
            force,
        }
    }

    /// Serves requests on `io` until the client leaves or the server shuts down.
    pub(crate) async fn serve<IO>(&self, io: IO, http: Http, counters: Arc<ListenerCounters>)
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let carried = Arc::new(AtomicBool::new(false));
        let app = Arc::clone(&self.app);
        let svc_counters = Arc::clone(&counters);
        let service = service_fn(move |req| {
            let (app, counters) = (Arc::clone(&app), Arc::clone(&svc_counters));
            incr(&counters.requests);
            if !carried.swap(true, Ordering::Relaxed) {
                incr(&counters.connections_carrying_requests);
            }
            async move { Ok::<_, Infallible>(routes::handle(app, counters, req).await) }
        });
        let io = TokioIo::new(io);
        let shutdown = &self.app.shutdown;
        let result = match http {
            Http::V1 => {
                let conn = self.http1.serve_connection(io, service);
                drive(conn, |c| c.graceful_shutdown(), shutdown).await
            }
            Http::V2 => {
                let conn = self.http2.serve_connection(io, service);
                drive(conn, |c| c.graceful_shutdown(), shutdown).await
            }
        };
        if let Err(e) = result {
            tracing::debug!(protocol = %counters.protocol, "connection ended with an error: {e}");
        }
    }
}

/// Runs a hyper connection to its end, asking it to finish gracefully once `shutdown` fires.
async fn drive<C>(
    conn: C,
    graceful: impl FnOnce(Pin<&mut C>),
    shutdown: &CancellationToken,
) -> C::Output
where
    C: Future,
{
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        out = conn.as_mut() => return out,
        () = shutdown.cancelled() => graceful(conn.as_mut()),
    }
    conn.await
}

/// Spawns hyper's HTTP/2 stream tasks on the server's task tracker, so that shutdown waits for
/// them too.
#[derive(Debug, Clone)]
pub(crate) struct TrackedExecutor(pub(crate) TaskTracker);

impl<F> hyper::rt::Executor<F> for TrackedExecutor
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    fn execute(&self, fut: F) {
        self.0.spawn(fut);
    }
}
