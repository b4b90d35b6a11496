//! How a browser lets a page's WebSockets connect: the rules of the `ws` and `wss` arms, per
//! virtual client (one browser profile: one Chromium browser context with its own network
//! context, so its own lock manager and throttler).
//!
//! Measured in headless Chromium 156 on this machine (`scripts/chromium-ws-probe/`, runs in
//! `runs/`), and read in Chromium's source (`chromium/chromium`):
//!
//! - **Outside the six HTTP/1.1 slots.** Eight WebSockets open to one origin, then an
//!   EventSource and a `fetch` POST to the same origin open and complete at once (`runs/slots.txt`):
//!   WebSockets come from their own socket pool (`WEBSOCKET_SOCKET_POOL`,
//!   `net/socket/client_socket_pool_manager.cc`). So the ws arms have no six-connection ceiling.
//! - **One handshake at a time per endpoint** (RFC 6455 §4.1): the server saw at most one
//!   handshake in flight; with the 101 delayed 300 ms the sockets opened 306, 618, 931, 1244 ms
//!   after creation (`runs/serial.txt`). The lock is per IP:port (`WebSocketEndpointLockManager`,
//!   `net/socket/websocket_endpoint_lock_manager.cc`), taken before the TCP connect and given
//!   back when the handshake's response has been read (`WebSocketBasicHandshakeStream::Upgrade`)
//!   or the attempt failed, **10 ms later** (`kUnlockDelayInMs = 10`): handshakes to one server
//!   arrived 11.6 ms apart (median) when the server answered at once (`runs/count-10.txt`). Two
//!   browser contexts do not wait for each other (`runs/contexts.txt`: two handshakes in flight).
//! - **A throttle delay per renderer** before each WebSocket starts: `rand(1000..=5000) ms x
//!   2^min(p + f / (s + 1), 16) / 65536`, where `p` is the renderer's WebSockets still
//!   handshaking (this one included), `f` and `s` the handshakes that failed and succeeded in the
//!   current and previous two-minute period (`WebSocketPerProcessThrottler::CalculateDelay`,
//!   `services/network/websocket_throttler.cc`). A few sockets get well under a millisecond;
//!   past about ten at once it dominates (`runs/count-300.txt`: gaps of 81, 235, 465 ms between
//!   handshakes after the 11th).
//! - **At most 255 per client**: of 300 created at once 255 opened and the other 45 failed at
//!   once (error, close 1006); with 250 open, 5 of 20 more opened and 15 failed at once
//!   (`runs/count-300.txt`, `runs/count-250-then-20.txt`). Source: `kMaxPendingWebSocketConnections
//!   = 255` (the throttler refuses with `ERR_INSUFFICIENT_RESOURCES`) and 255 sockets per group in
//!   the WebSocket pool ("so the limit for wss will be the same as the limit for ws. Also note that
//!   Firefox uses a limit of 200", crbug.com/486800). Over the limit here: `errors_refused`.
//!
//! Firefox 153 ESR also opens one handshake at a time per host and keeps WebSockets out of its six
//! connections, with a total of 200 (`network.websocket.max-connections`; /work/notes and
//! `ARCHITECTURE.md` of the browser facts). The emulation follows Chromium.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

/// WebSockets one client may have at once (created and not yet closed).
pub const MAX_WEBSOCKETS_PER_CLIENT: usize = 255;
/// How long after a handshake the next one to the same endpoint may start.
pub const UNLOCK_DELAY: Duration = Duration::from_millis(10);
/// The throttler's counting period.
const THROTTLE_PERIOD: Duration = Duration::from_secs(120);

/// One client's WebSocket rules; see the module documentation.
#[derive(Debug)]
pub(crate) struct WsGate {
    /// The endpoint lock: one handshake at a time (a client talks to one endpoint).
    endpoint: Arc<AsyncMutex<()>>,
    throttle: Mutex<Throttle>,
    live: AtomicUsize,
    seed: AtomicU64,
}

#[derive(Debug)]
struct Throttle {
    pending: u64,
    failed: u64,
    succeeded: u64,
    previous_failed: u64,
    previous_succeeded: u64,
    period_start: Instant,
}

/// A WebSocket that exists (counted against [`MAX_WEBSOCKETS_PER_CLIENT`]) until dropped.
#[derive(Debug)]
pub(crate) struct Live<'a>(&'a WsGate);

impl Drop for Live<'_> {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A handshake under way: holds the endpoint lock and counts as pending in the throttler. Say
/// how it ended with [`Handshake::done`]; dropped undecided, it counts as failed.
#[derive(Debug)]
pub(crate) struct Handshake<'a> {
    gate: &'a WsGate,
    lock: Option<OwnedMutexGuard<()>>,
    decided: bool,
}

