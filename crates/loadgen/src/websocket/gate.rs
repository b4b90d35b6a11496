//! How a browser lets a page's WebSockets connect: the rules of the `ws` and `wss` arms, per
//! virtual client (one browser profile: one Chromium browser context, with its own lock manager
//! and throttler). Each rule was measured with `scripts/chromium-ws-probe/` (its README's table)
//! and read in Chromium's source (`scripts/chromium-ws-probe/FINDINGS.md`; `docs/browsers.md`,
//! "WebSockets"):
//!
//! - outside the six HTTP/1.1 slots, in their own socket pool (`WEBSOCKET_SOCKET_POOL`): the ws
//!   arms have no six-connection ceiling;
//! - one handshake at a time per endpoint (`WebSocketEndpointLockManager`), the lock given back
//!   [`UNLOCK_DELAY`] after the handshake's response was read or the attempt failed
//!   (`kUnlockDelayInMs`);
//! - a throttle delay per renderer before each WebSocket starts
//!   (`WebSocketPerProcessThrottler::CalculateDelay`): `rand(1000..=5000) ms x 2^min(p + f / (s +
//!   1), 16) / 65536`, `p` the WebSockets still handshaking (this one included), `f` and `s` the
//!   handshakes that failed and succeeded in the current and previous two-minute period;
//! - at most [`MAX_WEBSOCKETS_PER_CLIENT`] per client (`kMaxPendingWebSocketConnections`): over
//!   it a WebSocket fails at once (`errors_refused`).
//!
//! Firefox allows 200, not 255 (`docs/browsers.md`, "Firefox's differences"); the emulation
//! follows Chromium.

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

    /// Failed handshakes, of this counting period and the last, slow the next one down, and
    /// successes offset them: the exponent is the pending handshakes plus failed / (succeeded +
    /// 1). With 15 + 16 failures and 1 + 2 successes, one pending handshake waits
    /// 2^(1 + 31 / 4) / 65536 of 1 to 5 s: 3.9 to 19.5 ms. Any count left out, or added wrong,
    /// gives under a millisecond or over 30.
    #[tokio::test(start_paused = true)]
    async fn failures_of_both_periods_slow_the_next_handshake_and_successes_offset_them() {
        let gate = WsGate::new(7);
        {
            let mut t = lock(&gate.throttle);
            (t.previous_failed, t.failed) = (15, 16);
            (t.previous_succeeded, t.succeeded) = (1, 2);
        }
        let t0 = tokio::time::Instant::now();
        let handshake = gate.admit().await;
        let waited = t0.elapsed();
        handshake.done(true);
        assert!(
            waited >= Duration::from_micros(3906) && waited <= Duration::from_millis(20),
            "{waited:?}"
        );
    }

    /// Each handshake's end is counted once: succeeded, failed, or (dropped undecided) failed;
    /// it is no longer pending, and the endpoint is free again 10 ms later.
    #[tokio::test(start_paused = true)]
    async fn each_handshake_end_is_counted_once() {
        let gate = WsGate::new(7);
        let counts = || {
            let t = lock(&gate.throttle);
            (t.pending, t.succeeded, t.failed)
        };
        let first = gate.admit().await;
        assert_eq!(counts(), (1, 0, 0));
        first.done(true);
        assert_eq!(counts(), (0, 1, 0));
        tokio::time::sleep(Duration::from_millis(20)).await;
        gate.admit().await.done(false);
        assert_eq!(counts(), (0, 1, 1));
        tokio::time::sleep(Duration::from_millis(20)).await;
        drop(gate.admit().await);
        assert_eq!(counts(), (0, 1, 2), "dropped undecided: failed");
        let t0 = tokio::time::Instant::now();
        tokio::time::timeout(Duration::from_secs(1), gate.admit())
            .await
            .expect("the endpoint is free after a dropped handshake")
            .done(true);
        assert!(t0.elapsed() >= UNLOCK_DELAY, "{:?}", t0.elapsed());
        assert_eq!(counts(), (0, 2, 2));
    }

    /// The counts roll every two minutes: this period's become the last period's, and the last
    /// period's are forgotten; a gap of two periods forgets both.
    #[test]
    fn the_counts_roll_every_two_minutes() {
        let start = Instant::now();
        let mut t = Throttle {
            pending: 1,
            failed: 5,
            succeeded: 2,
            previous_failed: 7,
            previous_succeeded: 3,
            period_start: start,
        };
        t.roll(start + THROTTLE_PERIOD - Duration::from_millis(1));
        assert_eq!(
            (t.all_failed(), t.all_succeeded()),
            (12, 5),
            "within the period"
        );
        t.roll(start + THROTTLE_PERIOD);
        assert_eq!((t.failed, t.previous_failed), (0, 5));
        assert_eq!((t.succeeded, t.previous_succeeded), (0, 2));
        assert_eq!(t.period_start, start + THROTTLE_PERIOD);
        t.failed = 4;
        t.roll(start + THROTTLE_PERIOD * 3 + Duration::from_secs(1));
        assert_eq!(
            (t.all_failed(), t.all_succeeded()),
            (0, 0),
            "two periods later"
        );
        assert_eq!(t.period_start, start + THROTTLE_PERIOD * 3);
        assert_eq!(t.pending, 1, "pending handshakes do not roll");
    }

    /// The throttle's delay is random over its whole range: with sixteen handshaking at once,
    /// anywhere from 1 to 5 s (a factor drawn from 1000 to 5000), not one fixed value. Forty
    /// handshakes, one after another on a paused clock (seeded: the same draws every run).
    #[tokio::test(start_paused = true)]
    async fn the_throttle_delay_is_drawn_over_its_range() {
        let gate = WsGate::new(7);
        let mut delays = Vec::new();
        for _ in 0..40 {
            lock(&gate.throttle).pending = 15;
            let t0 = tokio::time::Instant::now();
            let handshake = gate.admit().await;
            delays.push(t0.elapsed());
            handshake.done(true);
            // Past the endpoint lock's release delay.
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let (min, max) = (delays.iter().min().unwrap(), delays.iter().max().unwrap());
        assert!(*min >= Duration::from_secs(1) && *max <= Duration::from_secs(5));
        assert!(
            *min < Duration::from_millis(1500) && *max > Duration::from_millis(4500),
            "delays from {min:?} to {max:?}"
        );
    }
}
