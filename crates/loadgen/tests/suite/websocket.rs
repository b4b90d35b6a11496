//! The WebSocket arms end to end: a chat on WebSockets against the embedded server, the browser's
//! rules for opening them, and a server we did not write (the external contract).
//!
//! Each test is written once and run on the WebSocket arms by `test_support::arms`.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use loadgen::{Counter, Latency, Protocol, Target, Trust};
use test_support::emulation;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

const CLIENTS: u32 = 3;
const SOCKETS: u32 = 3;

/// Three clients with three sockets each chat at 10 messages/s: every socket opens on its own
/// connection, every message comes back to its sender (its round trip) and reaches all nine
/// sockets once, and ticks give `event_delivery`.
#[test_support::arms(websocket, flavor = "multi_thread", worker_threads = 2)]
async fn chat(arm: Protocol) {
    let (server, target) = emulation::embedded(arm, |_| {}).await;
    let mut config = emulation::point(target);
    config.workload.clients = CLIENTS;
    config.workload.streams_per_client = SOCKETS;
    config.workload.posts.rate_per_client = 10.0;
    let out = emulation::run(&config).await;
    let stats = server.stats();
    server.shutdown().await;
    assert!(out.fatal.is_none(), "{:?}", out.fatal);
    let m = &out.metrics;
    let sockets = u64::from(CLIENTS * SOCKETS);
    assert_eq!(m.total_errors(), 0, "{:?}", emulation::errors(&out));
    assert_eq!(m.get(Counter::StreamsOpened), sockets);
    assert_eq!(out.streams_open_at_end, sockets);
    assert_eq!(m.get(Counter::ConnectionsCarryingRequests), sockets);
    let scheduled = m.get(Counter::PostsScheduled);
    assert_eq!(scheduled, u64::from(CLIENTS) * 15, "10/s for 1.5 s");
    // The last message of each client may still be on its way when the point ends (33 ms after
    // it at the latest): it is then stalled, and its round trip censored.
    let completed = m.get(Counter::PostsCompleted);
    let last_round = u64::from(CLIENTS);
    assert!(
        completed >= scheduled - last_round,
        "{completed} of {scheduled} echoed"
    );
    assert_eq!(completed + out.posts_stalled_at_end, scheduled);
    assert_eq!(m.latency(Latency::PostRtt).count, scheduled);
    assert_eq!(m.censored(Latency::PostRtt), scheduled - completed);
    // And each has one queue wait: measured when it was written, censored if it never was.
    assert_eq!(m.latency(Latency::PostQueueWait).count, scheduled);
    assert_eq!(m.latency(Latency::PostQueueWait).count, scheduled);
    // Every copy that arrived is a sample (its send instant is set before the write): all nine
    // of each message, but perhaps the last round's still on their way.
    let fanout = m.latency(Latency::Fanout).count;
    assert!(
        fanout <= scheduled * sockets && fanout >= (scheduled - last_round) * sockets,
        "{fanout} copies of {scheduled} messages to {sockets} sockets"
    );
    assert_eq!(m.latency(Latency::TimeToOpen).count, sockets);
    assert!(
        m.latency(Latency::EventDelivery).count > 0,
        "ticks are stamped"
    );
    let tally = out.delivery.expect("tracked");
    // Owed: what was echoed at least the loss grace (500 ms) before the end, to all nine.
    assert!(tally.expected >= scheduled / 2 * sockets, "{tally:?}");
    assert_eq!(tally.expected % sockets, 0, "{tally:?}");
    assert_eq!((tally.lost, tally.duplicated, tally.missed), (0, 0, 0));
    let l = stats.listener(arm).expect("the arm's listener");
    assert_eq!(l.websocket_messages_received, scheduled);
    assert_eq!(l.connections_carrying_requests, sockets);
}

/// Ten sockets of one client: all open (no six-connection ceiling), one handshake at a time with
/// 10 ms between them, so the last opens at least 90 ms after it was created.
#[test_support::arms(websocket, flavor = "multi_thread", worker_threads = 2)]
async fn ten_sockets(arm: Protocol) {
    let (server, target) = emulation::embedded(arm, |_| {}).await;
    let mut config = emulation::point(target);
    config.workload.streams_per_client = 10;
    let out = emulation::run(&config).await;
    server.shutdown().await;
    let m = &out.metrics;
    assert_eq!(m.get(Counter::StreamsOpened), 10);
    assert_eq!(out.streams_queued_at_end, 0);
    assert_eq!(m.get(Counter::ConnectionsOpened), 10);
    let open = m.latency(Latency::TimeToOpen);
    assert!(open.max >= 90_000, "serialized 10 ms apart: {open:?}");
    assert!(
        m.latency(Latency::QueueWait).max >= 80_000,
        "the wait is for the endpoint's lock: {:?}",
        m.latency(Latency::QueueWait)
    );
}