impl WsGate {
    pub fn new(seed: u64) -> WsGate {
        WsGate {
            endpoint: Arc::new(AsyncMutex::new(())),
            throttle: Mutex::new(Throttle {
                pending: 0,
                failed: 0,
                succeeded: 0,
                previous_failed: 0,
                previous_succeeded: 0,
                period_start: Instant::now(),
            }),
            live: AtomicUsize::new(0),
            seed: AtomicU64::new(seed),
        }
    }

    /// A new WebSocket, unless the client has [`MAX_WEBSOCKETS_PER_CLIENT`] already.
    pub fn create(&self) -> Option<Live<'_>> {
        self.live
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < MAX_WEBSOCKETS_PER_CLIENT).then_some(n + 1)
            })
            .ok()
            .map(|_| Live(self))
    }

    /// Waits out the throttle delay, then for the endpoint lock; returns the handshake that
    /// holds it.
    pub async fn admit(&self) -> Handshake<'_> {
        let delay = {
            let mut t = lock(&self.throttle);
            t.roll(Instant::now());
            t.pending += 1;
            let exponent = (t.pending + t.all_failed() / (t.all_succeeded() + 1)).min(16);
            let factor = 1000 + self.next_random() % 4001;
            Duration::from_micros(factor * 1000 * (1 << exponent) / 65536)
        };
        let mut handshake = Handshake {
            gate: self,
            lock: None,
            decided: false,
        };
        // tokio's timer counts whole milliseconds: a shorter delay would become a whole one.
        if delay >= Duration::from_millis(1) {
            tokio::time::sleep(delay).await;
        }
        handshake.lock = Some(Arc::clone(&self.endpoint).lock_owned().await);
        handshake
    }

    fn next_random(&self) -> u64 {
        // splitmix64
        let x = self
            .seed
            .fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed)
            .wrapping_add(0x9E37_79B9_7F4A_7C15);
        let x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        let x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x ^ (x >> 31)
    }
}

impl Throttle {
    fn all_failed(&self) -> u64 {
        self.failed + self.previous_failed
    }

    fn all_succeeded(&self) -> u64 {
        self.succeeded + self.previous_succeeded
    }

    /// Chromium rolls the counts every two minutes on a timer; here, lazily, at the next use.
    fn roll(&mut self, now: Instant) {
        while now.duration_since(self.period_start) >= THROTTLE_PERIOD {
            self.previous_failed = std::mem::take(&mut self.failed);
            self.previous_succeeded = std::mem::take(&mut self.succeeded);
            self.period_start += THROTTLE_PERIOD;
        }
    }
}

impl Handshake<'_> {
    /// The handshake is over (`ok`: the `101` was read): the throttler counts it, and the
    /// endpoint lock is given back [`UNLOCK_DELAY`] from now.
    pub fn done(mut self, ok: bool) {
        self.finish(ok);
    }

    fn finish(&mut self, ok: bool) {
        if std::mem::replace(&mut self.decided, true) {
            return;
        }
        {
            let mut t = lock(&self.gate.throttle);
            t.pending = t.pending.saturating_sub(1);
            if ok {
                t.succeeded += 1;
            } else {
                t.failed += 1;
            }
        }
        if let Some(guard) = self.lock.take() {
            tokio::spawn(async move {
                tokio::time::sleep(UNLOCK_DELAY).await;
                drop(guard);
            });
        }
    }
}

impl Drop for Handshake<'_> {
    fn drop(&mut self) {
        self.finish(false);
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_255_live_per_client() {
        let gate = WsGate::new(1);
        let live: Vec<Live<'_>> = (0..MAX_WEBSOCKETS_PER_CLIENT)
            .map(|_| gate.create().expect("under the limit"))
            .collect();
        assert!(gate.create().is_none(), "the 256th is refused");
        drop(live);
        assert!(gate.create().is_some());
    }

    #[tokio::test(start_paused = true)]
    async fn handshakes_take_turns_10_ms_apart_after_a_growing_delay() {
        let gate = WsGate::new(7);
        let start = tokio::time::Instant::now();
        let first = gate.admit().await;
        // One pending: at most 5000 ms x 2 / 65536, under a quarter of a millisecond: not slept.
        assert_eq!(start.elapsed(), Duration::ZERO);
        let second = async {
            let h = gate.admit().await;
            let at = start.elapsed();
            h.done(true);
            at
        };
        let release = async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            first.done(true);
        };
        let (at, ()) = tokio::join!(second, release);
        assert!(
            at >= Duration::from_millis(60) && at < Duration::from_millis(61),
            "the second starts 10 ms after the first is done: {at:?}"
        );
        // Sixteen handshaking at once: the delay is 1 to 5 s.
        let t0 = tokio::time::Instant::now();
        let mut held = Vec::new();
        for _ in 0..15 {
            lock(&gate.throttle).pending += 1;
        }
        held.push(tokio::time::timeout(Duration::from_secs(6), gate.admit()).await);
        let waited = t0.elapsed();
        assert!(
            waited >= Duration::from_secs(1) && waited <= Duration::from_secs(5),
            "{waited:?}"
        );
        assert!(held[0].is_ok());
    }
}
