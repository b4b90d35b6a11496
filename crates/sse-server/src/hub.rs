//! The broadcast hub: named channels, each with a sequence of messages, a bounded replay ring and
//! its current subscribers.
//!
//! - A message gets the channel's next id (1, 2, ...), is encoded once into `Bytes` as a complete
//!   `message` event, stored in the ring and cloned (a reference count) into every subscriber's
//!   queue.
//! - Subscribing registers the subscriber and takes the replay snapshot from the ring under the
//!   channel's lock, so no message can fall between the replay and the live queue.
//! - Slow subscriber policy: each subscriber has a bounded queue. A message that finds it full
//!   closes that subscriber (its token is cancelled, its stream ends, `overflows` counts it). The
//!   client reconnects with `Last-Event-ID` and replays the rest from the ring. Memory stays
//!   bounded by `replay_ring + subscribers * subscriber_queue` messages.
//!
//! Locking: the map lock is taken before a channel's lock, never the other way round. A channel
//! disappears when it has neither subscribers nor messages.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio_util::sync::CancellationToken;

use crate::stats::{incr, ListenerCounters};

/// One `message` event, encoded, with its per-channel id.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub(crate) id: u64,
    pub(crate) event: Bytes,
}

/// What a new subscriber must be sent before live messages.
#[derive(Debug, Default)]
pub(crate) struct Replay {
    /// Messages the client missed that the ring no longer holds: first and last id, inclusive.
    pub(crate) gap: Option<(u64, u64)>,
    /// Missed messages still in the ring, in order.
    pub(crate) messages: Vec<Message>,
    /// The stream's position once the replay is sent: the channel's last message id.
    pub(crate) position: u64,
}

/// A registered subscriber. Dropping it unregisters.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub(crate) queue: mpsc::Receiver<Message>,
    /// Cancelled when the queue overflowed: the stream must end.
    pub(crate) overflowed: CancellationToken,
    _registration: Registration,
}

#[derive(Debug)]
pub(crate) struct Hub {
    channels: Mutex<HashMap<String, Arc<Mutex<Channel>>>>,
    ring_capacity: usize,
    queue_capacity: usize,
    messages: AtomicU64,
    subscribers: AtomicU64,
    next_key: AtomicU64,
}

#[derive(Debug, Default)]
struct Channel {
    last_id: u64,
    ring: VecDeque<Message>,
    subscribers: Vec<Slot>,
}

#[derive(Debug)]
struct Slot {
    key: u64,
    queue: mpsc::Sender<Message>,
    overflowed: CancellationToken,
    counters: Arc<ListenerCounters>,
}

