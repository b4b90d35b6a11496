//! Serving one accepted connection with hyper, in the one protocol its listener is pinned to:
//! `http1::Builder` or `http2::Builder`, never the sniffing `auto` builder.
//!
//! How a connection ends, other than by its client: at shutdown it is told to finish gracefully
//! (HTTP/1.1: no keep-alive; HTTP/2: GOAWAY) and dropped when the force token fires; the
//! `goaway_every` fault does the same to one HTTP/2 connection, cut [`SHUTDOWN_GRACE`] after its
//! GOAWAY. An HTTP/2 connection also ends idle (`http2_idle_timeout`, `idle_timeouts`), when its
//! peer stops answering PINGs (`keepalive_timeouts`), and without a first request within the
//! header timeout. Rapid reset (CVE-2023-44487) is bounded by [`MAX_PENDING_ACCEPT_RESET_STREAMS`]
//! and [`MAX_LOCAL_ERROR_RESET_STREAMS`].

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::server::conn::{http1, http2};
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::activity::{Accepted, Activity, StreamWatch};
use crate::app::App;
use crate::app::{Conn, UpgradeSlot};
use crate::config::SHUTDOWN_GRACE;
use crate::config::{Http2Settings, ServerConfig};
use crate::hub::Held;
use crate::if_set::IfSet;
use crate::routes;
use crate::routes::TransportError;
use crate::stats::{incr, ListenerCounters};
use crate::woken::Woken;

use super::streams::{NextStream, StreamExecutor, Watched};

/// Streams a client resets before the server has accepted them, per connection, before h2 answers
/// with GOAWAY(ENHANCE_YOUR_CALM) and closes: h2's own default (20), the fix for rapid reset.
/// Streams are accepted as fast as they arrive, so a reset stream rarely waits here; the
/// concurrency limit then bounds the work: a reset frees its slot only once the stream's task has
/// seen the reset and dropped the request.
pub(crate) const MAX_PENDING_ACCEPT_RESET_STREAMS: usize = 20;
/// Streams the server itself resets because the client broke the protocol, per connection, before
/// GOAWAY(ENHANCE_YOUR_CALM): hyper's default (1024, RUSTSEC-2024-0003). Resets the server sends
/// on purpose (`CloseMode::Reset`) do not count.
pub(crate) const MAX_LOCAL_ERROR_RESET_STREAMS: usize = 1024;

