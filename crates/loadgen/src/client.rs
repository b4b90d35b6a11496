//! A virtual client: one browser profile with its own connection pool for the origin, shared by
//! its EventSources and its POSTs (as a browser tab's fetches and EventSources share the six
//! HTTP/1.1 slots).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::context::Ctx;
use crate::origin::Origin;
use crate::target::Target;

/// Everything the tasks of one virtual client share.
#[derive(Debug)]
pub(crate) struct Client {
    pub origin: Origin,
    pub shared: Arc<PointShared>,
}

/// Per-point state shared by every client.
#[derive(Debug)]
pub(crate) struct PointShared {
    pub ctx: Arc<Ctx>,
    pub target: Arc<Target>,
    pub events_path: String,
    pub messages_path: String,
    pub reconnect_delay: Duration,
    pub post_body_bytes: usize,
    /// Samples of steady-state latencies (`event_delivery`) count from this instant on.
    pub measure_from: Instant,
    pub tokens: TokenTable,
}

impl Client {
    pub fn new(shared: Arc<PointShared>, max_connections_per_origin: usize) -> Self {
        Client {
            origin: Origin::new(
                shared.target.clone(),
                shared.ctx.clone(),
                max_connections_per_origin,
            ),
            shared,
        }
    }
}

/// The instants at which POSTs were sent, by token, so that every subscriber can time the event
/// that carries a token back (`fanout`). Lock-free: one slot per scheduled POST.
#[derive(Debug)]
pub(crate) struct TokenTable {
    /// High 32 bits of every token of this point, so tokens of other points or runs (replayed by
    /// an external server's ring) are never matched.
    nonce: u64,
    base: Instant,
    /// Nanoseconds since `base` plus one; zero means not sent yet.
    sent: Box<[AtomicU64]>,
}

impl TokenTable {
    pub fn new(nonce: u32, capacity: usize, base: Instant) -> Self {
        TokenTable {
            nonce: u64::from(nonce) << 32,
            base,
            sent: (0..capacity).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub fn token(&self, index: usize) -> u64 {
        self.nonce | index as u64
    }

    pub fn mark_sent(&self, token: u64, at: Instant) {
        if let Some(slot) = self.slot(token) {
            let ns = u64::try_from(at.duration_since(self.base).as_nanos()).unwrap_or(u64::MAX - 1);
            slot.store(ns + 1, Ordering::Relaxed);
        }
    }

    /// When the POST carrying `token` was sent, if it is one of this point's and was sent.
    pub fn sent_at(&self, token: u64) -> Option<Instant> {
        let ns = self.slot(token)?.load(Ordering::Relaxed);
        (ns != 0).then(|| self.base + Duration::from_nanos(ns - 1))
    }

    fn slot(&self, token: u64) -> Option<&AtomicU64> {
        if token & !0xFFFF_FFFF != self.nonce {
            return None;
        }
        self.sent.get(usize::try_from(token & 0xFFFF_FFFF).ok()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_match_only_their_point() {
        let base = Instant::now();
        let t = TokenTable::new(7, 4, base);
        let tok = t.token(2);
        assert_eq!(t.sent_at(tok), None);
        t.mark_sent(tok, base + Duration::from_millis(5));
        assert_eq!(t.sent_at(tok), Some(base + Duration::from_millis(5)));
        let other = TokenTable::new(8, 4, base);
        assert_eq!(other.sent_at(tok), None);
        assert_eq!(t.sent_at(t.token(9)), None);
    }
}
