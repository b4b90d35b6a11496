//! A scripted server for hostile and broken event streams: it answers each `GET` with a status,
//! a content type and a body written exactly as the script says (byte by byte if asked, with
//! `TCP_NODELAY` and sleeps in between, so every split reaches the client as its own read).
//!
//! HTTP/1.1 arms get a close-delimited body written straight onto the socket (no chunking, so the
//! bytes on the wire are the script's: `http1.rs`). HTTP/2 arms get one DATA frame per write, from
//! `h2`'s server (`http2.rs`); `h3` one DATA frame per write on quinn and `h3`'s server
//! (`http3.rs`), with QUIC's own events on cue (MAX_STREAMS raised late, CONNECTION_CLOSE). TLS
//! arms use a self-signed certificate and the arm's ALPN ([`self_signed_tls`]). The WebSocket arms
//! are not served.
//!
//! `POST`s are answered `202` with an empty body, outside the script, on every arm (HTTP/1.1 keeps
//! the connection alive for the next request); their bodies are recorded in order of arrival, so
//! a test can see which POST the client sent first ([`Seen::post_indices`]). With
//! [`Options::script_posts`] a POST is answered by the script instead, once its body is read (a
//! streamed answer's server).

mod http1;
mod http2;
mod http3;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use loadgen::{Protocol, Target, Trust};
use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_rustls::TlsAcceptor;
use vocab::Transport;

/// One write of the body, or a pause.
#[derive(Debug, Clone)]
pub enum Step {
    Write(Vec<u8>),
    Sleep(Duration),
    /// Writes `chunk` again and again until the client goes away or `max_bytes` were written.
    Flood {
        chunk: Vec<u8>,
        max_bytes: u64,
    },
}

/// What happens after the last step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Then {
    /// End the body (HTTP/1.1: close the connection; HTTP/2: END_STREAM).
    End,
    /// Keep the response open, writing nothing, until the client leaves.
    Hold,
}

/// The answer to one request.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub steps: Vec<Step>,
    pub then: Then,
    /// How long the server waits before it sends the response head (a slow upstream).
    pub head_delay: Duration,
}

impl Reply {
    /// `200 text/event-stream` with `steps`, then held open.
    pub fn events(steps: Vec<Step>) -> Reply {
        Reply {
            status: 200,
            content_type: "text/event-stream",
            steps,
            then: Then::Hold,
            head_delay: Duration::ZERO,
        }
    }

    /// The whole body in one write, one write per byte with `pause` between, held open.
    pub fn bytewise(body: &[u8], pause: Duration) -> Reply {
        let mut steps = Vec::new();
        for &b in body {
            steps.push(Step::Write(vec![b]));
            steps.push(Step::Sleep(pause));
        }
        Reply::events(steps)
    }
}

/// What the server saw.
#[derive(Debug)]
pub struct Seen {
    /// Requests answered, in order.
    pub requests: AtomicUsize,
    /// The `Last-Event-ID` of each request (empty when absent).
    pub last_event_ids: Mutex<Vec<String>>,
    /// Body bytes written, all requests together.
    pub body_bytes: AtomicU64,
    /// The body of each `POST`, in order of arrival (a slot is taken when the request head
    /// arrives and filled once the body is read), and the instant its head arrived.
    pub posts: Mutex<Vec<(String, Instant)>>,
    /// For each `POST`, in order of arrival: how many `GET`s had arrived before it.
    pub gets_before_posts: Mutex<Vec<usize>>,
    /// Scripted responses (`GET`s) open now.
    pub open: AtomicUsize,
    /// Each rise of `open`: when, and to how many ([`Seen::max_open`]).
    opened_at: Mutex<Vec<(Instant, usize)>>,
    /// [`Options::echo_posts`]: each POST body, as an event for the responses held open.
    echo: broadcast::Sender<Bytes>,
    echo_posts: AtomicBool,
}

