//! The broadcast hub: named channels, each with a sequence of messages, a bounded replay ring and
//! its current subscribers.
//!
//! - A message gets the channel's next id (1, 2, ...), is encoded once into `Bytes` as a complete
//!   `message` event, stored in the ring and cloned (a reference count) into every subscriber's
//!   queue.
//! - Subscribing registers the subscriber and plans its replay ([`Replay`]) under the channel's
//!   lock, so no message can fall between the replay and the live queue. The replay is then read
//!   from the ring a batch at a time as the stream is written ([`Subscription::replay_batch`]),
//!   at most `max_concurrent_replays` at once (`replays`).
//! - Slow subscriber policy: each subscriber has a bounded queue, and its connection's queues
//!   together a bounded number of bytes (`held`). A message that finds either full closes that
//!   subscriber (its token is cancelled, its stream ends, `overflows` counts it). The client
//!   reconnects with `Last-Event-ID` and replays the rest from the ring. The rings together are
//!   bounded by the replay budget (`budget`).
//! - The channel table (`table`): a channel disappears when it has neither subscribers nor
//!   messages, is evicted with its ring once it has had no subscriber and no message for the
//!   channel idle timeout ([`Hub::sweep_idle`]), and gives way to a new channel or message when
//!   the table or the budget is full and it has no subscriber; one client address may create at
//!   most `max_channels_per_address`.
//!
//! Locking: the map lock is taken before a channel's lock, never the other way round.

mod budget;
mod channel;
mod held;
mod message;
mod queue;
mod replays;
mod table;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

pub(crate) use budget::Refusal;
pub(crate) use channel::{Replay, ReplayBatch};
pub(crate) use held::{Held, QueueGauge};
pub(crate) use message::Message;
pub(crate) use replays::ReplaySlots;

use crate::peer::ClientAddr;
use crate::stats::{incr, ListenerCounters};
use budget::{ReplayBudget, Reservation};
use channel::{Channel, Slot};
use queue::TrySendError;
use table::Table;

/// Bounds on the time between two sweeps for idle channels.
const MIN_SWEEP_EVERY: Duration = Duration::from_millis(50);
const MAX_SWEEP_EVERY: Duration = Duration::from_secs(5);
/// Channels one message may displace to make room in the replay budget, each time it tries.
const MAX_DISPLACED_PER_MESSAGE: usize = 64;
/// Times a message tries to make room (the first try may find its reservation too small, or its
/// channel gone).
const MAKE_ROOM_TRIES: usize = 4;

/// A registered subscriber. Dropping it unregisters.
#[derive(Debug)]
pub(crate) struct Subscription {
    pub(crate) queue: Queue,
    /// Cancelled when the queue overflowed: the stream must end.
    pub(crate) overflowed: CancellationToken,
    registration: Registration,
}

/// A subscriber's live messages, each uncounted from its connection's [`Held`] as it is taken.
#[derive(Debug)]
pub(crate) struct Queue {
    rx: queue::Receiver<Message>,
    held: Arc<Held>,
}

/// Who subscribes: the connection's counters, queued bytes and client address, and the token the
/// hub cancels when the subscriber overflows.
#[derive(Debug, Clone)]
pub(crate) struct Subscriber {
    pub(crate) counters: Arc<ListenerCounters>,
    pub(crate) held: Arc<Held>,
    pub(crate) peer: ClientAddr,
    pub(crate) overflowed: CancellationToken,
}

/// The hub's limits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HubLimits {
    /// Messages per ring.
    pub(crate) ring_capacity: usize,
    /// Messages per subscriber queue.
    pub(crate) queue_capacity: usize,
    pub(crate) max_channels: usize,
    pub(crate) max_channels_per_address: usize,
    /// Bytes of all rings together.
    pub(crate) replay_budget: usize,
    /// Bytes of one reconnect's replay.
    pub(crate) max_replay_bytes: usize,
    pub(crate) max_concurrent_replays: usize,
}

