//! The HTTP/1.1 floor: what fan-out and POSTs cost a tokio server that does the wire's work and
//! nothing else. A reference for issue 27's goals 1 and 2, not a server anyone should run: no
//! timeouts, no bounds on what a client sends or fails to read, no replay, no budgets, no TLS, no
//! HTTP/2. What ssebench's server does beyond it is what those cost plus what hyper costs.
//!
//! It does per POST what ssebench's server does: parse the head (httparse, as hyper does), read
//! a `content-length` body, encode the event once (`id`, `event: message`, `data` lines, with
//! sse-wire's encoder), queue it for every subscriber of its channel, answer `202` with
//! `{"id":N}`, a `date` and a `content-type`. Per delivered event: the subscriber's task wakes,
//! takes the events queued for it and writes them as HTTP/1.1 chunks in one `write`. An event
//! stream's response is chunked, as hyper's is (so the connection outlives a stream); its
//! subscribers are tokio's bounded mpsc channels (64 events; a full one drops the event, where
//! ssebench's server closes the stream as overflowed).
//!
//!   cargo build --release -p sse-server --example http1_floor
//!   TOKIO_WORKER_THREADS=1 target/release/examples/http1_floor 127.0.0.1:0
//!
//! It prints `listening h1 http://ADDR` as `server` does, serves `GET <any path>?channel=NAME`
//! as an event stream and `POST <any path>?channel=NAME` as a
//! publish, answers anything else `404`, and runs until SIGINT or SIGTERM. `scripts/bench-fanout.sh` and
//! `scripts/bench-server.sh` run it beside the server and the reference (`FLOOR=1`).

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::SystemTime;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

/// The largest request head and body it reads; past it the connection is closed.
const MAX_REQUEST: usize = 64 * 1024;
/// Events queued per subscriber.
const QUEUE: usize = 64;

#[derive(Default)]
struct Channel {
    next_id: u64,
    subscribers: Vec<mpsc::Sender<Bytes>>,
}

type Channels = Arc<Mutex<HashMap<String, Channel>>>;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:0".to_owned());
    let listener = TcpListener::bind(&addr).await?;
    println!("listening h1 http://{}", listener.local_addr()?);
    let channels = Channels::default();
    // SIGINT ends it (a shell's background job ignores SIGINT unless the program handles it, and
    // callgrind writes its profile at a clean exit: scripts/profile-fanout.sh); SIGTERM kills it.
    let interrupt = tokio::signal::ctrl_c();
    tokio::pin!(interrupt);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (socket, _) = accepted?;
                socket.set_nodelay(true)?;
                tokio::spawn(connection(socket, Arc::clone(&channels)));
            }
            _ = &mut interrupt => return Ok(()),
        }
    }
}

/// One request head: what the routes need of it, and its length in the buffer.
struct Head {
    post: bool,
    event_stream: bool,
    channel: String,
    content_length: usize,
    len: usize,
}