/// The configured hyper builders and what every connection shares.
#[derive(Debug)]
pub(crate) struct Server {
    http1: http1::Builder,
    /// HTTP/2's builder is made per connection, around its own executor ([`Server::http2`]).
    http2: Http2Config,
    tracker: TaskTracker,
    /// `connection_queue_bytes`.
    connection_queue_bytes: usize,
    /// `write_stall_timeout`, which also bounds one HTTP/2 stream's wait for its window.
    write_stall_timeout: Duration,
    pub(crate) app: Arc<App>,
    /// Cancelled when the graceful shutdown's wait is over: connections still open are dropped.
    pub(crate) force: CancellationToken,
    /// `goaway_every`: how long after its accept an HTTP/2 connection gets a GOAWAY.
    goaway_every: Option<Duration>,
    /// How long after its accept an HTTP/2 connection must have carried its first request.
    header_read_timeout: Duration,
    /// How long an HTTP/2 connection may go without a request in flight.
    http2_idle_timeout: Duration,
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
            // Not `pipeline_flush(true)`, though it coalesces pipelined responses (h2load -m10):
            // in hyper 1.x it also makes the write buffer accept data without limit, so an event
            // stream whose client stops reading is polled forever, its subscriber queue never
            // overflows and the buffer grows without bound (crates/sse-server/tests/suite/messages.rs
            // `a_slow_subscriber_is_closed_and_counted` and crates/sse-server/tests/suite/abuse.rs catch
            // it).
            .header_read_timeout(config.header_read_timeout)
            // Bounds what a client that stops reading costs: hyper stops polling the body once
            // this much is queued (its default is about 400 KiB).
            .max_buf_size(config.send_buffer_bytes);
        Server {
            http1: h1,
            http2: Http2Config {
                settings: config.http2,
                send_buffer_bytes: config.send_buffer_bytes,
                keepalive_interval: config.http2_keepalive_interval,
                keepalive_timeout: config.http2_keepalive_timeout,
            },
            tracker,
            connection_queue_bytes: config.connection_queue_bytes,
            write_stall_timeout: config.write_stall_timeout,
            app,
            force,
            goaway_every: config.faults.goaway_every,
            header_read_timeout: config.header_read_timeout,
            http2_idle_timeout: config.http2_idle_timeout,
        }
    }

    /// An HTTP/2 builder for one connection, whose stream tasks take their watches from `next`.
    fn http2(&self, next: NextStream) -> http2::Builder<StreamExecutor> {
        let c = &self.http2;
        let executor = StreamExecutor {
            tracker: self.tracker.clone(),
            next,
        };
        let mut h2 = http2::Builder::new(executor);
        h2.timer(TokioTimer::new())
            .max_concurrent_streams(c.settings.max_concurrent_streams)
            .initial_stream_window_size(c.settings.initial_stream_window)
            .initial_connection_window_size(c.settings.initial_connection_window)
            .max_pending_accept_reset_streams(MAX_PENDING_ACCEPT_RESET_STREAMS)
            .max_local_error_reset_streams(MAX_LOCAL_ERROR_RESET_STREAMS)
            // Per stream; h2's default is about 400 KiB.
            .max_send_buf_size(c.send_buffer_bytes)
            .keep_alive_interval(c.keepalive_interval)
            .keep_alive_timeout(c.keepalive_timeout);
        h2
    }

    /// Serves requests on `io` until the client leaves or the server shuts down.
    ///
    /// Not an `async fn`: hyper's connection is built, and boxed, before the returned future
    /// starts, so that future holds a pointer to it and nothing of `io`. An `async fn` keeps each
    /// argument for its whole life, `io` included once moved into hyper (a TLS stream, 1.2 KB),
    /// and a connection passed by value to `Ending::drive` was kept twice, as passed and pinned
    /// (an idle HTTP/1.1 subscriber's `drive` future was 2,208 bytes, hyper's connection 760 of
    /// them twice: `RUSTFLAGS=-Zprint-type-sizes cargo +nightly build --release -p sse-server --lib`).
    pub(crate) fn serve<'a, IO>(
        &'a self,
        io: IO,
        counters: Arc<ListenerCounters>,
        accepted: &'a Accepted,
    ) -> impl Future<Output = ()> + Send + 'a
    where
        IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let carried = Arc::new(AtomicBool::new(false));
        let http2 = counters.protocol.is_http2();
        // Cancelled by the first request: only HTTP/2 waits for it (its header timeout), so only
        // an HTTP/2 connection makes one.
        let first_request = http2.then(CancellationToken::new);
        let app = Arc::clone(&self.app);
        let svc_counters = Arc::clone(&counters);
        // Ends this connection's event streams: at server shutdown, or at its GOAWAY fault.
        let streams = self.app.shutdown.child_token();
        let (svc_streams, svc_first_request) = (streams.clone(), first_request.clone());
        let activity = Arc::clone(&accepted.activity);
        let peer = accepted.peer;
        let held = Arc::new(Held::new(
            self.connection_queue_bytes,
            self.app.hub.queue_gauge(),
        ));
        let next_stream = NextStream::default();
        let svc_next_stream = Arc::clone(&next_stream);
        let stall_timeout = self.write_stall_timeout;
        // The WebSocket listeners' `GET /ws` parks its session here (`routes::ws`).
        let upgrade = counters
            .protocol
            .is_websocket()
            .then(|| Arc::new(UpgradeSlot::default()));
        let svc_upgrade = upgrade.clone();
        let service = service_fn(move |req| {
            // On HTTP/2 hyper hands this request's task to the executor right after this call,
            // which takes the watch from here (`streams`).
            let stream = http2.then(|| {
                let watch = Arc::new(StreamWatch::default());
                let watched = Watched {
                    watch: Arc::clone(&watch),
                    activity: Arc::clone(&activity),
                    counters: Arc::clone(&svc_counters),
                    stall_timeout,
                };
                *svc_next_stream
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner) = Some(watched);
                watch
            });
            let conn = Conn {
                counters: Arc::clone(&svc_counters),
                streams: svc_streams.clone(),
                activity: Arc::clone(&activity),
                peer,
                held: Arc::clone(&held),
                stream,
                upgrade: svc_upgrade.clone(),
            };
            let in_flight = activity.request();
            incr(&conn.counters.requests);
            if !carried.swap(true, Ordering::Relaxed) {
                incr(&conn.counters.connections_carrying_requests);
                if let Some(first) = &svc_first_request {
                    first.cancel();
                }
            }
            let app = Arc::clone(&app);
            // Boxed: hyper keeps the service's future inside each HTTP/2 stream's task and
            // each HTTP/1.1 connection's, for their whole life, though it is done once the
            // response head is out. The routes' future is about 4 KB; boxed, the task holds a
            // pointer, and the future's memory is freed when it completes (an idle HTTP/2
            // stream's task went from 4.5 KB to 0.85 KB: `scripts/profile-memory.sh h2 20 250`).
            Box::pin(async move {
                let req =
                    req.map(|body: Incoming| body.map_err(TransportError::from).boxed_unsync());
                let resp = routes::handle(app, conn, req).await;
                drop(in_flight);
                Ok::<_, Infallible>(resp)
            })
        });
        let io = TokioIo::new(io);
        // Each protocol's connection boxed: inline, every connection's task would be the size of
        // the larger (hyper's HTTP/2 connection), whatever it speaks.
        let conn = if http2 {
            Hyper::Http2(Box::pin(
                self.http2(next_stream).serve_connection(io, service),
            ))
        } else {
            Hyper::Http1(Box::pin(
                self.http1.serve_connection(io, service).with_upgrades(),
            ))
        };
        async move {
            let mut ending = Ending {
                shutdown: &self.app.shutdown,
                streams: &streams,
                goaway_at: None,
                first_request: None,
                idle: None,
                counters: &counters,
            };
            let ended = match conn {
                Hyper::Http2(conn) => {
                    ending.goaway_at = self.goaway_every.map(|every| accepted.at + every);
                    ending.first_request = first_request
                        .as_ref()
                        .map(|first| (accepted.at + self.header_read_timeout, first));
                    ending.idle = Some((&accepted.activity, self.http2_idle_timeout));
                    ending.drive(conn, |c| c.graceful_shutdown()).await
                }
                Hyper::Http1(conn) => ending.drive(conn, |c| c.graceful_shutdown()).await,
            };
            // A WebSocket runs here, on the connection's own task, once hyper has handed it over: the
            // listener's watchdogs and the connection limit still cover it.
            if let Some(session) = upgrade.as_deref().and_then(UpgradeSlot::take) {
                session.await;
            }
            let protocol = counters.protocol;
            match ended {
                Ended::Done(Ok(())) => {}
                Ended::Done(Err(e)) if is_keepalive_timeout(&e) => {
                    // Before `is_timeout`, which hyper also says of it.
                    incr(&counters.keepalive_timeouts);
                    tracing::debug!(%protocol, "peer did not answer a keep-alive PING");
                }
                Ended::Done(Err(e)) if e.is_timeout() => {
                    incr(&counters.timeouts);
                    tracing::debug!(%protocol, "connection timed out: {e}");
                }
                Ended::Done(Err(e)) => {
                    tracing::debug!(%protocol, "connection ended with an error: {e}");
                }
                Ended::NoRequest => {
                    incr(&counters.timeouts);
                    tracing::debug!(%protocol, "no request within the header timeout");
                }
                Ended::Cut => {
                    tracing::debug!(%protocol, "connection cut {SHUTDOWN_GRACE:?} after its GOAWAY");
                }
            }
        }
    }
}