impl Default for Seen {
    fn default() -> Self {
        Seen {
            requests: AtomicUsize::default(),
            last_event_ids: Mutex::default(),
            body_bytes: AtomicU64::default(),
            posts: Mutex::default(),
            gets_before_posts: Mutex::default(),
            open: AtomicUsize::default(),
            opened_at: Mutex::default(),
            echo: broadcast::channel(1024).0,
            echo_posts: AtomicBool::default(),
        }
    }
}

impl Seen {
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::Relaxed)
    }
    pub fn last_event_ids(&self) -> Vec<String> {
        self.last_event_ids
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
    /// [`Seen::gets_before_posts`].
    pub fn gets_before_posts(&self) -> Vec<usize> {
        self.gets_before_posts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
    /// The most scripted responses that were open at the same time.
    pub fn max_open(&self) -> usize {
        self.max_open_where(|_| true)
    }
    /// [`Seen::max_open`], counting only the rises before `end`. A held response is counted
    /// closed when its task notices the client's reset, which a busy scheduler may run after
    /// the task of a request that h2 (or quinn) let into the freed slot: for a point whose
    /// client resets its held streams when it ends, the count before that end is exact and the
    /// count after it is not. Pass an instant no later than the point's end
    /// (`Instant` before the point + [`PointOutcome::elapsed`](loadgen::PointOutcome)).
    pub fn max_open_before(&self, end: Instant) -> usize {
        self.max_open_where(|at| at < end)
    }
    fn max_open_where(&self, when: impl Fn(Instant) -> bool) -> usize {
        self.opened_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(at, _)| when(*at))
            .map(|(_, n)| *n)
            .max()
            .unwrap_or(0)
    }
    /// The POST token index (`sse_wire::stamp`: the low 32 bits of the token, the POST's place in
    /// the client's schedule) of each POST, in order of arrival; `None` for a body without one.
    pub fn post_indices(&self) -> Vec<Option<u64>> {
        self.post_arrivals().into_iter().map(|(i, _)| i).collect()
    }
    /// [`Seen::post_indices`], each with the instant the POST's request head arrived.
    pub fn post_arrivals(&self) -> Vec<(Option<u64>, Instant)> {
        self.posts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .map(|(body, at)| {
                (
                    sse_wire::stamp::find_token(body).map(|t| t & 0xFFFF_FFFF),
                    *at,
                )
            })
            .collect()
    }
    /// Takes the next place in the order of POSTs.
    pub(crate) fn post_arrived(&self) -> usize {
        self.gets_before_posts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(self.requests());
        let mut posts = self.posts.lock().unwrap_or_else(|e| e.into_inner());
        posts.push((String::new(), Instant::now()));
        posts.len() - 1
    }
    pub(crate) fn post_read(&self, place: usize, body: &[u8]) {
        let body = String::from_utf8_lossy(body).into_owned();
        if self.echo_posts.load(Ordering::Relaxed) {
            let _ = self.echo.send(Bytes::from(format!("data: {body}\n\n")));
        }
        let mut posts = self.posts.lock().unwrap_or_else(|e| e.into_inner());
        posts[place].0 = body;
    }
}

/// Counts a scripted response as open until dropped.
struct Open<'a>(&'a Seen);

impl<'a> Open<'a> {
    fn new(seen: &'a Seen) -> Self {
        let now = seen.open.fetch_add(1, Ordering::Relaxed) + 1;
        seen.opened_at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((Instant::now(), now));
        Open(seen)
    }
}

impl Drop for Open<'_> {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}

type Script = Arc<dyn Fn(usize) -> Reply + Send + Sync>;

