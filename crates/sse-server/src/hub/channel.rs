//! One channel: its messages, each encoded once, its replay ring and its subscribers' queues;
//! and what a reconnect is replayed from the ring ([`Replay`]), read a batch at a time as its
//! stream is written ([`Channel::replay_batch`]), never copied out in advance.

use std::collections::VecDeque;
use std::sync::Arc;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::budget::ReplayBudget;
use super::held::Held;
use super::message::Message;
use crate::peer::ClientAddr;
use crate::stats::ListenerCounters;

/// What a new subscriber must be sent before live messages: the ids `next..=end`, read from the
/// ring as the stream is written ([`Channel::replay_batch`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Replay {
    /// Messages the client missed that will not be replayed (the ring lost them, or they were
    /// older than `max_replay_bytes` allows): first and last id, inclusive.
    pub(crate) gap: Option<(u64, u64)>,
    /// The first message to replay.
    pub(crate) next: u64,
    /// The stream's position once the replay is sent: the channel's last message id when the
    /// subscriber registered (later ones reach it through its queue).
    pub(crate) end: u64,
    /// Whether messages still in the ring were left to the gap because of `max_replay_bytes`.
    pub(crate) truncated: bool,
    /// Set once a batch found nothing more to send.
    done: bool,
}

impl Replay {
    /// Whether messages remain to be replayed.
    pub(crate) fn is_pending(&self) -> bool {
        !self.done && self.next <= self.end
    }
}

/// A batch of a replay.
#[derive(Debug, Default)]
pub(crate) struct ReplayBatch {
    /// Messages the ring lost since the replay was planned: first and last id, inclusive.
    pub(crate) gap: Option<(u64, u64)>,
    /// The next messages, in order.
    pub(crate) messages: Vec<Message>,
}

#[derive(Debug)]
pub(super) struct Channel {
    /// The client address that created it (for `max_channels_per_address`).
    pub(super) creator: ClientAddr,
    pub(super) last_id: u64,
    pub(super) ring: VecDeque<Message>,
    /// The bytes `ring` counts against the budget.
    pub(super) ring_bytes: usize,
    pub(super) subscribers: Vec<Slot>,
    /// The last message, subscription or unsubscription.
    pub(super) last_active: Instant,
}

impl Channel {
    pub(super) fn new(creator: ClientAddr) -> Channel {
        Channel {
            creator,
            last_id: 0,
            ring: VecDeque::new(),
            ring_bytes: 0,
            subscribers: Vec::new(),
            last_active: Instant::now(),
        }
    }

    /// Drops the oldest message of the ring, giving its bytes back to the budget.
    pub(super) fn drop_oldest(&mut self, budget: &ReplayBudget) -> bool {
        let Some(oldest) = self.ring.pop_front() else {
            return false;
        };
        self.ring_bytes -= oldest.cost;
        budget.release(oldest.cost);
        true
    }

    /// What a subscriber whose last message was `last_seen` must be sent before live messages:
    /// the later messages still in the ring, the newest of them that fit in `max_bytes`, and the
    /// gap of the others. Without `last_seen`, or when it is not behind, nothing: the stream
    /// starts at the current position.
    pub(super) fn replay(&self, last_seen: Option<u64>, max_bytes: usize) -> Replay {
        let end = self.last_id;
        let Some(last_seen) = last_seen.filter(|&l| l < end) else {
            return Replay {
                gap: None,
                next: end.saturating_add(1),
                end,
                truncated: false,
                done: true,
            };
        };
        let mut next = end.saturating_add(1);
        let mut bytes = 0usize;
        let mut truncated = false;
        for m in self.ring.iter().rev().take_while(|m| m.id > last_seen) {
            bytes = bytes.saturating_add(m.event.len());
            if bytes > max_bytes {
                truncated = true;
                break;
            }
            next = m.id;
        }
        let gap = (next > last_seen + 1).then_some((last_seen + 1, next - 1));
        Replay {
            gap,
            next,
            end,
            truncated,
            done: false,
        }
    }

    /// The messages of `replay` from its `next` on, up to about `max_bytes` (at least one), and
    /// the gap of those the ring has lost since; advances `replay.next`.
    pub(super) fn replay_batch(&self, replay: &mut Replay, max_bytes: usize) -> ReplayBatch {
        let mut batch = ReplayBatch::default();
        let oldest = self
            .ring
            .front()
            .map_or(self.last_id.saturating_add(1), |m| m.id);
        if oldest > replay.next {
            let to = (oldest - 1).min(replay.end);
            batch.gap = Some((replay.next, to));
            replay.next = to.saturating_add(1);
        }
        let skip = usize::try_from(replay.next.saturating_sub(oldest)).unwrap_or(usize::MAX);
        let mut bytes = 0;
        for m in self.ring.iter().skip(skip) {
            if m.id > replay.end || (bytes > 0 && bytes + m.event.len() > max_bytes) {
                break;
            }
            bytes += m.event.len();
            replay.next = m.id.saturating_add(1);
            batch.messages.push(m.clone());
        }
        if batch.gap.is_none() && batch.messages.is_empty() {
            replay.done = true;
        }
        batch
    }
}

/// One subscriber of a channel: its bounded queue, and the token that ends its stream when the
/// queue overflows.
#[derive(Debug)]
pub(super) struct Slot {
    pub(super) key: u64,
    pub(super) queue: super::queue::Sender<Message>,
    pub(super) overflowed: CancellationToken,
    pub(super) counters: Arc<ListenerCounters>,
    /// The subscriber's connection's queued bytes.
    pub(super) held: Arc<Held>,
}
