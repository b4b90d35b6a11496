//! The scripted server's HTTP/1.1 connections: `POST`s answered `202` with keep-alive, then one
//! `GET` (or, with `script_posts`, one `POST`) answered with a close-delimited body written
//! straight onto the socket.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::{answer, play, BodySink, Open, Options, Script, Seen, Then};

/// Answers `POST`s (`202`, keep-alive) until a `GET` comes (or any request, with
/// `script_posts`), answers that with a close-delimited body, and closes. After a `POST`, waits
/// at most `keep_alive` for the next request.
pub(super) async fn connection<IO>(mut io: IO, seen: Arc<Seen>, script: Script, options: Options)
where
    IO: AsyncRead + AsyncWrite + Unpin,
{
    let mut buf = [0u8; 1024];
    // Bytes read past the end of the last request.
    let mut pending = Vec::new();
    let mut answered_a_post = false;
    let head = loop {
        let next = read_head(&mut io, &mut pending);
        let head = match options.keep_alive.filter(|_| answered_a_post) {
            Some(idle) => tokio::time::timeout(idle, next).await.ok().flatten(),
            None => next.await,
        };
        let Some(head) = head else {
            return;
        };
        if !head.starts_with("POST ") {
            break head;
        }
        let place = seen.post_arrived();
        let length = header(&head, "content-length")
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0);
        while pending.len() < length {
            match io.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
            }
        }
        let rest = pending.split_off(length);
        seen.post_read(place, &pending);
        pending = rest;
        if options.script_posts {
            break head;
        }
        let accepted = b"HTTP/1.1 202 Accepted\r\ncontent-length: 0\r\n\r\n";
        if io.write_all(accepted).await.is_err() || io.flush().await.is_err() {
            return;
        }
        answered_a_post = true;
    };
    let last_event_id = header(&head, "last-event-id").unwrap_or_default();
    let open = Open::new(&seen);
    let reply = answer(&seen, &script, last_event_id);
    tokio::time::sleep(reply.head_delay).await;
    let status_head = format!(
        "HTTP/1.1 {} X\r\ncontent-type: {}\r\ncache-control: no-cache\r\nconnection: close\r\n{}\r\n",
        reply.status,
        reply.content_type,
        if reply.status == 200 { "" } else { "content-length: 0\r\n" },
    );
    if io.write_all(status_head.as_bytes()).await.is_err() || reply.status != 200 {
        let _ = io.shutdown().await;
        return;
    }
    if !play(&reply.steps, &mut H1Body(&mut io), &seen).await {
        return;
    }
    match reply.then {
        Then::End => {
            drop(open);
            let _ = io.shutdown().await;
        }
        Then::Hold => {
            // Until the client closes its side, passing on echoed POSTs meanwhile.
            let mut echoes = seen.echo.subscribe();
            loop {
                tokio::select! {
                    read = io.read(&mut buf) => {
                        if !matches!(read, Ok(n) if n > 0) {
                            break;
                        }
                    }
                    Ok(event) = echoes.recv() => {
                        if !write_h1(&mut io, &event, &seen).await {
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// Reads one request head (through its blank line) from `pending` and then `io`; what was read
/// past it stays in `pending`. `None` when the connection ends first.
async fn read_head<IO: AsyncRead + Unpin>(io: &mut IO, pending: &mut Vec<u8>) -> Option<String> {
    let mut buf = [0u8; 1024];
    loop {
        if let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") {
            let rest = pending.split_off(end + 4);
            let head = String::from_utf8_lossy(pending).into_owned();
            *pending = rest;
            return Some(head);
        }
        match io.read(&mut buf).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => pending.extend_from_slice(&buf[..n]),
        }
    }
}

/// The value of header `name` in a request head.
fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (n, value) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name)
            .then(|| value.trim().to_owned())
    })
}

struct H1Body<'a, IO>(&'a mut IO);

impl<IO: AsyncWrite + Unpin> BodySink for H1Body<'_, IO> {
    async fn write(&mut self, bytes: &[u8], seen: &Seen) -> bool {
        write_h1(self.0, bytes, seen).await
    }
}

async fn write_h1<IO: AsyncWrite + Unpin>(io: &mut IO, bytes: &[u8], seen: &Seen) -> bool {
    let ok = io.write_all(bytes).await.is_ok() && io.flush().await.is_ok();
    if ok {
        seen.body_bytes
            .fetch_add(bytes.len() as u64, Ordering::Relaxed);
    }
    ok
}