/// A server that accepts the connections and never answers them: no socket opens, and each of
/// the three counts as waiting at the end of the point: its `time_to_open` and its
/// `time_to_first_event` censored there (one sample each, the only ones), and queued at the end.
#[test_support::arms(websocket, flavor = "multi_thread", worker_threads = 2)]
async fn sockets_that_never_open_are_censored(arm: Protocol) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((tcp, _)) = listener.accept().await {
            held.push(tcp);
        }
    });
    let scheme = arm.websocket_scheme().expect("a WebSocket arm");
    let url = format!("{scheme}://{addr}/ws?channel=silent");
    // A certificate to trust on `wss` (the silent server never shows it).
    let certs = if arm.is_tls() {
        vec![test_support::scripted::self_signed_tls(arm).1]
    } else {
        Vec::new()
    };
    let target = Target::new(arm, &url, &Trust::Certificates(certs)).expect("target");
    let mut config = emulation::point(target);
    config.workload.streams_per_client = 3;
    let out = emulation::run(&config).await;
    silent.abort();
    assert!(out.fatal.is_none(), "{:?}", out.fatal);
    let m = &out.metrics;
    assert_eq!(m.get(Counter::StreamsRequested), 3);
    assert_eq!(m.get(Counter::StreamsOpened), 0);
    assert_eq!(out.streams_queued_at_end, 3);
    for latency in [Latency::TimeToOpen, Latency::TimeToFirstEvent] {
        assert_eq!(m.latency(latency).count, 3, "{latency:?} samples");
        assert_eq!(m.censored(latency), 3, "{latency:?} censored");
    }
}

/// A binary message is an event too (with nothing to read in it): a server that sends one
/// binary message to each socket and holds it gives one event per socket, and their time to
/// first event, none censored.
#[test_support::arms(websocket, flavor = "multi_thread", worker_threads = 2)]
async fn binary_messages_count_as_events(arm: Protocol) {
    let (url, trust) = ws_server(arm, "/ws?channel=binary", |ws| async move {
        let (mut write, mut read) = ws.split();
        if write.send(Message::binary(vec![1, 2, 3])).await.is_ok() {
            while let Some(Ok(_)) = read.next().await {}
        }
    })
    .await;
    let target = Target::new(arm, &url, &trust).expect("target");
    let mut config = emulation::point(target);
    config.workload.streams_per_client = 2;
    let out = emulation::run(&config).await;
    assert!(out.fatal.is_none(), "{:?}", out.fatal);
    let m = &out.metrics;
    assert_eq!(m.total_errors(), 0, "{:?}", emulation::errors(&out));
    assert_eq!(m.get(Counter::StreamsOpened), 2);
    assert_eq!(m.get(Counter::EventsReceived), 2, "one binary message each");
    assert_eq!(m.latency(Latency::TimeToFirstEvent).count, 2);
    assert_eq!(m.censored(Latency::TimeToFirstEvent), 0);
}

/// A WebSocket server we did not write: it sends each text message it receives to every socket
/// of its path, the sender's included, except that it skips every third message for the second
/// socket that connected. The chat works against it (the token is found in the echoed body), and
/// the loss proof sees exactly the skipped messages that were owed: it can fail.
#[test_support::arms(websocket, flavor = "multi_thread", worker_threads = 2)]
async fn lossy_external(arm: Protocol) {
    let (url, trust, skipped, owed) = lossy_server(arm).await;
    let target = Target::new(arm, &url, &trust).expect("target");
    let mut config = emulation::point(target);
    config.workload.clients = 2;
    config.workload.streams_per_client = 1;
    config.workload.posts.rate_per_client = 20.0;
    let started = Instant::now();
    let out = emulation::run(&config).await;
    let m = &out.metrics;
    assert!(out.fatal.is_none(), "{:?}", out.fatal);
    assert_eq!(m.get(Counter::StreamsOpened), 2);
    let tally = out.delivery.expect("tracked");
    let skipped = skipped.load(Ordering::Relaxed) as u64;
    assert!(skipped > 0);
    assert!(tally.expected > 0, "{tally:?}");
    // A skipped message the first socket sent comes back to it (its POST completes), so the
    // second socket owes it, and it is lost; the second socket's own skipped messages never
    // complete, so nothing is owed for them. The loss proof owes a message only if it completed
    // at least `loss_grace` before the end: every skip of the first socket's messages up to then
    // is lost, and none after. The point ends `elapsed` after it started, a little after
    // `started`; the skips within 20 ms of that instant less the grace may fall either side.
    let edge = started + out.elapsed - config.loss_grace;
    let owed = owed.lock().expect("lock");
    let surely = owed
        .iter()
        .filter(|&&at| at + Duration::from_millis(20) < edge)
        .count() as u64;
    let perhaps = owed
        .iter()
        .filter(|&&at| at < edge + Duration::from_millis(20))
        .count() as u64;
    assert!(surely > 0, "{} owed of {skipped} skipped", owed.len());
    assert!(
        (surely..=perhaps).contains(&tally.lost),
        "{tally:?}: {surely} to {perhaps} skipped messages owed"
    );
    assert!(
        m.get(Counter::PostsCompleted) < m.get(Counter::PostsScheduled),
        "the second socket's own skipped messages get no echo"
    );
    // Those wait until the end: every message has its round trip, measured or censored there.
    let (scheduled, completed) = (
        m.get(Counter::PostsScheduled),
        m.get(Counter::PostsCompleted),
    );
    assert_eq!(m.latency(Latency::PostRtt).count, scheduled);
    assert_eq!(m.censored(Latency::PostRtt), scheduled - completed);
    // And each has one queue wait: measured when it was written, censored if it never was.
    assert_eq!(m.latency(Latency::PostQueueWait).count, scheduled);
}

