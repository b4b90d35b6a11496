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
//!   bounded by `replay_ring + subscribers * subscriber_queue` messages, and the rings together
//!   by the replay budget (`budget`).
//! - A channel disappears when it has neither subscribers nor messages, and is evicted with its
//!   ring once it has had no subscriber and no message for the channel idle timeout
//!   ([`Hub::sweep_idle`]).
//!
//! Locking: the map lock is taken before a channel's lock, never the other way round.

mod budget;
mod channel;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub(crate) use budget::Refusal;

use crate::stats::{incr, ListenerCounters};
use budget::ReplayBudget;
use channel::{Channel, Slot};
pub(crate) use channel::{Message, Replay};

/// Bounds on the time between two sweeps for idle channels.
const MIN_SWEEP_EVERY: Duration = Duration::from_millis(50);
const MAX_SWEEP_EVERY: Duration = Duration::from_secs(5);

/// A registered subscriber. Dropping it unregisters.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub(crate) queue: mpsc::Receiver<Message>,
    /// Cancelled when the queue overflowed: the stream must end.
    pub(crate) overflowed: CancellationToken,
    _registration: Registration,
}

/// The hub's limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HubLimits {
    /// Messages per ring.
    pub(crate) ring_capacity: usize,
    /// Messages per subscriber queue.
    pub(crate) queue_capacity: usize,
    pub(crate) max_channels: usize,
    /// Bytes of all rings together.
    pub(crate) replay_budget: usize,
}

#[derive(Debug)]
pub(crate) struct Hub {
    channels: Mutex<HashMap<String, Arc<Mutex<Channel>>>>,
    limits: HubLimits,
    budget: ReplayBudget,
    messages: AtomicU64,
    subscribers: AtomicU64,
    evicted: AtomicU64,
    next_key: AtomicU64,
}

