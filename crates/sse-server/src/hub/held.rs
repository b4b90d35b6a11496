//! What one connection's subscribers hold in their queues, in bytes: each message once however
//! many of the connection's streams wait for it, and each place in a queue ([`ENTRY_COST`]).
//! Bounded by `connection_queue_bytes`, so that a connection of many stalled streams cannot hold
//! more, whatever each stream may (crates/sse-server/FINDINGS.md, "Stalled HTTP/2 streams").
//!
//! A message is counted when the hub queues it for a subscriber of the connection and uncounted
//! when the last of those takes it off its queue (or drops it). The hub's gauge
//! ([`QueueGauge`]) sums every connection's count for `/stats` (`queued_bytes`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rustc_hash::FxHashMap;

use super::message::Message;

/// What one place in a subscriber's queue counts beyond the message. 96 bytes: the size of a
/// place when it held the message's fields (80) and the block's share of bookkeeping (16). A place
/// now holds a handle ([`Message`], 8 bytes), but the count stays what it was, so that the bound
/// admits exactly what it did (issue 27: the server's bounds stay as they are).
pub(crate) const ENTRY_COST: usize = 96;

/// The bytes queued for every connection together.
pub(crate) type QueueGauge = Arc<AtomicUsize>;

/// One connection's queued messages.
#[derive(Debug)]
pub(crate) struct Held {
    limit: usize,
    inner: Mutex<Counted>,
    gauge: QueueGauge,
}

#[derive(Debug, Default)]
struct Counted {
    /// Each queued message (by the address of its encoded bytes): its length and how many of the
    /// connection's queues hold it. Hashed with FxHash, not SipHash: the keys are addresses the
    /// server's allocator chose, which no client can aim at one bucket, and SipHash was about 430
    /// instructions of every delivered event (`scripts/profile-fanout.sh callgrind h1`).
    messages: FxHashMap<usize, (usize, u32)>,
    bytes: usize,
}

fn key(m: &Message) -> usize {
    m.event.as_ptr() as usize
}

impl Held {
    pub(crate) fn new(limit: usize, gauge: QueueGauge) -> Held {
        Held {
            limit,
            inner: Mutex::default(),
            gauge,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counted> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Counts `m` as queued once more. `false`, counting nothing, if that would take the
    /// connection over its limit.
    pub(crate) fn add(&self, m: &Message) -> bool {
        let mut counted = self.lock();
        let known = counted.messages.contains_key(&key(m));
        let cost = ENTRY_COST + if known { 0 } else { m.event.len() };
        if counted.bytes.saturating_add(cost) > self.limit {
            return false;
        }
        counted
            .messages
            .entry(key(m))
            .or_insert((m.event.len(), 0))
            .1 += 1;
        counted.bytes += cost;
        self.gauge.fetch_add(cost, Ordering::Relaxed);
        true
    }

    /// `m` left one of the connection's queues.
    pub(crate) fn remove(&self, m: &Message) {
        let mut counted = self.lock();
        let Some((len, queues)) = counted.messages.get_mut(&key(m)) else {
            return;
        };
        *queues -= 1;
        let mut cost = ENTRY_COST;
        if *queues == 0 {
            cost += *len;
            counted.messages.remove(&key(m));
        }
        counted.bytes -= cost;
        self.gauge.fetch_sub(cost, Ordering::Relaxed);
    }

    /// Bytes counted now.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.lock().bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_counts_once_its_places_each_and_the_limit_refuses_more() {
        let gauge = QueueGauge::default();
        let a = Message::encode(1, &"a".repeat(40));
        let b = Message::encode(2, &"b".repeat(40));
        let len = a.event.len();
        let held = Held::new(len + 2 * ENTRY_COST, Arc::clone(&gauge));
        assert!(held.add(&a) && held.add(&a.clone()), "shared by two queues");
        let both = len + 2 * ENTRY_COST;
        assert_eq!((held.bytes(), gauge.load(Ordering::Relaxed)), (both, both));
        assert!(!held.add(&a) && !held.add(&b), "over the limit");
        held.remove(&a);
        assert_eq!(held.bytes(), len + ENTRY_COST, "still in the other queue");
        held.remove(&a);
        assert_eq!((held.bytes(), gauge.load(Ordering::Relaxed)), (0, 0));
        assert!(held.add(&b));
    }
}