/// Starts the lossy server for `arm` on 127.0.0.1 port 0; its URL names a path of its own.
/// The instants of the skipped messages another socket sent: owed to the second socket, the
/// sender having its echo.
type Owed = Arc<Mutex<Vec<Instant>>>;

/// The lossy server's URL and trust, and what it skipped: how many messages, and when it
/// skipped those owed.
async fn lossy_server(arm: Protocol) -> (String, Trust, Arc<AtomicUsize>, Owed) {
    let sockets: Arc<Mutex<Vec<mpsc::UnboundedSender<String>>>> = Arc::default();
    let skipped = Arc::new(AtomicUsize::new(0));
    let owed = Owed::default();
    let counter = Arc::new(AtomicUsize::new(0));
    let (skipped_out, owed_out) = (skipped.clone(), owed.clone());
    // Sockets are numbered in the order their handshakes end (the client makes one at a time).
    let (url, trust) = ws_server(arm, "/room?name=lossy", move |ws| {
        let (sockets, skipped, owed) = (sockets.clone(), skipped.clone(), owed.clone());
        let counter = counter.clone();
        async move {
            let (tx, rx) = mpsc::unbounded_channel::<String>();
            let me = {
                let mut sockets = sockets.lock().expect("lock");
                sockets.push(tx);
                sockets.len() - 1
            };
            let room = Room {
                sockets,
                me,
                skipped,
                owed,
                counter,
            };
            room.serve(ws, rx).await;
        }
    })
    .await;
    (url, trust, skipped_out, owed_out)
}

/// A stream a WebSocket test server speaks over: TCP, or TLS over it.
trait Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send> Io for T {}
type ServerSocket = tokio_tungstenite::WebSocketStream<Box<dyn Io>>;

/// A WebSocket server on 127.0.0.1 for `arm` (TLS with a self-signed certificate on `wss`) that
/// runs `serve` on each socket whose handshake succeeded, until the test's runtime ends; its URL
/// at `path`, and the trust that reaches it.
async fn ws_server<F, Fut>(arm: Protocol, path: &str, serve: F) -> (String, Trust)
where
    F: Fn(ServerSocket) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let (acceptor, certs) = if arm.is_tls() {
        let (acceptor, cert) = test_support::scripted::self_signed_tls(arm);
        (Some(acceptor), vec![cert])
    } else {
        (None, Vec::new())
    };
    let serve = Arc::new(serve);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, serve) = (acceptor.clone(), Arc::clone(&serve));
            tokio::spawn(async move {
                let io: Box<dyn Io> = match acceptor {
                    Some(acceptor) => match acceptor.accept(tcp).await {
                        Ok(tls) => Box::new(tls),
                        Err(_) => return,
                    },
                    None => Box::new(tcp),
                };
                if let Ok(ws) = tokio_tungstenite::accept_async(io).await {
                    serve(ws).await;
                }
            });
        }
    });
    let scheme = arm.websocket_scheme().expect("a WebSocket arm");
    (
        format!("{scheme}://{addr}{path}"),
        Trust::Certificates(certs),
    )
}

/// The lossy server's shared state.
struct Room {
    sockets: Arc<Mutex<Vec<mpsc::UnboundedSender<String>>>>,
    /// This socket's place in `sockets`.
    me: usize,
    skipped: Arc<AtomicUsize>,
    /// When it skipped the messages a socket other than the second one sent.
    owed: Owed,
    counter: Arc<AtomicUsize>,
}

impl Room {
    async fn serve<S>(
        self,
        ws: tokio_tungstenite::WebSocketStream<S>,
        mut rx: mpsc::UnboundedReceiver<String>,
    ) where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let (mut write, mut read) = ws.split();
        loop {
            tokio::select! {
                incoming = read.next() => match incoming {
                    Some(Ok(Message::Text(t))) => {
                        let n = self.counter.fetch_add(1, Ordering::Relaxed);
                        for (i, s) in self.sockets.lock().expect("lock").iter().enumerate() {
                            if i == 1 && n % 3 == 2 {
                                self.skipped.fetch_add(1, Ordering::Relaxed);
                                if self.me != 1 {
                                    self.owed.lock().expect("lock").push(Instant::now());
                                }
                                continue;
                            }
                            let _ = s.send(t.to_string());
                        }
                    }
                    Some(Ok(_)) => {}
                    _ => break,
                },
                Some(out) = rx.recv() => {
                    if write.send(Message::text(out)).await.is_err() {
                        break;
                    }
                }
            }
        }
    }
}