/// The hub's current figures, for `/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HubCounts {
    pub(crate) channels: u64,
    pub(crate) messages: u64,
    pub(crate) subscribers: u64,
    pub(crate) channels_evicted: u64,
    pub(crate) replay_bytes: u64,
    pub(crate) replay_budget_bytes: u64,
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
    pub(crate) fn new(limits: HubLimits) -> Hub {
        Hub {
            channels: Mutex::default(),
            budget: ReplayBudget::new(limits.replay_budget),
            limits,
            messages: AtomicU64::new(0),
            subscribers: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
            next_key: AtomicU64::new(0),
        }
    }

    /// Runs `f` on the named channel, creating it if needed (unless the channel limit is
    /// reached), with the channel locked.
    fn with_channel<R>(
        &self,
        name: &str,
        f: impl FnOnce(&mut Channel) -> Result<R, Refusal>,
    ) -> Result<R, Refusal> {
        let mut map = lock(&self.channels);
        let channel = match map.get(name) {
            Some(channel) => Arc::clone(channel),
            None if map.len() >= self.limits.max_channels => {
                return Err(Refusal::ChannelLimit {
                    max: self.limits.max_channels,
                })
            }
            None => {
                let channel = Arc::new(Mutex::new(Channel::new()));
                map.insert(name.to_owned(), Arc::clone(&channel));
                channel
            }
        };
        let mut guard = lock(&channel);
        drop(map);
        let out = f(&mut guard);
        let unused = guard.ring.is_empty() && guard.subscribers.is_empty();
        drop(guard);
        if unused {
            // Created for a message that was refused: leave no empty channel behind.
            self.remove_if_unused(name);
        }
        out
    }

    /// Broadcasts `data` as the channel's next message. Returns its id and the number of
    /// subscribers it was queued for, or why it was refused (nothing is broadcast then).
    pub(crate) fn publish(&self, name: &str, data: &str) -> Result<(u64, usize), Refusal> {
        let (id, delivered) = self.with_channel(name, |ch| {
            let id = ch.last_id.checked_add(1).ok_or(Refusal::IdsExhausted)?;
            let message = Message::encode(id, data);
            self.admit(ch, message.cost)?;
            ch.last_id = id;
            ch.last_active = Instant::now();
            ch.ring_bytes += message.cost;
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
            Ok((id, delivered))
        })?;
        self.messages.fetch_add(1, Ordering::Relaxed);
        Ok((id, delivered))
    }

    /// Makes room in `ch`'s ring for a message of `cost` bytes and reserves them, or refuses
    /// without touching the ring if even the whole ring could not make room.
    fn admit(&self, ch: &mut Channel, cost: usize) -> Result<(), Refusal> {
        if !self.budget.could_fit(cost, ch.ring_bytes) {
            return Err(Refusal::ReplayBudget {
                budget: self.budget.limit(),
            });
        }
        if ch.ring.len() >= self.limits.ring_capacity {
            ch.drop_oldest(&self.budget);
        }
        while !self.budget.try_reserve(cost) {
            if !ch.drop_oldest(&self.budget) {
                // Other channels took the room meanwhile.
                return Err(Refusal::ReplayBudget {
                    budget: self.budget.limit(),
                });
            }
        }
        Ok(())
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
    ) -> Result<(Subscription, Replay), Refusal> {
        let (tx, rx) = mpsc::channel(self.limits.queue_capacity);
        let overflowed = CancellationToken::new();
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        let replay = self.with_channel(name, |ch| {
            ch.subscribers.push(Slot {
                key,
                queue: tx,
                overflowed: overflowed.clone(),
                counters,
            });
            ch.last_active = Instant::now();
            self.subscribers.fetch_add(1, Ordering::Relaxed);
            Ok(ch.replay(last_seen))
        })?;
        let subscription = Subscription {
            queue: rx,
            overflowed,
            _registration: Registration {
                hub: Arc::clone(self),
                name: name.to_owned(),
                key,
            },
        };
        Ok((subscription, replay))
    }

    /// The hub's current figures.
    pub(crate) fn counts(&self) -> HubCounts {
        let channels = lock(&self.channels).len() as u64;
        HubCounts {
            channels,
            messages: self.messages.load(Ordering::Relaxed),
            subscribers: self.subscribers.load(Ordering::Relaxed),
            channels_evicted: self.evicted.load(Ordering::Relaxed),
            replay_bytes: self.budget.used() as u64,
            replay_budget_bytes: self.budget.limit() as u64,
        }
    }

    fn unregister(&self, name: &str, key: u64) {
        let map = lock(&self.channels);
        let Some(channel) = map.get(name).cloned() else {
            return;
        };
        let mut ch = lock(&channel);
        if let Some(i) = ch.subscribers.iter().position(|s| s.key == key) {
            ch.subscribers.swap_remove(i);
            self.subscribers.fetch_sub(1, Ordering::Relaxed);
        }
        ch.last_active = Instant::now();
        let unused = ch.subscribers.is_empty() && ch.ring.is_empty();
        drop(ch);
        drop(map);
        if unused {
            self.remove_if_unused(name);
        }
    }

    /// Removes the channel if it has neither subscribers nor messages.
    fn remove_if_unused(&self, name: &str) {
        let mut map = lock(&self.channels);
        let unused = map.get(name).is_some_and(|channel| {
            let ch = lock(channel);
            ch.subscribers.is_empty() && ch.ring.is_empty()
        });
        if unused {
            map.remove(name);
        }
    }

    /// Evicts, with their rings, the channels that have had no subscriber and no message for
    /// `idle`. Returns how many.
    pub(crate) fn evict_idle(&self, idle: Duration) -> usize {
        let now = Instant::now();
        let mut map = lock(&self.channels);
        let before = map.len();
        map.retain(|_, channel| {
            // A channel locked right now is in use: not idle.
            let Ok(mut ch) = channel.try_lock() else {
                return true;
            };
            let idle = ch.subscribers.is_empty() && now.duration_since(ch.last_active) >= idle;
            if idle {
                while ch.drop_oldest(&self.budget) {}
            }
            !idle
        });
        let evicted = before - map.len();
        if map.capacity() > 4 * map.len() + 64 {
            map.shrink_to_fit();
        }
        self.evicted.fetch_add(evicted as u64, Ordering::Relaxed);
        evicted
    }
}

impl Hub {
    /// Evicts idle channels ([`Hub::evict_idle`]) a few times per `idle_timeout`, until
    /// `shutdown`.
    pub(crate) async fn sweep_idle(
        self: Arc<Self>,
        idle_timeout: Duration,
        shutdown: CancellationToken,
    ) {
        let every = (idle_timeout / 4).clamp(MIN_SWEEP_EVERY, MAX_SWEEP_EVERY);
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return,
                _ = ticks.tick() => {}
            }
            let evicted = self.evict_idle(idle_timeout);
            if evicted > 0 {
                tracing::debug!("evicted {evicted} idle channels");
            }
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.unregister(&self.name, self.key);
    }
}

#[cfg(test)]
mod tests;
