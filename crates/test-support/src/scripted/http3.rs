//! The scripted server over HTTP/3 (quinn + h3): every request on its own task, one DATA frame per
//! write of the script, and the QUIC and HTTP/3 events the client's edge cases need on cue: the
//! stream limit (MAX_STREAMS, returned as streams end, as quinn does) and raising it late, a
//! GOAWAY once some requests arrived (the later ones refused with `H3_REQUEST_REJECTED`), a stream
//! reset in place of every response, a CONNECTION_CLOSE, and POSTs answered before their body is
//! read.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use h3::error::Code;
use rustls_pki_types::CertificateDer;

use super::{answer, play, BodySink, Open, Options, Reply, Script, Seen, Then};

type Stream = h3::server::RequestStream<h3_quinn::BidiStream<Bytes>, Bytes>;

/// How long after its GOAWAY the server rejects the streams above it (see `serve_connection`):
/// far beyond a scheduler's lag here (a few milliseconds at the 99th percentile under load).
const GOAWAY_LEAD: std::time::Duration = std::time::Duration::from_millis(100);

/// A request stream's receive window with [`Options::answer_unread`].
const UNREAD_WINDOW: u32 = 16 * 1024;

/// Starts the server on a UDP port of 127.0.0.1; returns its address and certificate.
pub(super) fn serve(
    options: Options,
    seen: Arc<Seen>,
    script: Script,
) -> (SocketAddr, CertificateDer<'static>) {
    let (tls, cert) = super::self_signed_config(vocab::Protocol::H3);
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls).expect("TLS 1.3 for QUIC");
    let mut config = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    let mut transport = quinn::TransportConfig::default();
    transport.max_concurrent_bidi_streams(options.max_concurrent_streams.unwrap_or(100).into());
    if options.answer_unread {
        transport.stream_receive_window(UNREAD_WINDOW.into());
    }
    config.transport_config(Arc::new(transport));
    let endpoint = quinn::Endpoint::server(config, "127.0.0.1:0".parse().expect("address"))
        .expect("a UDP socket");
    let addr = endpoint.local_addr().expect("local addr");
    tokio::spawn(async move {
        for index in 0.. {
            let Some(incoming) = endpoint.accept().await else {
                return;
            };
            let (seen, script) = (seen.clone(), script.clone());
            let options = Options {
                goaway_after: options.goaway_after.filter(|_| index == 0),
                close_after: options.close_after.filter(|_| index == 0),
                ..options
            };
            tokio::spawn(async move {
                tokio::time::sleep(options.tls_delay).await;
                if let Ok(connection) = incoming.await {
                    serve_connection(connection, seen, script, options).await;
                }
            });
        }
    });
    (addr, cert)
}

async fn serve_connection(
    connection: quinn::Connection,
    seen: Arc<Seen>,
    script: Script,
    options: Options,
) {
    if let Some((after, limit)) = options.raise_streams {
        let connection = connection.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            connection.set_max_concurrent_bi_streams(limit.into());
        });
    }
    if let Some((after, code)) = options.close_after {
        let connection = connection.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            connection.close(code.into(), b"scripted close");
        });
    }
    let Ok(mut conn) = h3::server::builder()
        .build::<_, Bytes>(h3_quinn::Connection::new(connection))
        .await
    else {
        return;
    };
    let mut requests = 0;
    while let Ok(Some(resolver)) = conn.accept().await {
        let Ok((request, stream)) = resolver.resolve_request().await else {
            continue;
        };
        if request.method() == http::Method::POST && !options.script_posts {
            let place = seen.post_arrived();
            tokio::spawn(post(stream, place, seen.clone()));
            continue;
        }
        if request.method() == http::Method::POST && options.answer_unread {
            // Answered by the script at once; the rest of the request is refused.
            let mut stream = stream;
            stream.stop_sending(Code::H3_NO_ERROR);
            seen.post_arrived();
            let reply = answer(&seen, &script, String::new());
            tokio::spawn(respond(stream, reply, seen.clone()));
            continue;
        }
        if request.method() == http::Method::POST {
            // Answered by the script once its body is read.
            let place = seen.post_arrived();
            let (seen, script) = (seen.clone(), script.clone());
            tokio::spawn(async move {
                let mut stream = stream;
                let Some(bytes) = read_body(&mut stream).await else {
                    return;
                };
                seen.post_read(place, &bytes);
                let reply = answer(&seen, &script, String::new());
                respond(stream, reply, seen).await;
            });
            continue;
        }
        requests += 1;
        if options.goaway_after == Some(requests) {
            // GOAWAY: the streams accepted so far run on; later ones are refused (h3 resets them
            // with H3_REQUEST_REJECTED).
            let _ = conn.shutdown(0).await;
            // h3 rejects the streams above the GOAWAY's id at the next accepts: only after a
            // pause, so that the client has read the GOAWAY first. A browser reads a
            // connection's frames in order; quinn and h3 hand the GOAWAY (on the control stream)
            // and each rejection (on its request stream) to different tasks, and a loaded
            // machine could run a rejected request's retries before the task that reads the
            // GOAWAY, exhausting them on the old connection.
            tokio::time::sleep(GOAWAY_LEAD).await;
        }
        let last_event_id = request
            .headers()
            .get("last-event-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let reply = answer(&seen, &script, last_event_id);
        if let Some(reason) = options.reset_streams {
            let mut stream = stream;
            stream.stop_stream(h3_code(reason));
            continue;
        }
        tokio::spawn(respond(stream, reply, seen.clone()));
    }
}