/// How the scripted server runs its connections; each option says which arms it applies to.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    /// A chat server: each POST's body is also sent, as one `data:` event, on every scripted
    /// response held open ([`Then::Hold`]) at that moment.
    pub echo_posts: bool,
    /// A streamed answer's server: each POST, once its body is read (and recorded), is answered
    /// by the script as a `GET` is (and counted in `Seen::requests`).
    pub script_posts: bool,
    /// HTTP/3, with `script_posts`: each POST is answered at once, its body unread, and its
    /// request stream stopped with `H3_NO_ERROR` (STOP_SENDING), as RFC 9114 (4.1) lets a server
    /// that needs no more of a request do. A stream's receive window is then 16 KiB, so a longer
    /// body is still being sent when the answer starts.
    pub answer_unread: bool,
    /// TLS arms: wait this long after accepting a connection before its TLS handshake (a slow
    /// handshake: a request on a new connection is written only this much later).
    pub tls_delay: Duration,
    /// HTTP/1.1: after answering a `POST`, close the connection if no request comes within this
    /// long (a server's keep-alive timeout, as nginx's `keepalive_timeout`); `None` waits for
    /// the next request as long as the client keeps the connection.
    pub keep_alive: Option<Duration>,
    /// HTTP/2: wait this long after accepting (and TLS) before the handshake, so the server's
    /// SETTINGS reach the client late.
    pub handshake_delay: Duration,
    /// HTTP/2: `SETTINGS_MAX_CONCURRENT_STREAMS`; `None` sends none (the client keeps its
    /// assumption). HTTP/3: the bidirectional streams open at once that QUIC's MAX_STREAMS
    /// allows (100 when `None`), one more granted as each ends.
    pub max_concurrent_streams: Option<u32>,
    /// HTTP/2 and HTTP/3, on the first connection: GOAWAY (h2's graceful shutdown, as nginx does
    /// at its `keepalive_requests`; h3's, whose later requests are reset with
    /// `H3_REQUEST_REJECTED`, 100 ms after the GOAWAY) once this many `GET`s arrived; the open
    /// streams keep running.
    pub goaway_after: Option<usize>,
    /// HTTP/2: answer every `GET` with RST_STREAM and this reason instead of a response (the
    /// request is still counted and its script still called): `REFUSED_STREAM` refuses it
    /// unprocessed, `INTERNAL_ERROR` fails it. HTTP/3: RESET_STREAM with `H3_REQUEST_REJECTED`,
    /// `H3_REQUEST_CANCELLED` (for `CANCEL`) or `H3_INTERNAL_ERROR`.
    pub reset_streams: Option<h2::Reason>,
    /// HTTP/3: raise the stream limit (MAX_STREAMS) of every connection to this many open at once,
    /// this long after it was accepted.
    pub raise_streams: Option<(Duration, u32)>,
    /// HTTP/3, on the first connection: CONNECTION_CLOSE with this HTTP/3 error code this long
    /// after it was accepted.
    pub close_after: Option<(Duration, u32)>,
}

/// Starts the scripted server for `arm` on port 0; `script(n)` answers the n-th request (from 0).
/// The server lives until the test's runtime ends.
pub async fn serve(
    arm: Protocol,
    script: impl Fn(usize) -> Reply + Send + Sync + 'static,
) -> (Target, Arc<Seen>) {
    serve_with(arm, Options::default(), script).await
}