#[derive(Debug)]
pub(crate) struct Hub {
    channels: Mutex<Table>,
    limits: HubLimits,
    budget: ReplayBudget,
    messages: AtomicU64,
    subscribers: AtomicU64,
    evicted: AtomicU64,
    displaced: AtomicU64,
    next_key: AtomicU64,
    queued: QueueGauge,
    replays: Arc<ReplaySlots>,
    next_replay: AtomicU64,
}

/// The hub's current figures, for `/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct HubCounts {
    pub(crate) channels: u64,
    pub(crate) messages: u64,
    pub(crate) subscribers: u64,
    pub(crate) channels_evicted: u64,
    pub(crate) channels_displaced: u64,
    pub(crate) replay_bytes: u64,
    pub(crate) replay_budget_bytes: u64,
    pub(crate) queued_bytes: u64,
    pub(crate) replays_active: u64,
}

/// Removes the subscriber's slot when the subscription is dropped.
#[derive(Debug)]
struct Registration {
    hub: Arc<Hub>,
    name: String,
    key: u64,
    channel: Arc<Mutex<Channel>>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Hub {
    pub(crate) fn new(limits: HubLimits) -> Hub {
        Hub {
            channels: Mutex::new(Table::new()),
            budget: ReplayBudget::new(limits.replay_budget),
            limits,
            messages: AtomicU64::new(0),
            subscribers: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
            displaced: AtomicU64::new(0),
            next_key: AtomicU64::new(0),
            queued: QueueGauge::default(),
            replays: Arc::new(ReplaySlots::new(limits.max_concurrent_replays)),
            next_replay: AtomicU64::new(0),
        }
    }

    /// The gauge each connection's [`Held`] adds to.
    pub(crate) fn queue_gauge(&self) -> QueueGauge {
        Arc::clone(&self.queued)
    }

    /// The slots replays take (`max_concurrent_replays`), and an id for a new replay.
    pub(crate) fn replay_slots(&self) -> (Arc<ReplaySlots>, u64) {
        let id = self.next_replay.fetch_add(1, Ordering::Relaxed);
        (Arc::clone(&self.replays), id)
    }

    /// Runs `f` on the named channel, creating it for `creator` if needed (unless the shares or
    /// the channel limit refuse), with the channel locked. Returns the channel too.
    fn with_channel<R>(
        &self,
        name: &str,
        creator: ClientAddr,
        f: impl FnOnce(&mut Channel) -> Result<R, Refusal>,
    ) -> Result<(R, Arc<Mutex<Channel>>), Refusal> {
        let mut table = lock(&self.channels);
        let channel = match table.map.get(name) {
            Some(channel) => Arc::clone(channel),
            None => {
                let max = self.limits.max_channels_per_address;
                if table.created_by(creator) >= max {
                    return Err(Refusal::ChannelShare { max });
                }
                if table.map.len() >= self.limits.max_channels {
                    if !table.displace_one(None, &self.budget) {
                        return Err(Refusal::ChannelLimit {
                            max: self.limits.max_channels,
                        });
                    }
                    self.displaced.fetch_add(1, Ordering::Relaxed);
                }
                table.insert(name, creator)
            }
        };
        let mut guard = lock(&channel);
        drop(table);
        let out = f(&mut guard);
        let unused = guard.ring.is_empty() && guard.subscribers.is_empty();
        drop(guard);
        if unused {
            // Created for a message that was refused: leave no empty channel behind.
            lock(&self.channels).remove_if_unused(name, &self.budget);
        }
        out.map(|r| (r, channel))
    }

    /// Broadcasts `data` as the channel's next message (creating the channel for `creator` if
    /// needed). Returns its id and the number of subscribers it was queued for, or why it was
    /// refused (nothing is broadcast then).
    pub(crate) fn publish(
        &self,
        name: &str,
        data: &str,
        creator: ClientAddr,
    ) -> Result<(u64, usize), Refusal> {
        let mut published = self.publish_once(name, data, creator, None);
        for _ in 0..MAKE_ROOM_TRIES {
            if !matches!(published, Err(Refusal::ReplayBudget { .. })) {
                break;
            }
            let Some(room) = self.make_room(name, data) else {
                break;
            };
            published = self.publish_once(name, data, creator, Some(room));
        }
        let published = published?;
        self.messages.fetch_add(1, Ordering::Relaxed);
        Ok(published)
    }

    /// One try at publishing, into `room` made for it if any.
    fn publish_once(
        &self,
        name: &str,
        data: &str,
        creator: ClientAddr,
        room: Option<Reservation<'_>>,
    ) -> Result<(u64, usize), Refusal> {
        let (published, _) = self.with_channel(name, creator, |ch| {
            let id = ch.last_id.checked_add(1).ok_or(Refusal::IdsExhausted)?;
            let message = Message::encode(id, data);
            self.admit(ch, message.cost, room)?;
            ch.last_id = id;
            ch.last_active = Instant::now();
            ch.ring_bytes += message.cost;
            ch.ring.push_back(message.clone());
            let mut delivered = 0;
            ch.subscribers.retain(|slot| {
                let overflow = |by_bytes| {
                    slot.overflowed.cancel();
                    slot.queue.cut();
                    incr(&slot.counters.overflows);
                    if by_bytes {
                        incr(&slot.counters.connection_queue_overflows);
                    }
                    self.subscribers.fetch_sub(1, Ordering::Relaxed);
                    false
                };
                if !slot.held.add(&message) {
                    return overflow(true);
                }
                match slot.queue.try_send(message.clone()) {
                    Ok(()) => {
                        delivered += 1;
                        true
                    }
                    Err(TrySendError::Full(m)) => {
                        slot.held.remove(&m);
                        overflow(false)
                    }
                    Err(TrySendError::Closed(m)) => {
                        slot.held.remove(&m);
                        self.subscribers.fetch_sub(1, Ordering::Relaxed);
                        false
                    }
                }
            });
            Ok((id, delivered))
        })?;
        Ok(published)
    }

    /// Makes room in the budget for a message of `data` to `name` by displacing channels that have
    /// no subscriber, the least recently active first, and reserves it, so that others publishing
    /// at once cannot take it first.
    fn make_room(&self, name: &str, data: &str) -> Option<Reservation<'_>> {
        // What the message will cost at most: encoded with the longest id.
        let needed = Message::encode(u64::MAX, data).cost;
        let mut table = lock(&self.channels);
        let mut displaced = 0;
        let room = loop {
            if let Some(room) = self.budget.reservation(needed) {
                break Some(room);
            }
            if displaced >= MAX_DISPLACED_PER_MESSAGE
                || !table.displace_one(Some(name), &self.budget)
            {
                break None;
            }
            displaced += 1;
        };
        self.displaced
            .fetch_add(displaced as u64, Ordering::Relaxed);
        room
    }