/// The HTTP/3 code of the stream reset the HTTP/2 option names: REFUSED_STREAM is
/// `H3_REQUEST_REJECTED` (not processed), CANCEL is `H3_REQUEST_CANCELLED`, anything else
/// `H3_INTERNAL_ERROR`.
fn h3_code(reason: h2::Reason) -> Code {
    match reason {
        h2::Reason::REFUSED_STREAM => Code::H3_REQUEST_REJECTED,
        h2::Reason::CANCEL => Code::H3_REQUEST_CANCELLED,
        _ => Code::H3_INTERNAL_ERROR,
    }
}

/// A request's whole body, or `None` if the stream failed first.
async fn read_body(stream: &mut Stream) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    loop {
        match stream.recv_data().await {
            Ok(Some(mut chunk)) => bytes.extend_from_slice(&chunk.copy_to_bytes(chunk.remaining())),
            Ok(None) => return Some(bytes),
            Err(_) => return None,
        }
    }
}

/// Reads a POST's body, records it, and answers `202`.
async fn post(mut stream: Stream, place: usize, seen: Arc<Seen>) {
    let Some(bytes) = read_body(&mut stream).await else {
        return;
    };
    seen.post_read(place, &bytes);
    let accepted = http::Response::builder()
        .status(202)
        .body(())
        .expect("response head");
    if stream.send_response(accepted).await.is_ok() {
        let _ = stream.finish().await;
    }
}

async fn respond(mut stream: Stream, reply: Reply, seen: Arc<Seen>) {
    let open = Open::new(&seen);
    tokio::time::sleep(reply.head_delay).await;
    let response = http::Response::builder()
        .status(reply.status)
        .header("content-type", reply.content_type)
        .body(())
        .expect("response head");
    if stream.send_response(response).await.is_err() {
        return;
    }
    if reply.status != 200 {
        let _ = stream.finish().await;
        return;
    }
    if !play(&reply.steps, &mut H3Sink(&mut stream), &seen).await {
        return;
    }
    match reply.then {
        Then::End => {
            drop(open);
            let _ = stream.finish().await;
        }
        Then::Hold => {
            // Passing on echoed POSTs until a write fails (the client stopped the stream, or the
            // connection ended). h3 offers no way to wait for the client's STOP_SENDING, and an
            // empty DATA frame to test for it would read as the end of the body to h3's client.
            let mut echoes = seen.echo.subscribe();
            while let Ok(event) = echoes.recv().await {
                if !H3Sink(&mut stream).write(&event, &seen).await {
                    break;
                }
            }
        }
    }
}

struct H3Sink<'a>(&'a mut Stream);

impl BodySink for H3Sink<'_> {
    async fn write(&mut self, bytes: &[u8], seen: &Seen) -> bool {
        if self
            .0
            .send_data(Bytes::copy_from_slice(bytes))
            .await
            .is_err()
        {
            return false;
        }
        seen.body_bytes
            .fetch_add(bytes.len() as u64, std::sync::atomic::Ordering::Relaxed);
        true
    }
}