/// Serves requests on `socket` until it closes or a request turns it into an event stream.
async fn connection(mut socket: TcpStream, channels: Channels) {
    let mut buf: Vec<u8> = Vec::with_capacity(4096);
    let mut out: Vec<u8> = Vec::with_capacity(256);
    let mut date = CachedDate::default();
    loop {
        // Every complete request already read, then read more (pipelining: h2load -m10).
        let head = loop {
            match parse(&buf) {
                Ok(Some(head)) if buf.len() >= head.len + head.content_length => break head,
                Ok(_) if buf.len() < MAX_REQUEST => {
                    if !out.is_empty() {
                        if socket.write_all(&out).await.is_err() {
                            return;
                        }
                        out.clear();
                    }
                    if buf.capacity() == buf.len() {
                        buf.reserve(4096);
                    }
                    match socket.read_buf(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                }
                _ => return,
            }
        };
        let body = &buf[head.len..head.len + head.content_length];
        if head.post {
            let id = publish(&channels, &head.channel, body);
            let mut id_buf = itoa::Buffer::new();
            let id = id_buf.format(id);
            let _ = write!(
                out,
                "HTTP/1.1 202 Accepted\r\ncontent-type: application/json\r\ncontent-length: {}\r\ndate: {}\r\n\r\n{{\"id\":{id}}}",
                id.len() + 7,
                date.now(),
            );
        } else if head.event_stream {
            let _ = write!(
                out,
                "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-store\r\ntransfer-encoding: chunked\r\ndate: {}\r\n\r\n",
                date.now(),
            );
            if socket.write_all(&out).await.is_err() {
                return;
            }
            drop((buf, out));
            let (tx, rx) = mpsc::channel(QUEUE);
            channels
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .entry(head.channel)
                .or_default()
                .subscribers
                .push(tx);
            return subscriber(socket, rx).await;
        } else {
            let _ = write!(
                out,
                "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\ndate: {}\r\n\r\n",
                date.now(),
            );
        }
        buf.drain(..head.len + head.content_length);
    }
}

/// An event stream: each wake writes every event queued so far, as chunks, in one write.
async fn subscriber(mut socket: TcpStream, mut events: mpsc::Receiver<Bytes>) {
    let mut out: Vec<u8> = Vec::with_capacity(512);
    let mut probe = [0u8; 64];
    loop {
        tokio::select! {
            biased;
            event = events.recv() => {
                let Some(event) = event else { return };
                out.clear();
                chunk(&mut out, &event);
                while let Ok(event) = events.try_recv() {
                    chunk(&mut out, &event);
                }
                if socket.write_all(&out).await.is_err() {
                    return;
                }
            }
            // The client leaving (or sending what an event stream ignores).
            read = socket.read(&mut probe) => {
                if matches!(read, Ok(0) | Err(_)) {
                    return;
                }
            }
        }
    }
}

fn chunk(out: &mut Vec<u8>, data: &[u8]) {
    let _ = write!(out, "{:x}\r\n", data.len());
    out.extend_from_slice(data);
    out.extend_from_slice(b"\r\n");
}

/// Encodes the message once and queues it for every subscriber of `channel`; returns its id.
fn publish(channels: &Channels, channel: &str, body: &[u8]) -> u64 {
    let mut channels = channels.lock().unwrap_or_else(PoisonError::into_inner);
    let channel = channels.entry(channel.to_owned()).or_default();
    channel.next_id += 1;
    let mut id_buf = itoa::Buffer::new();
    let mut event = Vec::with_capacity(body.len() + 48);
    sse_wire::Event {
        id: Some(id_buf.format(channel.next_id)),
        event: Some("message"),
        data: &String::from_utf8_lossy(body),
        retry: None,
    }
    .encode_into(&mut event);
    let event = Bytes::from(event);
    channel.subscribers.retain(|s| {
        !matches!(
            s.try_send(event.clone()),
            Err(mpsc::error::TrySendError::Closed(_))
        )
    });
    channel.next_id
}

/// The request head at the start of `buf`, `None` while it is incomplete, `Err` when it is not
/// HTTP/1.1 this floor serves.
fn parse(buf: &[u8]) -> Result<Option<Head>, ()> {
    let mut headers = [httparse::EMPTY_HEADER; 32];
    let mut req = httparse::Request::new(&mut headers);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(_) => return Err(()),
    };
    let (method, path) = (req.method.ok_or(())?, req.path.ok_or(())?);
    let mut content_length = 0;
    for h in req.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            content_length = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok())
                .filter(|&n: &usize| n <= MAX_REQUEST)
                .ok_or(())?;
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            return Err(());
        }
    }
    let channel = path
        .split_once('?')
        .and_then(|(_, query)| query.split('&').find_map(|p| p.strip_prefix("channel=")))
        .unwrap_or("default")
        .to_owned();
    Ok(Some(Head {
        post: method == "POST",
        event_stream: method == "GET",
        channel,
        content_length,
        len,
    }))
}

/// The `date` header's value, formatted once a second (as hyper and nginx do).
#[derive(Default)]
struct CachedDate {
    second: u64,
    text: String,
}

impl CachedDate {
    fn now(&mut self) -> &str {
        let now = SystemTime::now();
        let second = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        if second != self.second || self.text.is_empty() {
            self.second = second;
            self.text = httpdate::fmt_http_date(now);
        }
        &self.text
    }
}
