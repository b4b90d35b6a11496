//! The scripted server's HTTP/2 connections, on `h2`'s server: every request on its own task, one
//! DATA frame per write of the script.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncWrite};

use super::{answer, play, BodySink, Open, Options, Reply, Script, Seen, Then};

/// Serves every request of one HTTP/2 connection, each on its own task.
pub(super) async fn connection<IO>(io: IO, seen: Arc<Seen>, script: Script, options: Options)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    tokio::time::sleep(options.handshake_delay).await;
    let mut builder = h2::server::Builder::new();
    if let Some(max) = options.max_concurrent_streams {
        builder.max_concurrent_streams(max);
    }
    let Ok(mut conn) = builder.handshake(io).await else {
        return;
    };
    let mut requests = 0;
    while let Some(Ok((request, respond))) = conn.accept().await {
        if request.method() == http::Method::POST && !options.script_posts {
            let place = seen.post_arrived();
            tokio::spawn(h2_post(request.into_body(), respond, place, seen.clone()));
            continue;
        }
        if request.method() == http::Method::POST {
            // Answered by the script once its body is read.
            let place = seen.post_arrived();
            let body = request.into_body();
            let (seen, script) = (seen.clone(), script.clone());
            tokio::spawn(async move {
                let Some(bytes) = read_h2_body(body).await else {
                    return;
                };
                seen.post_read(place, &bytes);
                let reply = answer(&seen, &script, String::new());
                h2_stream(respond, reply, seen).await;
            });
            continue;
        }
        requests += 1;
        if options.goaway_after == Some(requests) {
            // GOAWAY; the streams open so far run on, later requests must go elsewhere.
            conn.graceful_shutdown();
        }
        let last_event_id = request
            .headers()
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let reply = answer(&seen, &script, last_event_id);
        if let Some(reason) = options.reset_streams {
            let mut respond = respond;
            respond.send_reset(reason);
            continue;
        }
        tokio::spawn(h2_stream(respond, reply, seen.clone()));
    }
}

/// A request's whole body; `None` if it failed.
async fn read_h2_body(mut body: h2::RecvStream) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.ok()?;
        let _ = body.flow_control().release_capacity(chunk.len());
        bytes.extend_from_slice(&chunk);
    }
    Some(bytes)
}

/// Reads a POST's body, records it, and answers `202`.
async fn h2_post(
    body: h2::RecvStream,
    mut respond: h2::server::SendResponse<Bytes>,
    place: usize,
    seen: Arc<Seen>,
) {
    let Some(bytes) = read_h2_body(body).await else {
        return;
    };
    seen.post_read(place, &bytes);
    let accepted = http::Response::builder()
        .status(202)
        .body(())
        .expect("response head");
    let _ = respond.send_response(accepted, true);
}

async fn h2_stream(mut respond: h2::server::SendResponse<Bytes>, reply: Reply, seen: Arc<Seen>) {
    // Counted from after h2 accepted the stream to before it ends it, so never more than h2
    // itself has open.
    let open = Open::new(&seen);
    tokio::time::sleep(reply.head_delay).await;
    let response = http::Response::builder()
        .status(reply.status)
        .header("content-type", reply.content_type)
        .body(())
        .expect("response head");
    let Ok(mut body) = respond.send_response(response, reply.status != 200) else {
        return;
    };
    if reply.status != 200 {
        return;
    }
    if !play(&reply.steps, &mut H2Body(&mut body), &seen).await {
        return;
    }
    match reply.then {
        Then::End => {
            drop(open);
            let _ = body.send_data(Bytes::new(), true);
        }
        Then::Hold => {
            // Until the client resets the stream or the connection ends, passing on echoed POSTs
            // meanwhile.
            let mut echoes = seen.echo.subscribe();
            loop {
                tokio::select! {
                    _ = std::future::poll_fn(|cx| body.poll_reset(cx)) => break,
                    Ok(event) = echoes.recv() => {
                        if !write_h2(&mut body, &event, &seen).await {
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// Sends `bytes` as one DATA frame when the client's window allows, else in as few frames as its
/// window updates allow.
async fn write_h2(body: &mut h2::SendStream<Bytes>, bytes: &[u8], seen: &Seen) -> bool {
    let mut rest = bytes;
    while !rest.is_empty() {
        body.reserve_capacity(rest.len());
        let capacity = match std::future::poll_fn(|cx| body.poll_capacity(cx)).await {
            Some(Ok(n)) if n > 0 => n,
            Some(Ok(_)) => continue,
            _ => return false,
        };
        let (now, later) = rest.split_at(capacity.min(rest.len()));
        if body.send_data(Bytes::copy_from_slice(now), false).is_err() {
            return false;
        }
        seen.body_bytes
            .fetch_add(now.len() as u64, Ordering::Relaxed);
        rest = later;
    }
    // Let the connection task write the frame before the next one is queued.
    tokio::task::yield_now().await;
    true
}
struct H2Body<'a>(&'a mut h2::SendStream<Bytes>);

impl BodySink for H2Body<'_> {
    async fn write(&mut self, bytes: &[u8], seen: &Seen) -> bool {
        write_h2(self.0, bytes, seen).await
    }
    async fn sleep(&mut self, d: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(d) => true,
            _ = std::future::poll_fn(|cx| self.0.poll_reset(cx)) => false,
        }
    }
}