/// [`serve`], with HTTP/2 connections run as `options` say. `POST` requests are answered `202`
/// with an empty body, outside the script (and not counted in `Seen::requests`).
pub async fn serve_with(
    arm: Protocol,
    options: Options,
    script: impl Fn(usize) -> Reply + Send + Sync + 'static,
) -> (Target, Arc<Seen>) {
    if arm.transport() == Transport::Udp {
        let seen = Arc::new(Seen::default());
        seen.echo_posts.store(options.echo_posts, Ordering::Relaxed);
        let (addr, cert) = http3::serve(options, seen.clone(), Arc::new(script));
        let url = format!("{}://{addr}", arm.scheme());
        let target = Target::new(arm, &url, &Trust::Certificates(vec![cert])).expect("target");
        return (target, seen);
    }
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let seen = Arc::new(Seen::default());
    seen.echo_posts.store(options.echo_posts, Ordering::Relaxed);
    let script: Script = Arc::new(script);
    let (tls, cert) = if arm.is_tls() {
        let (acceptor, cert) = self_signed_tls(arm);
        (Some(acceptor), Some(cert))
    } else {
        (None, None)
    };
    let accept_seen = seen.clone();
    tokio::spawn(async move {
        for index in 0.. {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let _ = tcp.set_nodelay(true);
            let (seen, script, tls) = (accept_seen.clone(), script.clone(), tls.clone());
            let options = Options {
                goaway_after: options.goaway_after.filter(|_| index == 0),
                ..options
            };
            tokio::spawn(async move {
                match tls {
                    Some(acceptor) => {
                        tokio::time::sleep(options.tls_delay).await;
                        if let Ok(io) = acceptor.accept(tcp).await {
                            connection(arm, io, seen, script, options).await;
                        }
                    }
                    None => connection(arm, tcp, seen, script, options).await,
                }
            });
        }
    });
    let url = format!("{}://{addr}", arm.scheme());
    let trust = Trust::Certificates(cert.into_iter().collect());
    (Target::new(arm, &url, &trust).expect("target"), seen)
}

/// A TLS acceptor with a fresh self-signed certificate for `127.0.0.1` and the arm's one ALPN
/// protocol, and the certificate (what the client trusts).
pub fn self_signed_tls(arm: Protocol) -> (TlsAcceptor, CertificateDer<'static>) {
    let (config, cert) = self_signed_config(arm);
    (TlsAcceptor::from(config), cert)
}

/// The TLS configuration of [`self_signed_tls`], and the certificate.
pub fn self_signed_config(arm: Protocol) -> (Arc<rustls::ServerConfig>, CertificateDer<'static>) {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("certificate");
    let cert = certified.cert.der().clone();
    let key = PrivatePkcs8KeyDer::from(certified.signing_key.serialize_der());
    let mut config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(vec![cert.clone()], key.into())
    .expect("server config");
    config.alpn_protocols = vec![arm.alpn().expect("a TLS arm").to_vec()];
    (Arc::new(config), cert)
}

async fn connection<IO>(arm: Protocol, io: IO, seen: Arc<Seen>, script: Script, options: Options)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    if arm.is_http2() {
        http2::connection(io, seen, script, options).await;
    } else {
        http1::connection(io, seen, script, options).await;
    }
}

/// Where a script's body bytes go: an HTTP/1.1 connection or an HTTP/2 stream.
trait BodySink {
    /// Writes `bytes` and counts them in `seen`; false once the peer is gone.
    async fn write(&mut self, bytes: &[u8], seen: &Seen) -> bool;
    /// Waits `d`; false if the peer is seen gone meanwhile (a stream reset), so that a response
    /// the client gave up is not counted open for the rest of its pause.
    async fn sleep(&mut self, d: Duration) -> bool {
        tokio::time::sleep(d).await;
        true
    }
}

/// Plays a reply's steps into `sink`; false if the peer went away before the last one.
async fn play(steps: &[Step], sink: &mut impl BodySink, seen: &Seen) -> bool {
    for step in steps {
        let ok = match step {
            Step::Write(bytes) => sink.write(bytes, seen).await,
            Step::Sleep(d) => sink.sleep(*d).await,
            Step::Flood { chunk, max_bytes } => {
                let mut written = 0;
                while written < *max_bytes && sink.write(chunk, seen).await {
                    written += chunk.len() as u64;
                }
                written < *max_bytes
            }
        };
        if !ok {
            return false;
        }
    }
    true
}

fn answer(seen: &Seen, script: &Script, last_event_id: String) -> Reply {
    let n = seen.requests.fetch_add(1, Ordering::Relaxed);
    seen.last_event_ids
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(last_event_id);
    script(n)
}