    /// Makes room in `ch`'s ring for a message of `cost` bytes and reserves them, or refuses
    /// without touching the ring if even the whole ring could not make room.
    fn admit(
        &self,
        ch: &mut Channel,
        cost: usize,
        room: Option<Reservation<'_>>,
    ) -> Result<(), Refusal> {
        if room.is_some_and(|room| room.take(cost)) {
            if ch.ring.len() >= self.limits.ring_capacity {
                ch.drop_oldest(&self.budget);
            }
            return Ok(());
        }
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

    /// Registers a subscriber and plans what it must be sent first. `last_seen` is the message id
    /// from the client's `Last-Event-ID`: the later messages still in the ring are replayed (the
    /// newest of them within `max_replay_bytes`), and a gap is reported for the others. Without
    /// it the stream starts at the channel's current position.
    pub(crate) fn subscribe(
        self: &Arc<Self>,
        name: &str,
        last_seen: Option<u64>,
        who: Subscriber,
    ) -> Result<(Subscription, Replay), Refusal> {
        let (tx, rx) = queue::channel(self.limits.queue_capacity);
        let key = self.next_key.fetch_add(1, Ordering::Relaxed);
        let Subscriber {
            counters,
            held,
            peer,
            overflowed,
        } = who;
        let slot = Slot {
            key,
            queue: tx,
            overflowed: overflowed.clone(),
            counters,
            held: Arc::clone(&held),
        };
        let (replay, channel) = self.with_channel(name, peer, |ch| {
            ch.subscribers.push(slot);
            ch.last_active = Instant::now();
            self.subscribers.fetch_add(1, Ordering::Relaxed);
            Ok(ch.replay(last_seen, self.limits.max_replay_bytes))
        })?;
        let subscription = Subscription {
            queue: Queue { rx, held },
            overflowed,
            registration: Registration {
                hub: Arc::clone(self),
                name: name.to_owned(),
                key,
                channel,
            },
        };
        Ok((subscription, replay))
    }

    /// The hub's current figures.
    pub(crate) fn counts(&self) -> HubCounts {
        let channels = lock(&self.channels).map.len() as u64;
        HubCounts {
            channels,
            messages: self.messages.load(Ordering::Relaxed),
            subscribers: self.subscribers.load(Ordering::Relaxed),
            channels_evicted: self.evicted.load(Ordering::Relaxed),
            channels_displaced: self.displaced.load(Ordering::Relaxed),
            replay_bytes: self.budget.used() as u64,
            replay_budget_bytes: self.budget.limit() as u64,
            queued_bytes: self.queued.load(Ordering::Relaxed) as u64,
            replays_active: self.replays.active() as u64,
        }
    }

    fn unregister(&self, name: &str, key: u64, channel: &Mutex<Channel>) {
        let mut table = lock(&self.channels);
        let mut ch = lock(channel);
        if let Some(i) = ch.subscribers.iter().position(|s| s.key == key) {
            ch.subscribers.swap_remove(i);
            self.subscribers.fetch_sub(1, Ordering::Relaxed);
        }
        ch.last_active = Instant::now();
        let unused = ch.subscribers.is_empty() && ch.ring.is_empty();
        drop(ch);
        if unused {
            table.remove_if_unused(name, &self.budget);
        }
    }

    /// Evicts, with their rings, the channels that have had no subscriber and no message for
    /// `idle`. Returns how many.
    pub(crate) fn evict_idle(&self, idle: Duration) -> usize {
        let Some(cutoff) = Instant::now().checked_sub(idle) else {
            return 0;
        };
        let evicted = lock(&self.channels).evict_inactive_since(cutoff, &self.budget);
        self.evicted.fetch_add(evicted as u64, Ordering::Relaxed);
        evicted
    }

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

impl Queue {
    /// The next live message (cancel-safe).
    pub(crate) async fn recv(&mut self) -> Option<Message> {
        let message = self.rx.recv().await?;
        self.held.remove(&message);
        Some(message)
    }

    /// Whether no live message is waiting.
    pub(crate) fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }

    /// The next live message if one is waiting.
    #[cfg(test)]
    pub(crate) fn try_recv(&mut self) -> Option<Message> {
        let message = self.rx.try_recv()?;
        self.held.remove(&message);
        Some(message)
    }
}

impl Subscription {
    /// The next batch of `replay` (about `max_bytes`), read from the channel's ring now.
    pub(crate) fn replay_batch(&self, replay: &mut Replay, max_bytes: usize) -> ReplayBatch {
        lock(&self.registration.channel).replay_batch(replay, max_bytes)
    }
}

impl Drop for Queue {
    fn drop(&mut self) {
        for message in self.rx.close() {
            self.held.remove(&message);
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.hub.unregister(&self.name, self.key, &self.channel);
    }
}

#[cfg(test)]
mod tests;