/// A connection's hyper connection, boxed, in the protocol its listener speaks.
enum Hyper<A, B> {
    Http1(Pin<Box<A>>),
    Http2(Pin<Box<B>>),
}

/// Whether hyper closed the connection because a keep-alive PING went unanswered. hyper does not
/// export that error's type (`hyper::proto::h2::ping::KeepAliveTimedOut`), only its text,
/// "keep-alive timed out", so the source chain is searched for it; a test fails if that ever
/// changes (crates/sse-server/tests/suite/http2_timeouts.rs).
fn is_keepalive_timeout(e: &hyper::Error) -> bool {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if s.to_string() == "keep-alive timed out" {
            return true;
        }
        source = s.source();
    }
    false
}

/// What ends a connection, other than the client: the server's shutdown and, on HTTP/2, the
/// GOAWAY fault and the first request's deadline.
#[derive(Debug)]
struct Ending<'a> {
    shutdown: &'a CancellationToken,
    /// The connection's own child of `shutdown`, handed to its event streams.
    streams: &'a CancellationToken,
    goaway_at: Option<Instant>,
    /// HTTP/2: when the first request must have arrived, and the token its arrival cancels.
    /// (hyper's HTTP/1.1 connection has its own header timeout; its HTTP/2 connection has none,
    /// so a client could otherwise hold a connection by sending its preface a byte at a time.)
    first_request: Option<(Instant, &'a CancellationToken)>,
    /// HTTP/2: the connection's activity and how long it may idle.
    idle: Option<(&'a Activity, Duration)>,
    counters: &'a ListenerCounters,
}

/// How a connection ended.
#[derive(Debug)]
enum Ended {
    /// hyper's connection finished, with its result.
    Done(Result<(), hyper::Error>),
    /// Dropped: no request arrived within the header timeout.
    NoRequest,
    /// Dropped: still open [`SHUTDOWN_GRACE`] after its GOAWAY.
    Cut,
}

impl Ending<'_> {
    /// Runs a hyper connection to its end, asking it to finish gracefully once the server shuts
    /// down or its GOAWAY is due.
    ///
    /// The connection comes boxed, and the HTTP/2-only watches are boxed when set: this future
    /// lives as long as the connection, inside its task, so it holds pointers, not the
    /// connection (760 bytes on cleartext HTTP/1.1) nor three idle timers an HTTP/1.1 connection
    /// never sets (about 500 bytes).
    async fn drive<C>(&self, mut conn: Pin<Box<C>>, graceful: impl FnOnce(Pin<&mut C>)) -> Ended
    where
        C: Future<Output = Result<(), hyper::Error>>,
    {
        let goaway = self
            .goaway_at
            .map(|at| Box::pin(tokio::time::sleep_until(at)));
        let no_request = self.first_request.map(|(deadline, arrived)| {
            Box::pin(async move {
                tokio::select! {
                    () = tokio::time::sleep_until(deadline) => {}
                    () = arrived.cancelled() => std::future::pending().await,
                }
            })
        });
        let idle = self
            .idle
            .map(|(activity, timeout)| Box::pin(activity.idle_for(timeout)));
        tokio::select! {
            out = conn.as_mut() => Ended::Done(out),
            // Polled when the token wakes it, not each time the connection does (`crate::woken`).
            () = Woken::new(self.shutdown.cancelled()) => {
                graceful(conn.as_mut());
                Ended::Done(conn.await)
            }
            () = IfSet(goaway) => {
                incr(&self.counters.faults_goaways);
                graceful(conn.as_mut());
                self.streams.cancel();
                match tokio::time::timeout(SHUTDOWN_GRACE, conn).await {
                    Ok(out) => Ended::Done(out),
                    Err(_) => Ended::Cut,
                }
            }
            () = IfSet(no_request) => Ended::NoRequest,
            () = IfSet(idle) => {
                incr(&self.counters.idle_timeouts);
                graceful(conn.as_mut());
                match tokio::time::timeout(SHUTDOWN_GRACE, conn).await {
                    Ok(out) => Ended::Done(out),
                    Err(_) => Ended::Cut,
                }
            }
        }
    }
}

/// The HTTP/2 settings each connection's builder is made with.
#[derive(Debug, Clone, Copy)]
struct Http2Config {
    settings: Http2Settings,
    send_buffer_bytes: usize,
    keepalive_interval: Option<Duration>,
    keepalive_timeout: Duration,
}
