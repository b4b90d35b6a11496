//! The accepted TCP socket as a connection uses it, deep inside TLS and hyper: a `TcpStream` that
//! gives up on a peer that stopped reading, and that can end with a TCP reset.
//!
//! - Write stall: the socket records since when a write has been waiting for room (the peer's
//!   receive window and our send buffer are full); [`SocketState::write_stall`] resolves when that
//!   has lasted `write_stall_timeout`, and the listener then drops the connection, freeing its
//!   buffers (an event stream whose subscriber queue overflowed could never write its end).
//! - Reset: a stalled socket, and one whose connection the `reset_connections_every` fault drops,
//!   is closed with `SO_LINGER` 0, so the peer gets RST and unsent data is discarded at once.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio::time::{sleep_until, Instant};

/// An accepted socket; see the module documentation.
#[derive(Debug)]
pub(crate) struct Socket {
    tcp: TcpStream,
    state: SocketState,
    /// A write is waiting for the socket to take data.
    write_blocked: bool,
}

/// What the listener and the socket tell each other, shared.
#[derive(Debug, Clone)]
pub(crate) struct SocketState(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    reset: AtomicBool,
    /// Since when a write has been waiting, in nanoseconds after `epoch`, plus one; 0 if none is.
    blocked_since: AtomicU64,
    epoch: Instant,
    /// Notified when a write starts waiting.
    blocked: Notify,
}

impl SocketState {
    pub(crate) fn new() -> SocketState {
        SocketState(Arc::new(Shared {
            reset: AtomicBool::new(false),
            blocked_since: AtomicU64::new(0),
            epoch: Instant::now(),
            blocked: Notify::new(),
        }))
    }

    /// From now on, dropping the socket resets the connection.
    pub(crate) fn reset_on_drop(&self) {
        self.0.reset.store(true, Ordering::Relaxed);
    }

    /// Resolves once a write has waited `timeout` without any progress. The connection's task
    /// runs this beside the connection: a timer inside the socket would only be noticed the next
    /// time the connection tried to write, and HTTP/2 does not always try again.
    pub(crate) async fn write_stall(&self, timeout: Duration) {
        loop {
            self.0.blocked.notified().await;
            while let Some(since) = self.blocked_since() {
                let deadline = since + timeout;
                if Instant::now() >= deadline {
                    return;
                }
                // Boxed: awaited only while a write is blocked, and inline its timer (112 bytes)
                // would size every connection's task.
                Box::pin(sleep_until(deadline)).await;
            }
        }
    }

    /// Whether a write is waiting for the socket to take data right now.
    pub(crate) fn is_write_blocked(&self) -> bool {
        self.blocked_since().is_some()
    }

    fn blocked_since(&self) -> Option<Instant> {
        match self.0.blocked_since.load(Ordering::Relaxed) {
            0 => None,
            ns => Some(self.0.epoch + Duration::from_nanos(ns - 1)),
        }
    }

    fn set_blocked(&self, blocked: bool) {
        let value = if blocked {
            let ns = self.0.epoch.elapsed().as_nanos();
            u64::try_from(ns).unwrap_or(u64::MAX - 1) + 1
        } else {
            0
        };
        self.0.blocked_since.store(value, Ordering::Relaxed);
        if blocked {
            self.0.blocked.notify_one();
        }
    }
}

impl Socket {
    pub(crate) fn new(tcp: TcpStream, state: SocketState) -> Socket {
        Socket {
            tcp,
            state,
            write_blocked: false,
        }
    }

    pub(crate) fn tcp(&self) -> &TcpStream {
        &self.tcp
    }

    /// Passes on a write's result, telling the state when writes start and stop waiting: a write
    /// that is pending has to be tried again, and only a write that succeeds ends the wait.
    fn watch<T>(&mut self, polled: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        let blocked = polled.is_pending();
        if blocked != self.write_blocked {
            self.write_blocked = blocked;
            self.state.set_blocked(blocked);
        }
        polled
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        if self.state.0.reset.load(Ordering::Relaxed) {
            if let Err(e) = self.tcp.set_zero_linger() {
                tracing::debug!("cannot set SO_LINGER 0 for a reset: {e}");
            }
        }
    }
}

impl AsyncRead for Socket {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Socket {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.tcp).poll_write(cx, buf);
        self.watch(polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs);
        self.watch(polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    // Not watched: a TCP flush is a no-op that always succeeds, and would hide a blocked write.
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}