/// Removes the subscriber's slot when the subscription is dropped.
#[derive(Debug)]
struct Registration {
    hub: Arc<Hub>,
    name: String,
    key: u64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Hub {
    pub(crate) fn new(ring_capacity: usize, queue_capacity: usize) -> Hub {
        Hub {
            channels: Mutex::default(),
            ring_capacity,
            queue_capacity,
            messages: AtomicU64::new(0),
            subscribers: AtomicU64::new(0),
            next_key: AtomicU64::new(0),
        }
    }

    /// Runs `f` on the named channel, creating it if needed, with the channel locked.
    fn with_channel<R>(&self, name: &str, f: impl FnOnce(&mut Channel) -> R) -> R {
        let mut map = lock(&self.channels);
        let channel = match map.get(name) {
            Some(channel) => Arc::clone(channel),
            None => Arc::clone(map.entry(name.to_owned()).or_default()),
        };
        let mut guard = lock(&channel);
        drop(map);
        f(&mut guard)
    }

    /// Broadcasts `data` as the channel's next message. Returns its id and the number of
    /// subscribers it was queued for.
    pub(crate) fn publish(&self, name: &str, data: &str) -> (u64, usize) {
        let (id, delivered) = self.with_channel(name, |ch| {
            ch.last_id += 1;
            let id = ch.last_id;
            let mut buf = Vec::with_capacity(data.len() + 48);
            let id_text = id.to_string();
            sse_wire::Event {
                id: Some(&id_text),
                event: Some("message"),
                data,
                retry: None,
            }
            .encode_into(&mut buf);
            let message = Message {
                id,
                event: Bytes::from(buf),
            };
            if ch.ring.len() == self.ring_capacity {
                ch.ring.pop_front();
            }
            ch.ring.push_back(message.clone());
            let mut delivered = 0;
            ch.subscribers
                .retain(|slot| match slot.queue.try_send(message.clone()) {
                    Ok(()) => {
                        delivered += 1;
                        true
                    }
                    Err(TrySendError::Full(_)) => {
                        slot.overflowed.cancel();
                        incr(&slot.counters.overflows);
                        self.subscribers.fetch_sub(1, Ordering::Relaxed);
                        false
                    }
                    Err(TrySendError::Closed(_)) => {
                        self.subscribers.fetch_sub(1, Ordering::Relaxed);
                        false
                    }
                });
            (id, delivered)
        });
        self.messages.fetch_add(1, Ordering::Relaxed);
        (id, delivered)
    }

    /// Registers a subscriber and returns what it must be sent first. `last_seen` is the message
    /// id from the client's `Last-Event-ID`: every later message still in the ring is replayed,
    /// and a gap is reported for the ones the ring lost. Without it the stream starts at the
    /// channel's current position.
    pub(crate) fn subscribe(
        self: &Arc<Self>,
        name: &str,
        last_seen: Option<u64>,
        counters: Arc<ListenerCounters>,
    ) -> (Subscription, Replay) {
        let (tx, rx) = mpsc::channel(self.queue_capacity);
        let overflowed = CancellationToken::new();
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        let replay = self.with_channel(name, |ch| {
            ch.subscribers.push(Slot {
                key,
                queue: tx,
                overflowed: overflowed.clone(),
                counters,
            });
            self.subscribers.fetch_add(1, Ordering::Relaxed);
            replay_from(ch, last_seen)
        });
        let subscription = Subscription {
            queue: rx,
            overflowed,
            _registration: Registration {
                hub: Arc::clone(self),
                name: name.to_owned(),
                key,
            },
        };
        (subscription, replay)
    }

    /// Channels, messages since start, current subscribers.
    pub(crate) fn counts(&self) -> (u64, u64, u64) {
        let channels = lock(&self.channels).len() as u64;
        (
            channels,
            self.messages.load(Ordering::Relaxed),
            self.subscribers.load(Ordering::Relaxed),
        )
    }

    fn unregister(&self, name: &str, key: u64) {
        let mut map = lock(&self.channels);
        let Some(channel) = map.get(name).cloned() else {
            return;
        };
        let mut ch = lock(&channel);
        if let Some(i) = ch.subscribers.iter().position(|s| s.key == key) {
            ch.subscribers.swap_remove(i);
            self.subscribers.fetch_sub(1, Ordering::Relaxed);
        }
        if ch.subscribers.is_empty() && ch.ring.is_empty() {
            drop(ch);
            map.remove(name);
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.unregister(&self.name, self.key);
    }
}

fn replay_from(ch: &Channel, last_seen: Option<u64>) -> Replay {
    let position = ch.last_id;
    let Some(last_seen) = last_seen.filter(|&l| l < position) else {
        return Replay {
            position,
            ..Replay::default()
        };
    };
    let oldest_kept = ch.ring.front().map_or(position + 1, |m| m.id);
    let gap = (oldest_kept > last_seen + 1).then_some((last_seen + 1, oldest_kept - 1));
    let messages = ch
        .ring
        .iter()
        .filter(|m| m.id > last_seen)
        .cloned()
        .collect();
    Replay {
        gap,
        messages,
        position,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Protocol;

    fn counters() -> Arc<ListenerCounters> {
        Arc::new(ListenerCounters::new(
            Protocol::H1,
            "127.0.0.1:1".parse().unwrap(),
        ))
    }

    fn ids(r: &Replay) -> Vec<u64> {
        r.messages.iter().map(|m| m.id).collect()
    }

    #[test]
    fn replay_and_gap() {
        let hub = Arc::new(Hub::new(3, 8));
        for i in 0..5 {
            hub.publish("c", &format!("m{i}"));
        }
        let (_fresh, replay) = hub.subscribe("c", None, counters());
        assert_eq!((ids(&replay), replay.position), (vec![], 5));
        let (_sub, replay) = hub.subscribe("c", Some(3), counters());
        assert_eq!((ids(&replay), replay.gap), (vec![4, 5], None));
        let (_sub, replay) = hub.subscribe("c", Some(0), counters());
        assert_eq!((ids(&replay), replay.gap), (vec![3, 4, 5], Some((1, 2))));
        let (_ahead, replay) = hub.subscribe("c", Some(99), counters());
        assert_eq!((ids(&replay), replay.position), (vec![], 5));
        assert_eq!(hub.counts(), (1, 5, 4));
    }

    #[test]
    fn full_queue_closes_the_subscriber_and_drop_unregisters() {
        let hub = Arc::new(Hub::new(8, 1));
        let c = counters();
        let (mut sub, _) = hub.subscribe("c", None, Arc::clone(&c));
        assert_eq!(hub.publish("c", "a"), (1, 1));
        assert_eq!(hub.publish("c", "b"), (2, 0));
        assert!(sub.overflowed.is_cancelled());
        assert_eq!(c.overflows.load(Ordering::Relaxed), 1);
        let first = sub.queue.try_recv().unwrap();
        assert_eq!(first.event, "id: 1\nevent: message\ndata: a\n\n");
        drop(sub);
        let (other, _) = hub.subscribe("d", None, c);
        assert_eq!(hub.counts(), (2, 2, 1));
        drop(other);
        assert_eq!(hub.counts(), (1, 2, 0));
    }
}
