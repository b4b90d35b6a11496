//! A TCP proxy that buffers what the server sends, as a reverse proxy with response buffering
//! does (nginx's `proxy_buffering`, on by default): the client's bytes go up as they come, the
//! server's bytes come down only once [`Buffering::flush_bytes`] have gathered, or
//! [`Buffering::flush_after`] after the first of them, or at the server's end. It forwards bytes,
//! not requests, so it works on every TCP arm (TLS records and HTTP/2 frames included: a TLS
//! handshake then waits for the timer).

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// When the proxy sends the server's bytes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buffering {
    /// Once this many bytes wait.
    pub flush_bytes: usize,
    /// This long after the first byte that waits (`None`: only by size, and at the end).
    pub flush_after: Option<Duration>,
}

/// Starts the proxy on 127.0.0.1 port 0 in front of `upstream`; its address. It lives until the
/// test's runtime ends.
pub async fn buffering(upstream: SocketAddr, buffering: Buffering) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            tokio::spawn(async move {
                if let Ok(server) = TcpStream::connect(upstream).await {
                    let _ = client.set_nodelay(true);
                    let _ = server.set_nodelay(true);
                    relay(client, server, buffering).await;
                }
            });
        }
    });
    addr
}

async fn relay(client: TcpStream, server: TcpStream, buffering: Buffering) {
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let up = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
        let _ = server_write.shutdown().await;
    });
    let mut held: Vec<u8> = Vec::new();
    let mut since: Option<Instant> = None;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let deadline = since.zip(buffering.flush_after).map(|(s, after)| s + after);
        let read = tokio::select! {
            read = server_read.read(&mut buf) => read,
            () = sleep_until_some(deadline) => {
                if client_write.write_all(&held).await.is_err() {
                    break;
                }
                held.clear();
                since = None;
                continue;
            }
        };
        match read {
            Ok(0) | Err(_) => {
                let _ = client_write.write_all(&held).await;
                let _ = client_write.shutdown().await;
                break;
            }
            Ok(n) => {
                held.extend_from_slice(&buf[..n]);
                since.get_or_insert_with(Instant::now);
                if held.len() >= buffering.flush_bytes {
                    if client_write.write_all(&held).await.is_err() {
                        break;
                    }
                    held.clear();
                    since = None;
                }
            }
        }
    }
    up.abort();
}

async fn sleep_until_some(deadline: Option<Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
